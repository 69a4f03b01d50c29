"""Answers to repeated first-turn questions, such as the UI's example buttons, without running the model.

The key is everything an answer depends on: the corpus version (the
store's active generation and its change counter, so re-indexing
invalidates every entry), the model, the settings that shape the prompt
or the generation, the prompt files, and the question normalised (case,
spacing, a trailing question mark). Only a question without history is
cached, and only the finished ``Answer`` that ``stream`` yielded last,
after every check, so a hit is exactly what the first asker received.

A ``Turn`` (``turn.py``) looks its question up here and stores its answer
once the stream ran to the end. The cache is in memory, per process,
bounded (LRU).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
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
    "point",
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
