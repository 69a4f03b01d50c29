"""Answers to repeated first-turn questions, such as the UI's example buttons, without running the model.

The key is everything an answer depends on: the corpus version (the
store's active generation and its change counter, so re-indexing
invalidates every entry), the model, the settings that shape the prompt
or the generation, the prompt files, and the question normalised (case,
spacing, a trailing question mark). Only a question without history is
cached, and only the finished ``Answer`` that ``stream`` yielded last,
after every check, so a hit is exactly what the first asker received.

``cached_stream`` and ``cached_astream`` wrap ``Assistant.stream`` and
``astream``: a hit yields the answer's text and then the ``Answer``; a miss
runs the wrapped method and stores its final ``Answer`` if the stream ran
to the end. The cache is in memory, per process, bounded (LRU).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from contextlib import aclosing, closing
from typing import Any

from assistant.answer import Answer

# Settings an answer depends on; paths, timeouts and the UI's limits do not change it.
KEY_SETTINGS = (
    "model",
    "base_url",
    "embedding",
    "temperature",
    "max_answer_tokens",
    "n_ctx",
    "chunk_size",
    "chunk_overlap",
    "k",
    "context_budget",
    "history_turns",
    "collection",
)


def normalise_question(question: str) -> str:
    return re.sub(r"\s+", " ", question).strip().rstrip("?!. ").casefold()


class AnswerCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, Answer] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def key(self, question: str, corpus: str, context: dict[str, Any]) -> str:
        payload = json.dumps(
            {"q": normalise_question(question), "corpus": corpus, **context}, sort_keys=True, default=str
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def get(self, key: str) -> Answer | None:
        with self._lock:
            answer = self._items.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, key: str, answer: Answer) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = answer
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def _replay(answer: Answer) -> list[str | Answer]:
    return [answer.text, answer] if answer.text else [answer]


def cached_stream(
    method: Callable[..., Generator[str | Answer, None, None]],
) -> Callable[..., Iterator[str | Answer]]:
    @functools.wraps(method)
    def wrapper(self, question, history=None):
        key = self._answer_key(question, history)
        hit = self._answers.get(key) if key else None
        if hit is not None:
            yield from _replay(hit)
            return
        last = None
        with closing(method(self, question, history)) as events:  # closing the wrapper closes the model's stream now
            for last in events:
                yield last
        if key and isinstance(last, Answer):
            self._answers.put(key, last)

    return wrapper


def cached_astream(
    method: Callable[..., AsyncGenerator[str | Answer, None]],
) -> Callable[..., AsyncIterator[str | Answer]]:
    @functools.wraps(method)
    async def wrapper(self, question, history=None):
        key = self._answer_key(question, history)
        hit = self._answers.get(key) if key else None
        if hit is not None:
            for event in _replay(hit):
                yield event
            return
        last = None
        async with aclosing(method(self, question, history)) as events:
            async for last in events:
                yield last
        if key and isinstance(last, Answer):
            self._answers.put(key, last)

    return wrapper
