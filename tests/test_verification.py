"""The verifier's decisions, with the bundled MiniLM, on a small essay of our own (no eval question is reused).

Each rule has a claim that only it stops, and switching that rule off lets the claim through: the test
of the rule and of ``Options.without`` at once.
"""

import pytest

from assistant.index.documents import default_essay_path, load_document
from assistant.index.embeddings import MiniLMEmbeddings
from assistant.index.sentences import EssaySentence, byline, essay_sentences
from assistant.verification import Action, MeaningVerifier, Options, Reason, Rule, asked_kind, gives, money_differs

LINES = [
    "Mayor Lena Park announced a new bridge over the Elm River on March 3.",
    "During a debate with Omar Diaz, Governor Tom Hale said he would fund the bridge.",
    "Critic Sara Lowe suggests the mayor would use the bridge to win votes in May.",
    "Engineer Raj Patel says the city is drafting new plans for the riverbank.",
    "If the budget passes in June, there is a chance that the council might start building in July.",
    "The town will not get the state grant unless the council raises local taxes.",
    "The old ferry cost $4.1 million to repair in 2015.",
    "Many residents still cross the river by ferry every morning.",
]
TEXT = " ".join(LINES)
BYLINE = EssaySentence(
    "bridges", 0, 0, 'The essay "Bridges and Budgets" was written by its author Ana Ruiz.', is_byline=True
)
ESSAY = [BYLINE] + [EssaySentence("bridges", TEXT.index(s), TEXT.index(s) + len(s), s) for s in LINES]


def at(line: str) -> int:
    """The essay index of the sentence starting with ``line``."""
    return next(i for i, s in enumerate(ESSAY) if s.text.startswith(line))


@pytest.fixture(scope="module")
def embeddings():
    return MiniLMEmbeddings()


def check(embeddings, claim, question, cited, options=None):
    return MeaningVerifier(embeddings, options).check(claim, question=question, cited=cited, essay=ESSAY)


def test_a_faithful_paraphrase_is_shown_with_its_evidence(embeddings):
    v = check(embeddings, "Lena Park announced a new bridge on March 3.", "What did the mayor announce?", [at("Mayor")])
    assert v.action is Action.SHOW and v.evidence == (ESSAY[at("Mayor")],) and v.reasons == ()


def test_a_citation_one_off_still_finds_its_sentence(embeddings):
    v = check(
        embeddings, "Lena Park announced a new bridge on March 3.", "What did the mayor announce?", [at("During")]
    )
    assert v.action is Action.SHOW and v.evidence == (ESSAY[at("Mayor")],)


def test_evidence_is_the_cited_sentences_their_neighbours_and_the_sentences_nearest_the_claim(embeddings):
    claim, question = "The old ferry cost $4.1 million to repair in 2015.", "What did the old ferry cost to repair?"
    assert check(embeddings, claim, question, [at("The old ferry")]).action is Action.SHOW
    miscited = check(embeddings, claim, question, [at("Mayor")])  # the model's number is off: the meaning finds it
    assert miscited.action is Action.SHOW and miscited.evidence == (ESSAY[at("The old ferry")],)
    only_cited = check(embeddings, claim, question, [at("Mayor")], Options(nearest=0))
    assert only_cited.action is not Action.SHOW and ESSAY[at("The old ferry")] not in only_cited.evidence


