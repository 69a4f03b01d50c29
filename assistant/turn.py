"""One question's answer, without IO: the core that ``Assistant.stream`` and ``astream`` share.

The shells do the waiting (the sync one calls the model, the async one
awaits it); a ``Turn`` holds what they have in common, as httpx's
``BaseClient`` does for its ``Client`` and ``AsyncClient``: the cache
lookup, the gate every model delta passes, and the finished answer, which
goes into the cache only when the stream ran to its end (``keep``).
"""

from __future__ import annotations

from assistant.answer import Answer, AnswerCheck
from assistant.answer_cache import AnswerCache


class Turn:
    def __init__(self, inputs: dict, cache: AnswerCache | None = None, key: str | None = None) -> None:
        self.inputs = inputs
        self._cache = cache if key else None
        self._key = key
        self.hit = cache.get(key) if cache is not None and key else None
        self._check: AnswerCheck | None = None
        self._answer: Answer | None = None

    def start(self, check: AnswerCheck) -> Turn:
        self._check = check
        return self

    @property
    def stopped(self) -> bool:
        return self._check is not None and self._check.stopped

    def feed(self, delta: str) -> list[str]:
        """The verified sentences ``delta`` completes; nothing unverified."""
        assert self._check is not None, "start() the turn before feeding it"
        return self._check.feed(delta)

    def close(self) -> list[str]:
        """The model's answer is complete: its last verified sentence."""
        return self._check.close() if self.hit is None and self._check is not None else []

    @property
    def points(self) -> bool:
        """Whether the model is asked next which sentences answer the question."""
        return self.hit is None and self._check is not None and self._check.points

    def point(self, reply: str) -> list[str]:
        """The essay sentences the model's ``reply`` points at, as the verifier lets them follow the answer."""
        assert self._check is not None, "start() the turn before pointing"
        return self._check.point(reply) if reply else []

    def finish(self) -> list[str | Answer]:
        """The last verified text, then the ``Answer``: the cached one on a hit, else the gate's."""
        if self.hit is not None:
            return [self.hit.text, self.hit] if self.hit.text else [self.hit]
        assert self._check is not None, "start() the turn before finishing it"
        shown: list[str | Answer] = list(self._check.finish())
        self._answer = self._check.answer()
        return [*shown, self._answer]

    def keep(self) -> None:
        """Cache the finished answer: called once its reader took every event, so a closed stream is not kept."""
        if self._cache is not None and self._key and self._answer is not None:
            self._cache.put(self._key, self._answer)
