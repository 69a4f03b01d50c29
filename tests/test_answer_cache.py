"""Repeated first-turn questions are answered from the cache; anything that could change the answer misses it."""

import asyncio

import pytest
from fakes import PromptRecorder

from assistant import Answer
from assistant.answer_cache import AnswerCache, normalise_question

ONE = "They met in Singapore, Hanoi, and in the Demilitarized Zone [1]."  # as the verifier cites them
TWO = "The president has met with Kim three times already [1]."


def test_a_repeated_question_is_answered_without_the_model(make_assistant):
    recorder = PromptRecorder()
    bot = make_assistant(ONE, TWO, recorder=recorder)
    first = bot.ask("Where have Trump and Kim held their meetings?")
    # Case, spacing and the question mark do not matter.
    events = list(bot.stream("  where have Trump and Kim held their meetings "))
    assert len(recorder.calls) == 1
    assert events == [first.text, first] and events[-1] is first  # the same verified Answer, text first for printers


def test_a_follow_up_with_history_is_never_cached(make_assistant):
    recorder = PromptRecorder()
    bot = make_assistant(ONE, TWO, recorder=recorder)
    history = [{"role": "user", "content": "Who met?"}, {"role": "assistant", "content": "Trump and Kim [1]."}]
    assert bot.ask("Where have Trump and Kim held their meetings?", history=history).text == ONE
    assert bot.ask("Where have Trump and Kim held their meetings?", history=history).text == TWO
    assert len(recorder.calls) == 2


def test_re_indexing_invalidates_the_cache(make_assistant, tmp_path):
    from assistant.index.documents import default_essay_path

    recorder = PromptRecorder()
    bot = make_assistant(ONE, TWO, recorder=recorder)
    bot.ask("Where have Trump and Kim held their meetings?")
    before = bot.store.generation()
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe summits were in Asia.\n", encoding="utf-8")
    bot.index([default_essay_path(), notes], progress=False)
    assert bot.store.generation() != before
    assert bot.ask("Where have Trump and Kim held their meetings?").text == TWO
    assert len(recorder.calls) == 2


def test_another_process_re_indexing_invalidates_the_cache(make_assistant, settings, embeddings, tmp_path):
    """The key reads the store's pointer, so an index run elsewhere is seen without a restart."""
    from assistant import Assistant
    from assistant.index.documents import default_essay_path

    recorder = PromptRecorder()
    bot = make_assistant(ONE, TWO, recorder=recorder)
    assert bot.ask("Where have Trump and Kim held their meetings?").text == ONE
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe summits were in Asia.\n", encoding="utf-8")
    Assistant(settings, embeddings=embeddings).index([default_essay_path(), notes], progress=False)
    assert bot.ask("Where have Trump and Kim held their meetings?").text == TWO
    assert len(recorder.calls) == 2


def test_a_setting_that_shapes_the_answer_misses_the_cache(make_assistant):
    recorder = PromptRecorder()
    bot = make_assistant(ONE, TWO, recorder=recorder)  # a third model call would fail: the fake has two replies
    tokens = bot.settings.max_answer_tokens
    assert bot.ask("Where have Trump and Kim held their meetings?").text == ONE
    bot.settings.max_answer_tokens = 100
    assert bot.ask("Where have Trump and Kim held their meetings?").text == TWO
    bot.settings.max_answer_tokens = tokens
    bot.settings.request_timeout = 5  # how long to wait does not change what is answered
    assert bot.ask("Where have Trump and Kim held their meetings?").text == ONE
    assert len(recorder.calls) == 2


def test_a_closed_stream_is_not_cached(make_assistant):
    recorder = PromptRecorder()
    bot = make_assistant(" ".join(f"word{i}" for i in range(50)), TWO, recorder=recorder)
    stream = bot.stream("Where have Trump and Kim held their meetings?")
    next(stream)
    stream.close()
    assert bot.ask("Where have Trump and Kim held their meetings?").text == TWO
    assert len(recorder.calls) == 2


def test_the_cache_can_be_turned_off(make_assistant):
    bot = make_assistant(ONE, TWO, answer_cache=0)
    assert bot.ask("Where have Trump and Kim held their meetings?").text == ONE
    assert bot.ask("Where have Trump and Kim held their meetings?").text == TWO


def test_async_stream_shares_the_cache(make_assistant):
    recorder = PromptRecorder()
    bot = make_assistant(ONE, TWO, recorder=recorder)

    async def run():
        first = await bot.aask("Where have Trump and Kim held their meetings?")
        events = [e async for e in bot.astream("Where have Trump and Kim held their meetings?")]
        return first, events

    first, events = asyncio.run(run())
    assert events == [first.text, first] and len(recorder.calls) == 1
    assert bot.ask("Where have Trump and Kim held their meetings?") is first


def test_the_cache_is_bounded_and_keeps_the_most_recent():
    cache = AnswerCache(2)
    answers = [Answer(text=f"a{i}", sources=[], question=f"q{i}", standalone_question=f"q{i}") for i in range(3)]
    keys = [cache.key(f"q{i}", "gen:0", {}) for i in range(3)]
    cache.put(keys[0], answers[0])
    cache.put(keys[1], answers[1])
    assert cache.get(keys[0]) is answers[0]  # now the most recent
    cache.put(keys[2], answers[2])
    assert cache.get(keys[1]) is None and cache.get(keys[0]) is answers[0] and len(cache) == 2


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Which person authored this essay?", "which person authored  this essay", True),
        ("Which person authored this essay?", "Which person authored this essay!", True),
        ("Which person authored this essay?", "Which person read this essay?", False),
    ],
)
def test_normalised_questions(a, b, same):
    assert (normalise_question(a) == normalise_question(b)) is same
