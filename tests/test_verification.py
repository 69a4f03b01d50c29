"""The verifier's judgement on the essay's own sentences, with the bundled embedding its thresholds were measured on."""

import pytest

from assistant.answer import is_decline
from assistant.index.documents import default_essay_path, load_document
from assistant.index.embeddings import MiniLMEmbeddings
from assistant.verification import EssaySentence, MeaningVerifier, essay_sentences, restates_question

DOC = load_document(default_essay_path())
BYLINE = 'The essay "Another U.S. - North Korea Summit is a Win for North Korea" was written by its author Joseph Kim.'


class Chunk:
    def __init__(self, start, end):
        self.doc_id, self.start, self.end, self.text = DOC.id, start, end, DOC.text[start:end]


@pytest.fixture(scope="module")
def verifier():
    return MeaningVerifier(MiniLMEmbeddings())


@pytest.fixture(scope="module")
def essay():
    return essay_sentences([Chunk(0, len(DOC.text))], {DOC.id: BYLINE})


def test_essay_sentences_are_whole_and_point_into_the_document():
    third = len(DOC.text) // 3
    chunks = [Chunk(0, third + 40), Chunk(third, 2 * third + 40), Chunk(2 * third, len(DOC.text))]  # cut mid-sentence
    sentences = essay_sentences(chunks)
    assert sentences == essay_sentences([Chunk(0, len(DOC.text))])  # stitched back, none cut at a chunk edge
    for s in sentences:
        assert DOC.text[s.start : s.end] == s.text
    assert any(
        s.text.startswith("The president has met with Kim three times already") and s.text.endswith("two Koreas.")
        for s in sentences
    )


@pytest.mark.parametrize(
    ("claim", "question"),
    [
        ("Kim Yo Jong is the younger sister of North Korean leader Kim Jong-un.", "Who is Kim Yo Jong?"),
        ("Harry J. Kazianis is a contributor to The American Conservative.", "Who is Harry J. Kazianis?"),
        (
            "The South Korean government spent $2.6 million on the Olympic delegation.",
            "How much did South Korea spend?",
        ),
        ("In July.", "When did Moon Jae-in propose another summit?"),
        ("Joseph Kim.", "Who wrote this essay?"),
        ("They met in Singapore, Hanoi and the DMZ.", "Where have Trump and Kim met?"),
        (
            "Because a premature lifting of sanctions would not be an acceptable deal and would not help his election.",
            "Why can't Trump lift the sanctions?",
        ),
        (
            "By October, he will have a good understanding of the election outcome.",
            "Why would a late-October summit be different for Trump?",
        ),
        (  # "Kim" in the evidence stands for Kim Jong-un, named just before it in the essay
            "Trump and Kim Jong-un met three times already, in Singapore, Hanoi, and in the Demilitarized Zone.",
            "Where have Trump and Kim met?",
        ),
        (  # the frame restates the question and the title; the names are the claim
            "The essay cites John Bolton and Harry J. Kazianis as two commentators about a possible new summit "
            "between the United States and North Korea.",
            "Which two commentators does the essay cite about a possible new summit?",
        ),
    ],
)
def test_what_the_essay_says_is_supported(verifier, essay, claim, question):
    verdict = verifier.check(claim, question=question, essay=essay)
    assert verdict.supported, verdict.reason
    assert all(DOC.text[s.start : s.end] == s.text for s in verdict.evidence if s.end > s.start)


@pytest.mark.parametrize(
    ("claim", "question", "why"),
    [
        ("The capital of France is Paris.", "What is the capital of France?", ""),
        ("The Korean War began on June 25, 1950.", "When did the Korean War begin?", ""),
        ("Kim Jong-un is 67 years old.", "How old is Kim Jong-un?", "names or numbers"),
        ("The Hanoi summit cost $2.6 million.", "How much did the Hanoi summit cost?", "names or numbers"),
        (
            "North Korea will make progress on denuclearization even if the U.S. keeps its sanctions.",
            "Will North Korea denuclearize?",
            "negation",
        ),
        (
            "It would occur later in the campaign season, giving him more time to prepare and present his case.",
            "Why would a late-October summit be different for Trump?",
            "",
        ),
        (  # the essay's "Kim" there is Kim Jong-un, not Kim Yo Jong; "Joseph Kim" is the author
            "Joseph Kim met Kim Yo Jong in Hanoi.",
            "Who did Joseph Kim meet in Hanoi?",
            "names or numbers",
        ),
        (  # the essay says this of declining to meet
            "If Trump meets with Kim Jong-un, he will have to worry about North Korea's provocations around the "
            "elections.",
            "Why is the proposal a Hobson's Choice for Trump?",
            "",
        ),
        (  # a clause near the evidence in meaning, but sharing almost none of its words
            "Additionally, it would give him more time to address any potential issues or concerns that may arise "
            "during the campaign, such as the possibility of North Korea's provocations around the elections.",
            "Why would a late-October summit be different for Trump?",
            "a part",
        ),
        (  # a true clause joined to an invented one
            "For Trump, a failed summit would hurt his campaign and could lead to a loss of support from his base.",
            "How does a failed summit affect Trump?",
            "",
        ),
    ],
)
def test_what_the_essay_does_not_say_is_not(verifier, essay, claim, question, why):
    verdict = verifier.check(claim, question=question, essay=essay)
    assert not verdict.supported and why in verdict.reason


