import subprocess
import sys
from pathlib import Path

import pytest

from assistant._cli import build_parser, main


@pytest.mark.parametrize("command", [[], ["index"], ["ask"], ["chat"]])
def test_help_works_for_every_command(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: essay-assistant" in out


def test_every_setting_flag_has_help():
    for action in build_parser()._subparsers._group_actions[0].choices["ask"]._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, action.option_strings


def test_index_reports_skipped_files_and_exits_nonzero(tmp_path: Path, capsys):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00" * 10)
    code = main(["index", str(junk), "--data-dir", str(tmp_path / "data")])
    captured = capsys.readouterr()
    assert code == 1
    assert "binary" in captured.err and "Traceback" not in captured.err


def test_index_is_idempotent_from_the_cli(tmp_path: Path, capsys):
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["index", *data]) == 0
    first = capsys.readouterr().out
    assert main(["index", *data]) == 0
    second = capsys.readouterr().out
    assert "chunks added, 0 removed, 0 unchanged" in first
    assert " 0 chunks added, 0 removed" in second


def test_ask_rejects_an_empty_question_before_loading_the_model(tmp_path: Path, capsys):
    code = main(["ask", "   ", "--data-dir", str(tmp_path / "data"), "--model", str(tmp_path / "missing.gguf")])
    err = capsys.readouterr().err
    assert code == 2
    assert "question is empty" in err


def test_ask_with_a_missing_model_file_explains(tmp_path: Path, capsys):
    code = main(["ask", "Who?", "--data-dir", str(tmp_path / "data"), "--model", str(tmp_path / "missing.gguf")])
    err = capsys.readouterr().err
    assert code == 2
    assert "missing.gguf does not exist" in err


def test_console_script_and_module_entry_points(tmp_path: Path):
    out = subprocess.run([sys.executable, "-m", "assistant", "--help"], capture_output=True, text=True, check=True)
    assert "index" in out.stdout and "ask" in out.stdout and "chat" in out.stdout
