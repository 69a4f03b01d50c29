"""Deterministic stand-ins for the embedding and chat models, so unit tests are fast and exact."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from collections.abc import Sequence
from pathlib import Path

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.verification import Action, Reason, Verdict

ESSAY = Path(__file__).resolve().parents[1] / "index" / "corpus" / "another-us-north-korea-summit.txt"


class HashingEmbeddings(Embeddings):
    """Bag of words hashed into a fixed number of buckets: texts sharing words are close."""

    name = "fake-hashing"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _embed(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in re.findall(r"\w+", text.lower()):
            vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


class PromptRecorder(BaseCallbackHandler):
    """Records the messages of every chat-model call, in order."""

    def __init__(self) -> None:
        self.calls: list[list] = []

    def on_chat_model_start(self, serialized, messages, **kwargs) -> None:
        self.calls.append(messages[0])


def fake_llm(*replies: str, recorder: PromptRecorder | None = None, callbacks: Sequence = ()):
    """A chat model that streams ``replies`` in order, one per call; ``callbacks`` see every token."""
    model = GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]))
    handlers = [*callbacks, *([recorder] if recorder else [])]
    return model.with_config(callbacks=handlers) if handlers else model


class StubVerifier:
    """A verifier with explicit decisions, for tests where the verifier is not under test.

    A sentence holding a word of ``drop`` is dropped, one holding a word of
    ``quote`` is replaced by its cited sentences, one holding a word of
    ``decline`` declines the question; any other is shown. The
    evidence is the cited sentences, or, uncited, the sentence sharing the
    most words with the claim. With ``points``, the model is asked after an
    answer which sentences answer the question, and every one it names is
    quoted.
    """

    def __init__(
        self, drop: Sequence[str] = (), quote: Sequence[str] = (), decline: Sequence[str] = (), points: bool = False
    ) -> None:
        self.drop, self.quote, self.decline = tuple(drop), tuple(quote), tuple(decline)
        self.points = points

    def pointed(self, question: str, numbers: Sequence[int], essay: Sequence) -> tuple:
        return tuple(essay[i] for i in sorted(set(numbers)) if 0 <= i < len(essay)) if self.points else ()

    def check(self, claim: str, *, question: str, cited: Sequence[int], essay: Sequence) -> Verdict:
        cited = [i for i in cited if 0 <= i < len(essay)] or [self.nearest(claim, essay)] if essay else []
        evidence = tuple(essay[i] for i in cited)
        if any(w in claim for w in self.decline):
            return Verdict(Action.DECLINE, (), 0.0, (Reason.INVENTED,))
        if not evidence or any(w in claim for w in self.drop):
            return Verdict(Action.DROP, evidence, 0.0, (Reason.MEANING,))
        if any(w in claim for w in self.quote):
            return Verdict(Action.QUOTE, evidence, 0.0, (Reason.MEANING,))
        return Verdict(Action.SHOW, evidence, 1.0)

    def nearest(self, text: str, essay: Sequence) -> int:
        words = set(re.findall(r"\w+", text.lower()))
        return max(range(len(essay)), key=lambda i: len(words & set(re.findall(r"\w+", essay[i].text.lower()))))


def collect(updates) -> list:
    """Every item of an async iterator, for the UI's ``chat`` in a plain test."""

    async def gather() -> list:
        return [update async for update in updates]

    return asyncio.run(gather())
