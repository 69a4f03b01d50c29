import pytest

from assistant._grounding import is_decline, is_grounded

PASSAGES = [
    "The president has met with Kim three times already, in Singapore, Hanoi, and in the Demilitarized Zone.",
    "The South Korean government spent $2.6 million to bring North Korea's athletes and cheerleaders.",
]
META = ["Joseph Kim", "George W. Bush Institute"]


@pytest.mark.parametrize(
    "answer",
    [
        "They met three times: in Singapore, Hanoi and the Demilitarized Zone [1].",
        "They met in Singapore, Hanoi and the DMZ.",  # acronyms are fine
        "South Korea spent $2.6 million on athletes and cheerleaders.",
        "The essay was written by Joseph Kim of the George W. Bush Institute. Kim met the president three times [1].",
    ],
)
def test_supported_answers_are_grounded(answer):
    assert is_grounded(answer, PASSAGES, META)


@pytest.mark.parametrize(
    "answer",
    [
        "The Korean War began on June 25, 1950.",  # names and numbers from world knowledge
        "Kim Jong-un is 67 years old. [1]",  # a citation does not excuse a new number
        "North Korea's currency is the North Korean Won.",
        "In the quiet corner of my room, a cat sleeps.\nIts eyes are closed, its tail wagging.",  # off-topic, unsupported
        "",
    ],
)
def test_unsupported_answers_are_not_grounded(answer):
    assert not is_grounded(answer, PASSAGES, META)


def test_declines_are_recognised():
    assert is_decline("The essay does not say.")
    assert is_decline("I can only answer questions about this essay.")
    assert not is_decline("They met in Hanoi.")
