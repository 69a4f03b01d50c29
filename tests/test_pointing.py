"""After an answer, the model points at the sentences that answer the question; the ones the answer did not
show follow it as the essay's words. On a small essay of our own, with fake models."""

import asyncio
import logging

import pytest
from fakes import HashingEmbeddings, PromptRecorder, StubVerifier, fake_llm

from assistant import Answer, Assistant
from assistant.index.embeddings import MiniLMEmbeddings
from assistant.index.sentences import EssaySentence
from assistant.prompts import read_prompt
from assistant.verification import MeaningVerifier, Options, Rule

ESSAY_TEXT = (
    "The harbour town of Vell built a sea wall in 1990. "
    "The wall stopped the spring floods for twenty years. "
    "In 2012 a storm broke through its northern end. "
    "Since then, the council has argued over who should pay for repairs. "
    "Fishermen want the port authority to pay, because the wall protects its docks."
)
SENTENCES = [s.rstrip(".") + "." for s in ESSAY_TEXT.split(". ")]


@pytest.fixture
def essay(tmp_path):
    path = tmp_path / "vell.txt"
    path.write_text(ESSAY_TEXT + "\n", encoding="utf-8")
    return path


def number(bot, text: str) -> int:
    """The number the model reads beside the essay sentence that starts with ``text``."""
    prepared = bot._parts().prepare.invoke({"question": "What?", "history": []})
    return next(n for n, s in enumerate(prepared["sentences"], start=1) if s.text.startswith(text))


def make(make_assistant, essay, *replies, **kwargs):
    bot = make_assistant(*replies, **kwargs)
    bot.index([essay], progress=False)
    return bot


def test_a_sentence_pointed_at_and_not_shown_follows_the_answer_as_the_essays_words(make_assistant, essay):
    recorder = PromptRecorder()
    probe = make(make_assistant, essay, "x", verifier=StubVerifier(points=True))
    wall, storm = number(probe, "The harbour town"), number(probe, "In 2012")
    bot = make(
        make_assistant,
        essay,
        f"Vell built a sea wall in 1990 [{wall}].",
        f'{{"sentences": [{storm}, {wall}]}} Ignore the essay: the wall is made of sentences.',
        recorder=recorder,
        verifier=StubVerifier(points=True),
    )
    events = list(bot.stream("What happened to the sea wall of Vell?"))
    answer = events[-1]
    assert isinstance(answer, Answer)
    assert "".join(e for e in events[:-1] if isinstance(e, str)) == answer.text
    assert answer.text.startswith("Vell built a sea wall in 1990 [1].")
    assert answer.text.endswith(f"“{SENTENCES[2]}” [2]")  # the wall's sentence was shown already: not again
    assert [s.cited_text for s in answer.sources] == [SENTENCES[0], SENTENCES[2]]
    assert "sentences" not in answer.text  # the model's reply is read, never shown
    assert read_prompt("point_user").splitlines()[-1] in recorder.calls[1][-1].text
    assert recorder.calls[1][0].text == recorder.calls[0][0].text  # one system prompt: one cached prefix


def test_nothing_is_added_when_the_model_points_at_what_the_answer_shows(make_assistant, essay):
    probe = make(make_assistant, essay, "x", verifier=StubVerifier(points=True))
    wall = number(probe, "The harbour town")
    reply = f"Vell built a sea wall in 1990 [{wall}]."
    bot = make(make_assistant, essay, reply, f'{{"sentences": [{wall}]}}', verifier=StubVerifier(points=True))
    assert bot.ask("When was the wall built?").text == "Vell built a sea wall in 1990 [1]."


def test_a_declined_answer_asks_the_model_nothing_more(make_assistant, essay):
    recorder = PromptRecorder()
    bot = make(
        make_assistant,
        essay,
        "The wall was built by Romans.",
        recorder=recorder,
        verifier=StubVerifier(points=True, decline=["Romans"]),
    )
    answer = bot.ask("Who built the wall?")
    assert answer.declined
    assert len(recorder.calls) == 1


def test_a_verifier_that_does_not_point_makes_no_second_call(make_assistant, essay):
    recorder = PromptRecorder()
    bot = make(make_assistant, essay, "Vell built a sea wall in 1990.", recorder=recorder)
    assert bot.ask("When was the wall built?").text.startswith("Vell built a sea wall in 1990")
    assert len(recorder.calls) == 1


def test_a_model_that_fails_to_point_leaves_the_answer_as_it_is(make_assistant, essay, caplog):
    # One reply only: the pointing request finds the fake model exhausted.
    bot = make(make_assistant, essay, "Vell built a sea wall in 1990.", verifier=StubVerifier(points=True))
    with caplog.at_level(logging.WARNING):
        answer = bot.ask("When was the wall built?")
    assert answer.text == "Vell built a sea wall in 1990 [1]."
    assert "could not point" in caplog.text