@pytest.mark.parametrize(
    ("rule", "claim", "question", "cited"),
    [
        (  # one sentence's person with the next sentence's act
            Rule.WHO_DID_WHAT,
            "Raj Patel suggests the mayor would use the bridge to win votes in May.",
            "What does Raj Patel suggest?",
            ["Critic", "Engineer"],
        ),
        (  # the debate partner given the governor's act
            Rule.WHO_DID_WHAT,
            "Omar Diaz said he would fund the bridge.",
            "Who said he would fund the bridge?",
            ["During"],
        ),
        (Rule.HEDGES, "The council will start building in July.", "When will building start?", ["If the budget"]),
        (Rule.HEDGES, "The town will get the state grant.", "What about the state grant?", ["The town"]),
        (
            Rule.NAMES_NUMBERS,
            "The old ferry cost $5.3 million to repair in 2015.",
            "What did the old ferry cost to repair?",
            ["The old ferry"],
        ),
        (  # the sum of money made a count of things
            Rule.NAMES_NUMBERS,
            "There were 4.1 million repairs to the old ferry in 2015.",
            "How many repairs did the old ferry need?",
            ["The old ferry"],
        ),
        (  # a model stuck in a loop: every word is the sentence's own
            Rule.REPEATS,
            "Lena Park announced a bridge because it is a new bridge because it is a new bridge because it is a new.",
            "Why did the mayor announce a bridge?",
            ["Mayor"],
        ),
        (
            Rule.POLARITY,
            "The town will not get the state grant even if the council raises local taxes.",
            "Will the town get the state grant?",
            ["The town"],
        ),
        (  # close in meaning through the question's words, with a reason the sentence never gives
            Rule.NEW_WORDS,
            "Many residents still cross the river by ferry because the fares are cheap and quick.",
            "Why do many residents still cross the river by ferry?",
            ["Many"],
        ),
        (
            Rule.NEW_WORDS,
            "The mayor announced a new bridge over the Elm River to please angry commuters downtown.",
            "Why did the mayor announce a new bridge over the Elm River?",
            ["Mayor"],
        ),
    ],
)
def test_each_rule_stops_its_false_claim_and_only_that_rule(embeddings, rule, claim, question, cited):
    cited = [at(c) for c in cited]
    alone = Options().without(Rule.QUOTE, Rule.INVENTED_DETAIL)  # what happens after a failed check is tested apart
    on = check(embeddings, claim, question, cited, alone)
    assert on.action is Action.DROP and Reason[rule.name] in on.reasons, on
    off = check(embeddings, claim, question, cited, alone.without(rule))
    assert off.action is Action.SHOW, off


def test_parts_from_far_apart_sentences_are_not_joined(embeddings):
    claim = "Lena Park announced a new bridge on March 3, and the old ferry cost $4.1 million to repair in 2015."
    v = check(embeddings, claim, "What did the mayor announce?", [at("Mayor"), at("The old ferry")])
    assert v.action is not Action.SHOW


def test_a_not_that_means_the_same_is_not_a_contradiction(embeddings):
    v = check(
        embeddings,
        "The council has to raise local taxes for the town to get the state grant.",
        "What must happen for the town to get the state grant?",
        [at("The town")],
    )
    assert v.action is Action.SHOW, v


def test_a_hedge_kept_is_shown(embeddings):
    v = check(
        embeddings,
        "The council might start building in July if the budget passes in June.",
        "When could building start?",
        [at("If the budget")],
    )
    assert v.action is Action.SHOW, v


def test_an_unconfirmed_paraphrase_of_relevant_sentences_is_replaced_by_them(embeddings):
    v = check(embeddings, "Omar Diaz said he would fund the bridge.", "Who will fund the bridge?", [at("During")])
    assert v.action is Action.QUOTE and v.evidence == (ESSAY[at("During")],) and Reason.WHO_DID_WHAT in v.reasons


def test_a_claim_that_invents_a_name_or_number_declines_rather_than_quotes(embeddings):
    v = check(embeddings, "The new bridge will cost $9 million.", "How much will the new bridge cost?", [at("Mayor")])
    assert v.action is Action.DECLINE and Reason.INVENTED in v.reasons
    quoted = check(
        embeddings,
        "The new bridge will cost $9 million.",
        "How much will the new bridge cost?",
        [at("Mayor")],
        Options().without(Rule.INVENTED_DETAIL),
    )
    assert quoted.action is Action.QUOTE


def test_an_invented_acronym_declines_but_one_the_essay_spells_out_is_shown(embeddings):
    """An acronym is a name: "NBC" is made up, while "ER" shortens the essay's own "Elm River"."""
    question = "Where was the debate with Omar Diaz broadcast?"
    invented = check(embeddings, "The debate with Omar Diaz was broadcast on NBC.", question, [at("During")])
    assert invented.action is Action.DECLINE and Reason.INVENTED in invented.reasons
    spelled = check(
        embeddings, "Mayor Lena Park announced a new bridge over the ER.", "What did the mayor announce?", [at("Mayor")]
    )
    assert spelled.supported, spelled.reason


