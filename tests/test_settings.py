from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant import Settings
from assistant.cli import build_parser, settings_from_args


def test_defaults_are_embedded_and_offline(monkeypatch):
    for var in ("DATA_DIR", "MODEL", "CHROMA_HOST", "K"):
        monkeypatch.delenv(f"ESSAY_ASSISTANT_{var}", raising=False)
    s = Settings()
    assert s.model == "local"
    assert s.chroma_host is None
    assert s.resolved_chroma_path == s.data_dir / "chroma"
    assert "essay-assistant" in str(s.data_dir)


def test_environment_variables_configure(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("ESSAY_ASSISTANT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ESSAY_ASSISTANT_K", "7")
    monkeypatch.setenv("ESSAY_ASSISTANT_MODEL", "openai:gpt-4o-mini")
    monkeypatch.setenv("ESSAY_ASSISTANT_CHROMA_HOST", "127.0.0.1")
    s = Settings()
    assert (s.data_dir, s.k, s.model, s.chroma_host) == (tmp_path, 7, "openai:gpt-4o-mini", "127.0.0.1")


def test_flags_override_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("ESSAY_ASSISTANT_K", "7")
    monkeypatch.setenv("ESSAY_ASSISTANT_CHUNK_SIZE", "900")
    args = build_parser().parse_args(["ask", "q", "--k", "3", "--data-dir", str(tmp_path)])
    s = settings_from_args(args)
    assert s.k == 3 and s.data_dir == tmp_path and s.chunk_size == 900


@pytest.mark.parametrize(
    "bad", [{"chunk_size": 100, "chunk_overlap": 100}, {"k": 0}, {"model": "  "}, {"chroma_port": 70000}]
)
def test_invalid_settings_are_rejected(bad):
    with pytest.raises(ValidationError):
        Settings(**bad)


def test_cli_reports_invalid_settings_without_a_traceback(console_script):
    """Through the console script: in-process, a traceback would reach pytest, never stderr."""
    out = console_script("ask", "q", "--k", "0")
    assert out.returncode == 2, out.stderr
    message = "error: invalid setting k: Input should be greater than or equal to 1"
    assert message in out.stderr.splitlines() and "Traceback" not in out.stderr, out.stderr


def test_a_malformed_login_is_rejected_without_echoing_it(monkeypatch):
    from pydantic import ValidationError

    monkeypatch.setenv("ESSAY_ASSISTANT_AUTH", "hunter2-no-colon")
    with pytest.raises(ValidationError, match="USER:PASS") as exc:
        Settings()
    assert "hunter2" not in str(exc.value) and "hunter2" not in repr(exc.value)
    monkeypatch.setenv("ESSAY_ASSISTANT_AUTH", "reader:pa:ss")
    assert Settings().login == ("reader", "pa:ss") and "pa:ss" not in repr(Settings())
