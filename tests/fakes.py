"""Deterministic stand-ins for the embedding and chat models, so unit tests are fast and exact."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from pathlib import Path

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

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