def test_sentences_about_something_else_are_neither_shown_nor_quoted(embeddings):
    v = check(
        embeddings,
        "Many residents still cross the river by ferry every morning.",
        "Who is Governor Tom Hale's running mate?",
        [at("Many residents")],
    )
    assert v.action is Action.DROP and Reason.QUESTION_NAMES in v.reasons


def test_a_sentence_that_only_restates_the_question_is_not_shown_as_an_answer(embeddings):
    v = check(embeddings, "She announced it [1].", "When did the mayor announce it?", [at("Mayor")])
    assert v.action is not Action.SHOW and Reason.RESTATES_QUESTION in v.reasons


def test_a_terse_answer_needs_its_own_words_in_the_evidence(embeddings):
    question = "What did Mayor Lena Park announce on March 3?"
    assert check(embeddings, "A new bridge.", question, [at("Mayor")]).action is Action.SHOW
    planted = check(embeddings, "PWNED.", question, [at("Mayor")], Options().without(Rule.QUOTE, Rule.INVENTED_DETAIL))
    assert planted.action is Action.DROP and Reason.MEANING in planted.reasons


def test_no_content_and_no_essay_are_dropped(embeddings):
    assert check(embeddings, "[2].", "Who announced the bridge?", [1]).reasons == (Reason.NO_CONTENT,)
    verifier = MeaningVerifier(embeddings)
    assert verifier.check("Lena Park did.", question="Who?", cited=[], essay=[]).action is Action.DROP


def test_options_record_every_threshold_and_rule():
    recorded = Options().without(Rule.HEDGES).to_dict()
    assert recorded["support"] == Options().support and "hedges" not in recorded["rules"]
    assert set(recorded["rules"]) == {r.value for r in Rule} - {"hedges"}


# The bundled essay: the claims the issue found shown as "supported" before, and the paraphrase it found dropped.
DOC = load_document(default_essay_path())


class _Chunk:
    doc_id, start, end, text = DOC.id, 0, len(DOC.text), DOC.text


BUNDLED = essay_sentences([_Chunk()], {DOC.id: byline(DOC.metadata())})


def _cited(*starts: str) -> list[int]:
    return [next(i for i, s in enumerate(BUNDLED) if s.text.startswith(p)) for p in starts]


@pytest.mark.parametrize(
    ("claim", "question", "cited"),
    [
        (
            "Harry J. Kazianis suggests President Trump would do another summit to distract voters in November.",
            "What does Kazianis think Trump wants from a summit?",
            _cited("John Bolton", "Harry J."),
        ),
        ("Greta Van Susteren interviewed Kim Jong-un on July 7.", "Whom did Van Susteren talk to?", _cited("During")),
        (
            "President Trump will sign a declaration to officially end the Korean War in October.",
            "What will Trump sign in October?",
            _cited("If a summit"),
        ),
    ],
)
def test_claims_the_essay_contradicts_are_not_shown(embeddings, claim, question, cited):
    v = MeaningVerifier(embeddings).check(claim, question=question, cited=cited, essay=BUNDLED)
    assert v.action is not Action.SHOW, v


def test_a_true_paraphrase_with_a_different_not_is_shown(embeddings):
    v = MeaningVerifier(embeddings).check(
        "The U.S. has to lift existing economic sanctions first.",
        question="What must the U.S. do before North Korea moves on denuclearization?",
        cited=_cited("To put it simply"),
        essay=BUNDLED,
    )
    assert v.action is Action.SHOW, v


def test_a_far_sentence_joins_a_quotation_only_when_nearly_as_close_to_the_claim(embeddings):
    apart = [at("During"), at("Engineer")]  # both pointed at by the claim, three sentences apart
    pointer = " ".join(ESSAY[i].text for i in apart)
    question = "Who funds the bridge and who drafts plans?"
    lenient, strict = (MeaningVerifier(embeddings, Options(margin=margin)) for margin in (1.0, 0.0))
    lenient = lenient._quotable(question, lenient._found(question, ESSAY), pointer, apart, ESSAY)
    strict = strict._quotable(question, strict._found(question, ESSAY), pointer, apart, ESSAY)
    assert lenient == apart and len(strict) == 1


