"""Property-based tests: no input, however odd, gets past validation as junk or raises anything but InvalidInput."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant import InvalidInput
from assistant.inputs import clean_question, normalise_history

JUNK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=3000))
def test_any_text_is_cleaned_or_refused_clearly(text):
    try:
        cleaned = clean_question(text, 2000)
    except InvalidInput as exc:
        assert str(exc)  # a message for the user
        return
    assert cleaned and cleaned == cleaned.strip() and len(cleaned) <= 2000
    assert not JUNK.search(cleaned)
    cleaned.encode("utf-8")  # never a lone surrogate that breaks JSON or the tokenizer


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=50),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    )
)
def test_any_history_shape_is_normalised_or_refused_clearly(history):
    try:
        messages = normalise_history(history, 50)
    except InvalidInput as exc:
        assert "role" in str(exc)
        return
    assert all(m.type in ("human", "ai") and isinstance(m.content, str) and m.content for m in messages)


@given(st.lists(st.sampled_from(["user", "assistant", "system", "tool"]), max_size=20), st.integers(0, 10))
def test_history_keeps_at_most_the_newest_n(roles, limit):
    history = [{"role": r, "content": f"m{i}"} for i, r in enumerate(roles)]
    kept = normalise_history(history, limit)
    expected = [h["content"] for h in history if h["role"] in ("user", "assistant")][-limit:] if limit else []
    assert [m.content for m in kept] == expected
