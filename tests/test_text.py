import pytest

from assistant.index.text import cited_numbers, stems


@pytest.mark.parametrize(
    "text, expected",
    [
        ("They met in Singapore [2].", [2]),
        ("A [1][3] and B [3].", [1, 3]),
        ("A [4, 2] then [1; 2].", [4, 2, 1]),
        ("See [Passage 5].", [5]),
        ("No citations here, not even [a] or [].", []),
        ("Years like 2018 are not citations.", []),
    ],
)
def test_cited_numbers(text, expected):
    assert cited_numbers(text) == expected


def test_every_negation_is_one_stem():
    """The verifier compares words by stem; "cannot" must meet the essay's "can't"."""
    assert stems("He cannot lift them") == stems("He can’t lift them") == stems("He can't lift them")
