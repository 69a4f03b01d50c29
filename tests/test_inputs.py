import pytest
from langchain_core.messages import AIMessage, HumanMessage

from assistant import InvalidInput
from assistant.inputs import clean_question, normalise_history


@pytest.mark.parametrize("bad", ["", "   ", "\n\t ", "\x00\x01", None, 42, b"bytes"])
def test_empty_or_non_text_questions_are_refused(bad):
    with pytest.raises(InvalidInput):
        clean_question(bad, 2000)


def test_too_long_question_names_the_limit():
    with pytest.raises(InvalidInput, match="limit is 2,000"):
        clean_question("why " * 600, 2000)


def test_control_characters_and_lone_surrogates_are_removed():
    assert clean_question("Whose\x00 sister is\x07 Kim\ud800 Yo Jong?", 2000) == "Whose sister is Kim Yo Jong?"


def test_non_english_text_is_kept():
    assert clean_question("  김여정은 누구인가?  ", 2000) == "김여정은 누구인가?"


def test_history_in_openai_and_gradio_shapes():
    history = [
        {"role": "user", "content": "Where did they meet?"},
        {"role": "assistant", "content": [{"type": "text", "text": "In Hanoi [2]."}]},
        {"role": "system", "content": "ignored"},
        HumanMessage("Who?"),
        AIMessage("Kim [1]."),
    ]
    msgs = normalise_history(history, 10)
    assert [(m.type, m.content) for m in msgs] == [
        ("human", "Where did they meet?"),
        ("ai", "In Hanoi [2]."),
        ("human", "Who?"),
        ("ai", "Kim [1]."),
    ]


def test_history_keeps_only_the_newest_messages():
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": str(i)} for i in range(10)]
    assert [m.content for m in normalise_history(history, 4)] == ["6", "7", "8", "9"]


@pytest.mark.parametrize("bad", ["just a string", 5, [1, 2], [{"content": "no role"}]])
def test_history_of_the_wrong_shape_is_refused(bad):
    with pytest.raises(InvalidInput, match="role"):
        normalise_history(bad, 10)