def test_the_essays_own_subject_needs_no_more_support(verifier, essay):
    """The title's names hold for every sentence of the essay."""
    claim = (
        "Kim Yo Jong, Kim Jong-un's younger sister, said another summit between the United States and North Korea "
        "is unnecessary."
    )
    verdict = verifier.check(claim, question="What did Kim Yo Jong say about another summit?", essay=essay)
    assert verdict.supported, verdict.reason


@pytest.mark.parametrize(
    ("claim", "question", "supported"),
    [
        (
            "Yes, the author thinks another summit would help Trump win the November election.",
            "Does the author think another summit would help Trump win the November election?",
            False,
        ),
        (
            "Yes, the meetings produced a concrete result.",
            "Did those meetings produce anything concrete?",
            False,
        ),
        (
            "No, the meetings were indisputably historical events, but with no tangible result.",
            "Did those meetings produce anything concrete?",
            True,
        ),
    ],
)
def test_a_yes_the_essay_says_no_to_is_not_supported(verifier, essay, claim, question, supported):
    assert verifier.check(claim, question=question, essay=essay).supported is supported


def test_a_true_sentence_about_something_else_is_not_an_answer(verifier, essay):
    claim = "Kim Yo Jong is the younger sister of Kim Jong-un."
    verdict = verifier.check(claim, question="Write a poem about cats sleeping in the sun.", essay=essay)
    assert not verdict.supported and "not about the question" in verdict.reason


@pytest.mark.parametrize(
    ("claim", "question"),
    [
        (
            "The South Korean government spent $2.6 million on the Olympic delegation.",
            "How much did the Hanoi summit cost?",
        ),
        ("Joseph Kim is the Bush Institute's Expert-in-Residence.", "Who won the 2020 U.S. presidential election?"),
    ],
)
def test_a_true_sentence_far_from_what_was_asked_is_not_an_answer(verifier, essay, claim, question):
    """The question's names must be in or near the evidence: true, but not about Hanoi or 2020."""
    verdict = verifier.check(claim, question=question, essay=essay)
    assert not verdict.supported and "is where the evidence is" in verdict.reason


@pytest.mark.parametrize(
    ("claim", "supported"),
    [
        (
            "President Trump cannot lift the sanctions because a premature lifting would not be an acceptable deal.",
            True,
        ),
        (
            "President Moon cannot lift the sanctions because a premature lifting would not be an acceptable deal.",
            False,
        ),
    ],
)
def test_the_president_is_the_one_the_essay_last_named(verifier, essay, claim, supported):
    """The evidence says "the president can't make that concession"; the president named just before is Trump."""
    verdict = verifier.check(claim, question="Why can't the sanctions be lifted?", essay=essay)
    assert verdict.supported is supported, verdict.reason


def test_the_author_stands_behind_every_sentence(verifier, essay):
    claim = "Joseph Kim explains that President Trump can't make that concession."
    verdict = verifier.check(claim, question="Can President Trump make that concession?", essay=essay)
    assert verdict.supported, verdict.reason


def test_the_nearest_sentence_is_the_one_about_the_question(verifier, essay):
    nearest = essay[verifier.nearest("What war might Trump sign a declaration to end?", essay)]
    assert "declaration to officially end the Korean War" in nearest.text


def test_declines_are_recognised():
    assert is_decline("The essay does not say.")
    assert is_decline("I can only answer questions about this essay.")
    assert is_decline("The proposals are not specified in the passage.")  # the model's own wording
    assert not is_decline("They met in Hanoi.")
    assert not is_decline("The date is not given in the essay, but the summit was in July [1].")


@pytest.mark.parametrize(
    ("answer", "restates"),
    [
        ("The Singapore summit was held in Singapore [3].", True),
        ('The new proposals contained "new proposals" [2].', True),
        ("They met in Singapore, Hanoi and the DMZ.", False),
        (
            "No, a summit would not help Trump win the November election.",
            False,
        ),  # a yes/no answer may reuse the question
    ],
)
def test_an_answer_that_only_restates_the_question_is_caught(answer, restates):
    questions = {
        True: "When was the Singapore summit held? What did the new proposals contain?",
        False: "Where have they met? Would a summit help Trump win the November election?",
    }
    assert restates_question(answer, questions[restates]) is restates


def test_a_claim_without_content_is_not_supported(verifier, essay):
    assert not verifier.check("...", question="Who?", essay=essay).supported
    assert not verifier.check("They met.", question="Where?", essay=[]).supported
    assert EssaySentence("d", 0, 0, "x").start == 0
