"""The eval metrics on small hand-made cases, including ones that must fail."""

import pytest

from assistant.evals.metrics import (
    citation_scores,
    covers,
    facts_found,
    groundedness,
    percentile,
    quote_spans,
    retrieval_scores,
    token_f1,
)

TEXT = "Alpha beta gamma. The summit was in Hanoi in 2019. Delta epsilon."


def test_quote_spans_are_exact_and_missing_quotes_fail():
    assert quote_spans(TEXT, ["in Hanoi"]) == [(TEXT.index("in Hanoi"), TEXT.index("in Hanoi") + 8)]
    with pytest.raises(ValueError, match="not found verbatim"):
        quote_spans(TEXT, ["in Singapore"])


def test_covers_needs_half_of_the_quote():
    quote = (10, 20)
    assert covers((0, 15), quote) and covers((15, 40), quote) and covers((0, 100), quote)
    assert not covers((0, 14), quote) and not covers((21, 40), quote)


def test_retrieval_scores():
    quotes = [(100, 110), (300, 310)]
    ranked = [(0, 50), (95, 150), (290, 320), (400, 450)]
    assert retrieval_scores(ranked, quotes, k=4) == {"hit": 1.0, "recall": 1.0, "rr": 0.5}
    assert retrieval_scores(ranked, quotes, k=2) == {"hit": 1.0, "recall": 0.5, "rr": 0.5}
    assert retrieval_scores(ranked, quotes, k=1) == {"hit": 0.0, "recall": 0.0, "rr": 0.0}


def test_facts_with_alternatives():
    facts = [["Singapore"], ["DMZ", "Demilitari[sz]ed Zone"], ["Hanoi"]]
    assert facts_found("Singapore, Hanoi and the demilitarised zone", facts) == [True, True, True]
    assert facts_found("Singapore and Hanoi", facts) == [True, False, True]


def test_token_f1():
    assert token_f1("They met in Hanoi [2].", "they met in Hanoi") == 1.0
    assert token_f1("Paris", "Hanoi") == 0.0
    # precision 3/3, recall 3/6 ("in" twice in the reference): F1 = 2 * 1 * 0.5 / 1.5
    assert token_f1("met in Hanoi", "they met in Hanoi in 2019") == pytest.approx(2 / 3)


def test_citation_scores():
    shown = {1: (0, 17), 2: (18, 50), 3: (51, 66)}
    quote = [quote_spans(TEXT, ["The summit was in Hanoi in 2019."])[0]]
    assert citation_scores("In Hanoi [2].", shown, quote) == {"valid": 1.0, "supports_quote": 1.0, "count": 1.0}
    assert citation_scores("In Hanoi [1].", shown, quote)["supports_quote"] == 0.0  # cites the wrong passage
    assert citation_scores("In Hanoi [2][9].", shown, quote)["valid"] == 0.0  # [9] names no passage
    assert citation_scores("In Hanoi.", shown, quote) == {"valid": 1.0, "supports_quote": 0.0, "count": 0.0}


PASSAGE = "The president has met with Kim three times already, in Singapore, Hanoi, and in the Demilitarized Zone."


@pytest.mark.parametrize(
    "answer, cited, expected",
    [
        ("They met in Singapore, Hanoi and the Demilitarized Zone [1].", [PASSAGE], 1.0),
        ("They met in Singapore and Hanoi [1]. They also met in Seoul in 2019 [1].", [PASSAGE], 0.5),  # new names
        ("They met in Singapore and Hanoi.", [], 0.0),  # a claim with nothing cited is unsupported
        ("Cats are wonderful pets that sleep all day.", [PASSAGE], 0.0),
        ("Yes.", [PASSAGE], None),  # no claim to check
        # A quoted headline has no full stop: its citation ends it, so each quotation is one claim of its own.
        (
            "The essay says: “Trump and Kim Meet Again” [1] “They met in Singapore and Hanoi.” [2]",
            ["Trump and Kim Meet Again", PASSAGE],
            1.0,
        ),
    ],
)
def test_groundedness_definition(answer, cited, expected):
    assert groundedness(answer, cited) == expected


def test_a_decline_makes_no_claim():
    assert groundedness("I could not find that in this essay.", [], declined=True) is None


def test_percentile_nearest_rank():
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3
    assert percentile([5, 1, 3, 2, 4], 0.95) == 5
    assert percentile([], 0.5) == 0.0
