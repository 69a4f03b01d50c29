"""A remote model by configuration alone: llama.cpp's OpenAI-compatible server through langchain-openai."""

import re
import subprocess
import sys

import pytest
from real import real_settings

from assistant import Answer, Assistant, ModelError


@pytest.fixture
def remote(llama_server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "not-needed-locally")
    return real_settings(tmp_path, model="openai:qwen", base_url=llama_server)


def test_ask_stream_and_follow_up_through_the_server(remote):
    bot = Assistant(remote)
    answer = bot.ask("Where have Trump and Kim met?")
    assert "Singapore" in answer.text and "Hanoi" in answer.text, answer.text
    assert any("Singapore, Hanoi, and in the Demilitarized Zone" in s.text for s in answer.sources)

    events = list(bot.stream("Who is Kim Yo Jong?"))
    assert isinstance(events[-1], Answer) and "".join(e for e in events if isinstance(e, str)) == events[-1].text
    assert "sister" in events[-1].text.lower() and events[-1].sources, events[-1]

    history = [
        {"role": "user", "content": "Who proposed another U.S.-North Korea summit?"},
        {"role": "assistant", "content": "South Korean President Moon Jae-in proposed it [1]."},
    ]
    follow_up = bot.ask("When did he propose it?", history=history)
    assert re.search(r"July", follow_up.text) and follow_up.sources, follow_up.text


def test_a_down_server_is_a_clear_error_in_the_api_and_the_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-shown-456")
    closed = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
    settings = real_settings(tmp_path / "api", model="openai:qwen", base_url=closed, max_retries=0, request_timeout=5)
    with pytest.raises(ModelError, match="did not answer"):
        Assistant(settings).ask("Who is Kim Yo Jong?")

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant",
            "ask",
            "Who is Kim Yo Jong?",
            "--model",
            "openai:qwen",
            "--base-url",
            closed,
            "--data-dir",
            str(tmp_path / "cli"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "ESSAY_ASSISTANT_MAX_RETRIES": "0", "ESSAY_ASSISTANT_REQUEST_TIMEOUT": "5"},
    )
    assert out.returncode == 2
    assert "error: the model server at http://127.0.0.1:9/v1 did not answer" in out.stderr
    assert "Traceback" not in out.stderr and "sk-never-shown-456" not in out.stderr + out.stdout