def test_a_sum_of_money_stays_money():
    spent = "The city spent $2.6 million to bring 40 players to the games in 2018."
    assert money_differs("There were 2.6 million players at the games.", spent)
    assert money_differs("It spent $40 on the games.", spent)
    assert not money_differs("The city paid 2.6 million dollars for 40 players in 2018.", spent)
    assert not money_differs("The city spent $2,600 on it.", "It cost $2,600 in all.")


def test_a_name_in_the_title_is_placed_like_any_other_but_the_author_may_be_named_freely(embeddings):
    """The title names who the essay is about; exempting its names let one sentence's act pass as theirs."""
    titled = EssaySentence(
        "bridges",
        0,
        0,
        'The essay "A Bridge Is a Win for Tom Hale" was written by its author Ana Ruiz.',
        is_byline=True,
    )
    essay = [titled, *ESSAY[1:]]
    verifier = MeaningVerifier(embeddings, Options().without(Rule.QUOTE, Rule.INVENTED_DETAIL))
    question = "Who would use the bridge to win votes?"
    cited = [at("Critic")]
    moved = verifier.check(
        "Tom Hale would use the bridge to win votes in May.", question=question, cited=cited, essay=essay
    )
    assert moved.action is Action.DROP and Reason.WHO_DID_WHAT in moved.reasons, moved
    framed = "Ana Ruiz argues that the mayor would use the bridge to win votes in May."
    assert verifier.check(framed, question=question, cited=cited, essay=essay).supported


def test_what_a_question_opens_by_asking_for():
    assert asked_kind("How many ferries cross the river?") == "count"
    assert asked_kind("And how much did the repair cost?") == "amount"
    assert asked_kind("In what year was the ferry repaired?") == asked_kind("When is the vote?") == "time"
    assert asked_kind("What happens when the budget fails?") is None  # "when" inside is not the ask
    assert asked_kind("When is the vote, and what would it change?") is None  # the second part needs no time
    repaired = "The old ferry cost $4.1 million to repair in 2015."
    assert not gives(repaired, "count")  # a sum and a year are not a count
    assert gives(repaired, "amount") and gives(repaired, "time")
    assert gives("Three boats cross daily.", "count") and gives("Two days later, she spoke.", "time")
    assert not gives("Many residents still cross the river by ferry.", "time")


def test_essay_words_without_the_count_asked_for_are_not_offered_as_the_answer(embeddings):
    """A near-miss: the essay names the ferry riders but not how many there are."""
    claim, question = (
        "About 300 residents cross the river by ferry every morning.",
        "How many residents take the ferry?",
    )
    alone = Options().without(Rule.INVENTED_DETAIL)
    v = check(embeddings, claim, question, [at("Many residents")], alone)
    assert v.action is Action.DROP and not v.supported, v
    off = check(embeddings, claim, question, [at("Many residents")], alone.without(Rule.ASKED_KIND))
    assert off.action is Action.QUOTE and off.evidence == (ESSAY[at("Many residents")],), off


def test_a_true_sentence_without_the_count_asked_for_does_not_answer_how_many(embeddings):
    """The model copies the essay faithfully, but the essay never says how many: that is not an answer."""
    claim = "Many residents still cross the river by ferry every morning."
    question = "How many residents take the ferry?"
    v = check(embeddings, claim, question, [at("Many residents")])
    assert not v.supported and Reason.ASKED_KIND in v.reasons, v
    assert check(embeddings, claim, question, [at("Many residents")], Options().without(Rule.ASKED_KIND)).supported
    counted = "Many residents, about three hundred, still cross the river by ferry every morning."
    assert Reason.ASKED_KIND not in check(embeddings, counted, question, [at("Many residents")]).reasons


def test_a_question_giving_one_persons_words_to_another_is_corrected_by_the_essays_sentence(embeddings):
    """The premise check needs no model: the sentence the question is about, by whom it really says it."""
    wrong = "Why did Raj Patel suggest the mayor would use the bridge to win votes?"
    verifier = MeaningVerifier(embeddings)
    assert verifier.pointed(wrong, [], ESSAY) == (ESSAY[at("Critic")],)
    assert MeaningVerifier(embeddings, Options().without(Rule.PREMISE)).pointed(wrong, [], ESSAY) == ()
    right = "Why does Sara Lowe suggest the mayor would use the bridge to win votes?"
    assert verifier.pointed(right, [], ESSAY) == ()
