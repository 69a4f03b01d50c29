from __future__ import annotations

from pathlib import Path

import pytest
from fakes import HashingEmbeddings, PromptRecorder, fake_llm

from assistant import Assistant, Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")


@pytest.fixture
def embeddings() -> HashingEmbeddings:
    return HashingEmbeddings()


@pytest.fixture
def make_assistant(settings, embeddings):
    """An Assistant on the fake embedding and a fake chat model that gives ``replies`` in order."""

    def make(*replies: str, recorder: PromptRecorder | None = None, callbacks=(), llm=None, **overrides) -> Assistant:
        s = settings.model_copy(update=overrides) if overrides else settings
        llm = llm or fake_llm(*replies, recorder=recorder, callbacks=callbacks)
        return Assistant(s, llm=llm, embeddings=embeddings)

    return make
