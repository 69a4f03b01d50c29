"""Fixtures shared by every test.

Tests of assistant/'s own modules sit directly in tests/, not in a tests/assistant/ folder: pytest puts
tests/ on sys.path, where such a folder would be found as a namespace package named `assistant` before
an editable install's import hook is asked, and `from assistant import Assistant` would fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import HashingEmbeddings, PromptRecorder, StubVerifier, fake_llm

from assistant import Assistant, Settings

# gradio_client, the tests' client of the UI (not part of the product), goes through huggingface_hub, which
# otherwise contacts huggingface.co for telemetry and an agent registry. docs/api.md says so to its users.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_addoption(parser):
    """`pytest -m eval` on a corpus of your own: the eval gate's documents, dataset and baseline."""
    group = parser.getgroup("eval")
    group.addoption("--eval-documents", type=Path, nargs="*", help="files and folders the eval indexes")
    group.addoption("--eval-dataset", type=Path, help="eval items, JSONL (default: the bundled qa.jsonl)")
    group.addoption("--eval-baseline", type=Path, help="baseline JSON (default: the bundled baseline.json)")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")


@pytest.fixture
def embeddings() -> HashingEmbeddings:
    return HashingEmbeddings()


@pytest.fixture
def make_assistant(settings, embeddings):
    """An Assistant on the fake embedding, a fake chat model that gives ``replies`` in order, and a stub verifier
    (``verifier=`` another) that shows every sentence but those holding a word of ``drop``."""

    def make(
        *replies: str,
        recorder: PromptRecorder | None = None,
        callbacks=(),
        llm=None,
        drop=(),
        verifier=None,
        **overrides,
    ) -> Assistant:
        s = settings.model_copy(update=overrides) if overrides else settings
        llm = llm or fake_llm(*replies, recorder=recorder, callbacks=callbacks)
        return Assistant(s, llm=llm, embeddings=embeddings, verifier=verifier or StubVerifier(drop=drop))

    return make


@pytest.fixture
def console_script(tmp_path: Path):
    """Run the installed ``essay-assistant`` script in a new process: only there does an uncaught error reach stderr.

    In-process, an exception escaping ``main()`` goes to pytest, so "no traceback on stderr" can only be checked here.
    """
    script = Path(sys.executable).with_name("essay-assistant")
    assert script.exists(), f"{script} is missing: install the project (pip install -e '.[test]')"
    env = os.environ | {"ESSAY_ASSISTANT_DATA_DIR": str(tmp_path / "script-data")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)

    return run
