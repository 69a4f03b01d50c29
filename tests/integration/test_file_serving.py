"""Gradio serves the app's own assets and nothing else: no system files, no data files, no traversal.

Served on the fake chat model: what is checked is Gradio's file routes, not answers.
"""

from pathlib import Path

import httpx
import pytest
from conftest import _free_port
from fakes import HashingEmbeddings, fake_llm
from real import real_settings

from assistant import Assistant

ROOT = Path(__file__).resolve().parents[2]
MARKER = "feedback-marker-7f3a"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from assistant.ui.app import serve

    data = tmp_path_factory.mktemp("served")
    bot = Assistant(real_settings(data), llm=fake_llm(*["The essay does not say."] * 5), embeddings=HashingEmbeddings())
    bot.ensure_index()
    (data / "feedback.jsonl").write_text(f'{{"question": "{MARKER}"}}\n', encoding="utf-8")
    port = _free_port()
    app = serve(bot, "127.0.0.1", port, None, block=False)
    yield f"http://127.0.0.1:{port}", data
    app.close()


def _targets(data: Path) -> dict[str, bytes]:
    """Files that must never be served, with a snippet of their content."""
    return {
        "/etc/passwd": b"root:",
        str(data / "feedback.jsonl"): MARKER.encode(),
        str(data / "chroma" / "chroma.sqlite3"): b"SQLite format 3",
        str(ROOT / "assistant" / "settings.py"): b"ESSAY_ASSISTANT_",
        "/proc/self/environ": b"PATH=",
    }


def _urls(path: str) -> list[str]:
    rel = "../" * 12 + path.lstrip("/")
    encoded = rel.replace("/", "%2f")
    return [
        f"/gradio_api/file={path}",
        f"/file={path}",
        f"/gradio_api/file={rel}",
        f"/gradio_api/file={encoded}",
        f"/gradio_api/file=%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f{path.lstrip('/')}",
        f"/static/{rel}",
        f"/assets/{encoded}",
        f"/gradio_api/static/{encoded}",
        f"/favicon.ico/..%2f{encoded}",
    ]


def test_no_file_outside_the_apps_assets_is_served(served):
    base, data = served
    assert httpx.get(base + "/", timeout=10).status_code == 200  # the app itself is up
    leaks = []
    for path, snippet in _targets(data).items():
        assert Path(path).exists()
        for url in _urls(path):
            response = httpx.get(base + url, timeout=10)
            if response.status_code == 200 and snippet in response.content:
                leaks.append(url)
    assert leaks == []