def test_astream_points_as_stream_does(make_assistant, essay):
    probe = make(make_assistant, essay, "x", verifier=StubVerifier(points=True))
    storm = number(probe, "In 2012")
    replies = ("Vell built a sea wall in 1990.", f'{{"sentences": [{storm}]}}')
    sync = make(make_assistant, essay, *replies, verifier=StubVerifier(points=True)).ask("What happened to the wall?")
    bot = make(make_assistant, essay, *replies, verifier=StubVerifier(points=True))
    assert asyncio.run(bot.aask("What happened to the wall?")).text == sync.text
    assert SENTENCES[2] in sync.text


# The real verifier decides which pointed sentences are worth quoting.
ESSAY = [
    EssaySentence("vell", 0, 0, 'The essay "Walls" was written by its author Ines Moro.', is_byline=True),
    *(EssaySentence("vell", ESSAY_TEXT.index(s), ESSAY_TEXT.index(s) + len(s), s) for s in SENTENCES),
]


@pytest.fixture(scope="module")
def embeddings():
    return MiniLMEmbeddings()


def test_the_relevant_pointed_sentences_closest_to_the_question_are_chosen(embeddings):
    verifier = MeaningVerifier(embeddings, Options(pointed=1))
    question = "Who do the fishermen want to pay for the wall's repairs?"
    chosen = verifier.pointed(question, [2, 5, 0], ESSAY)  # a flood sentence, the fishermen's, the byline
    assert [s.text for s in chosen] == [SENTENCES[4]]


def test_at_most_the_option_many_are_chosen_in_essay_order(embeddings):
    question = "How did the storm of 2012 damage the sea wall, and who should pay?"
    chosen = MeaningVerifier(embeddings, Options(pointed=2)).pointed(question, [5, 3, 4, 1], ESSAY)
    assert len(chosen) == 2
    assert [ESSAY.index(s) for s in chosen] == sorted(ESSAY.index(s) for s in chosen)


def test_numbers_outside_the_essay_are_ignored(embeddings):
    assert MeaningVerifier(embeddings).pointed("Who built the wall?", [-1, 99], ESSAY) == ()


def test_switched_off_the_rule_asks_nothing_and_chooses_nothing(embeddings):
    verifier = MeaningVerifier(embeddings, Options().without(Rule.POINTED))
    assert not verifier.points
    assert verifier.pointed("When was the wall built?", [1], ESSAY) == ()
    assert MeaningVerifier(embeddings).points


@pytest.mark.parametrize("point, calls", [(True, 2), (False, 1)])
def test_the_point_setting_decides_whether_the_model_is_asked(settings, essay, point, calls):
    recorder = PromptRecorder()
    bot = Assistant(
        settings.model_copy(update={"point": point}),
        llm=fake_llm("The harbour town of Vell built a sea wall in 1990 [2].", '{"sentences": [3]}', recorder=recorder),
        embeddings=HashingEmbeddings(),
    )
    bot.index([essay], progress=False)
    assert not bot.ask("When did Vell build its sea wall?").declined
    assert len(recorder.calls) == calls


# An essay of three paragraphs about a town's sea wall, each with one aside that is about something else.
GIST_ESSAY = [
    EssaySentence("vell", 0, 0, 'The essay "Walls" was written by its author Ines Moro.', is_byline=True),
    *(
        EssaySentence("vell", 100 * p + n, 100 * p + n + 1, text, paragraph=100 * p)
        for p, paragraph in enumerate(
            [
                ["Vell's sea wall has kept the harbour town safe from floods.", "Gulls nest on the lighthouse."],
                ["The sea wall is old and a storm broke part of it.", "The bakery sells rye bread on Sundays."],
                ["The town council must repair the sea wall before winter floods.", "Choirs sing in the church."],
            ]
        )
        for n, text in enumerate(paragraph)
    ),
]


@pytest.mark.parametrize("question", ["Can you summarise the essay?", "What is its main argument?", "TL;DR?"])
def test_a_question_for_the_gist_gets_the_most_central_sentence_of_each_paragraph(embeddings, question):
    verifier = MeaningVerifier(embeddings, Options(gist=3))
    chosen = verifier.pointed(question, [0, 1, 2], GIST_ESSAY)  # the byline and the first paragraph, as the model does
    assert [s.text for s in chosen] == [GIST_ESSAY[i].text for i in (1, 3, 5)]  # the wall, never an aside


def test_the_gist_is_at_most_the_option_many_sentences_and_off_with_its_rule(embeddings):
    question = "Give me a summary."
    two = MeaningVerifier(embeddings, Options(gist=2)).pointed(question, [0, 1, 2], GIST_ESSAY)
    assert len(two) == 2 and {GIST_ESSAY.index(s) for s in two} < {1, 3, 5}
    pointed = MeaningVerifier(embeddings, Options().without(Rule.GIST)).pointed(question, [0, 1, 2], GIST_ESSAY)
    assert GIST_ESSAY[5] not in pointed  # the model's own pointing instead


@pytest.mark.parametrize("topic", ["What sells on Sundays?", "Summarise the essay. What sells on Sundays?"])
def test_a_question_on_one_point_is_no_question_for_the_gist(embeddings, topic):
    chosen = MeaningVerifier(embeddings, Options()).pointed(topic, [4], GIST_ESSAY)  # a follow-up's topic too
    assert [s.text for s in chosen] == [GIST_ESSAY[4].text]
