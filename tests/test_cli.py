import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import build_parser, main


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


def test_index_reports_skipped_files_and_exits_nonzero(tmp_path: Path, console_script):
    """Through the console script: an uncaught error there prints a traceback and exits 1 as well."""
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00" * 10)
    out = console_script("index", str(junk), "--data-dir", str(tmp_path / "data"))
    reason = f"{junk}: looks binary (contains NUL bytes); index plain text files only"
    assert out.returncode == 1, out.stderr
    assert f"skipped: {reason}" in out.stderr.splitlines() and "Traceback" not in out.stderr, out.stderr


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


@pytest.mark.parametrize("entry_point", ["console script", "module"])
def test_console_script_and_module_entry_points(entry_point, console_script):
    """Both ways in that the README names: the installed ``essay-assistant`` script and ``python -m assistant``."""
    if entry_point == "console script":
        out = console_script("--help")
    else:
        out = subprocess.run([sys.executable, "-m", "assistant", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: essay-assistant ")
    commands = [line.split()[0] for line in out.stdout.split("COMMAND\n", 1)[1].split("\n\n")[0].splitlines()]
    assert commands == ["index", "ask", "chat", "eval", "feedback", "serve"]


@pytest.fixture
def fake_models(monkeypatch):
    """Run the CLI on the fake chat model and the hashing embedding."""
    from fakes import HashingEmbeddings, PromptRecorder, StubVerifier, fake_llm

    import assistant.assistant as module

    recorder = PromptRecorder()

    def install(*replies, drop=()):
        monkeypatch.setattr(module, "make_chat_model", lambda settings: fake_llm(*replies, recorder=recorder))
        monkeypatch.setattr(module, "make_embeddings", lambda *args: HashingEmbeddings())
        monkeypatch.setattr(module, "MeaningVerifier", lambda *args, **kwargs: StubVerifier(drop=drop))
        return recorder

    return install


def test_ask_prints_the_answer_and_its_sources(fake_models, tmp_path: Path, capsys):
    fake_models("They met in Singapore, Hanoi, and in the Demilitarized Zone [16].")
    assert main(["ask", "Where did Trump and Kim meet?", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("They met in Singapore, Hanoi, and in the Demilitarized Zone [1].\n")
    source = out.splitlines()[1]  # the cited sentence, with its span in the document
    assert source.startswith("  [1] another-us-north-korea-summit:") and "in Singapore, Hanoi" in source
    start, end = map(int, source.split()[1].split(":")[1].split("-"))
    from assistant.index.documents import default_essay_path, load_document

    assert load_document(default_essay_path()).text[start:end].startswith("The president has met with Kim three times")


def test_ask_never_prints_an_unsupported_sentence(fake_models, tmp_path: Path, capsys):
    fake_models("The Korean War began on June 25, 1950.", drop=["1950"])
    assert main(["ask", "In what year did the Korean War break out?", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("I could not find that in this essay.\n") and "1950" not in out
    closest = out.split("Closest passages:\n")[1]  # the essay mentions the Korean War: where to look
    assert closest.startswith("  [") and "the Korean War" in closest


def test_chat_keeps_history_until_cleared(fake_models, tmp_path: Path, capsys, monkeypatch):
    recorder = fake_models(
        "Moon Jae-in proposed another summit [1].",
        "Moon Jae-in proposed it in July [1].",
        "Kim Yo Jong is the younger sister of Kim Jong-un [1].",
    )
    lines = iter(
        ["Who proposed another summit?", "", "When did he put that forward?", "/clear", "Who's Kim Yo Jong?", "/exit"]
    )
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main(["chat", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "proposed it in July [1]." in out and "(conversation cleared)" in out
    assert [len(call) for call in recorder.calls] == [2, 4, 2]  # system+question, +1 turn of history, cleared


def test_chat_reports_bad_input_and_carries_on(fake_models, tmp_path: Path, capsys, monkeypatch):
    fake_models("Kim Yo Jong is the younger sister of Kim Jong-un [1].")
    lines = iter(["x" * 5000, "Who's Kim Yo Jong?"])

    def fake_input(prompt=""):
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", fake_input)
    assert main(["chat", "--data-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "limit is 2,000" in captured.err
    assert "younger sister" in captured.out


def test_feedback_command(tmp_path: Path, capsys):
    import json

    data = ["--data-dir", str(tmp_path)]
    assert main(["feedback", *data]) == 2
    assert "no feedback yet" in capsys.readouterr().err
    entry = {"liked": True, "question": "Who's Kim Yo Jong?", "answer": "The essay does not say.", "sources": []}
    (tmp_path / "feedback.jsonl").write_text(json.dumps(entry) + "\n", encoding="utf-8")
    assert main(["feedback", *data]) == 0
    case = json.loads(capsys.readouterr().out)
    assert case["question"] == "Who's Kim Yo Jong?" and case["answerable"] is False


class FakeApp:
    """What serve(block=False) returns; block_thread() returns at once, noting the published address."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.published: dict | None = None
        self.closed = False

    def block_thread(self) -> None:
        import json

        self.published = json.loads((self.data_dir / "server.json").read_text(encoding="utf-8"))

    def close(self, verbose: bool = True) -> None:
        self.closed = True


@pytest.fixture
def fake_serve(monkeypatch, fake_models, tmp_path: Path):
    fake_models()
    calls = _Calls()

    def serve(bot, host, port, auth, *, block=True):
        assert block is False  # the CLI publishes the address once the server listens, then blocks itself
        calls.append((host, port, auth))
        calls.app = FakeApp(bot.settings.data_dir)
        return calls.app

    monkeypatch.setattr("assistant.ui.app.serve", serve)
    return calls


class _Calls(list):
    app: FakeApp


def test_serve_publishes_its_address_while_it_runs(fake_serve, tmp_path: Path):
    import os

    assert main(["serve", "--port", "9123", "--data-dir", str(tmp_path)]) == 0
    published = fake_serve.app.published
    assert (
        published["url"] == "http://127.0.0.1:9123" and published["pid"] == os.getpid() and published["auth"] is False
    )
    assert len(published["corpus_version"]) == 16 and "password" not in str(published)
    assert not (tmp_path / "server.json").exists() and fake_serve.app.closed


def test_serve_with_auth_publishes_that_a_login_is_needed_but_not_the_login(fake_serve, tmp_path: Path):
    assert main(["serve", "--auth", "reader:s3cret-pw", "--data-dir", str(tmp_path)]) == 0
    assert fake_serve.app.published["auth"] is True and "s3cret-pw" not in str(fake_serve.app.published)


def test_serve_takes_the_login_from_the_environment(fake_serve, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ESSAY_ASSISTANT_AUTH", "reader:from-env")
    assert main(["serve", "--data-dir", str(tmp_path)]) == 0
    assert fake_serve == [("127.0.0.1", 7860, ("reader", "from-env"))]


def test_serve_binds_to_loopback_by_default_and_prints_the_url(fake_serve, tmp_path: Path, capsys):
    assert main(["serve", "--data-dir", str(tmp_path)]) == 0
    assert fake_serve == [("127.0.0.1", 7860, None)]
    assert "http://127.0.0.1:7860" in capsys.readouterr().out


def test_serve_warns_when_public_without_auth(fake_serve, tmp_path: Path, caplog):
    assert main(["serve", "--host", "0.0.0.0", "--port", "9000", "--data-dir", str(tmp_path)]) == 0
    assert "without --auth" in caplog.text
    caplog.clear()
    assert main(["serve", "--host", "0.0.0.0", "--auth", "reader:secret", "--data-dir", str(tmp_path)]) == 0
    assert fake_serve[-1] == ("0.0.0.0", 7860, ("reader", "secret"))
    assert "without --auth" not in caplog.text


def test_serve_rejects_malformed_auth(fake_serve, tmp_path: Path, capsys):
    assert main(["serve", "--auth", "justauser", "--data-dir", str(tmp_path)]) == 2
    assert "USER:PASS" in capsys.readouterr().err and fake_serve == []


def test_serve_rejects_a_login_the_api_could_not_read(fake_serve, tmp_path: Path, capsys):
    assert main(["serve", "--auth", "reader:pässwört", "--data-dir", str(tmp_path)]) == 2
    assert "must be ASCII" in capsys.readouterr().err and fake_serve == []


def test_serve_explains_a_busy_port(monkeypatch, fake_models, tmp_path: Path, capsys):
    fake_models()

    def busy(*args, **kwargs):
        raise OSError("Cannot find empty port in range: 7860-7860")

    monkeypatch.setattr("assistant.ui.app.serve", busy)
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    assert "Is the port in use?" in capsys.readouterr().err


def test_serve_explains_a_page_that_did_not_answer(monkeypatch, fake_models, tmp_path: Path, capsys):
    fake_models()

    def unreachable(*args, **kwargs):  # what gradio's launch() raises when its own page does not answer
        raise ValueError("When localhost is not accessible, a shareable link must be created.")

    monkeypatch.setattr("assistant.ui.app.serve", unreachable)
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "did not start" in err and "NO_PROXY" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "question",
    [
        "Who is\x01 Kim\x1b[31m Yo Jong?\x7f",
        "Who is\x00 Kim Yo Jong?",
        "Who is \ud800Kim Yo Jong?\udcff",  # \udcff is how Python decodes an undecodable byte in argv
        "Who's Kim Yo Jong? " + "x" * 1900,
        "¿Quién es Kim Yo Jong? 金与正は誰ですか?",
    ],
    ids=["control characters", "NUL", "lone surrogates", "long single token", "non-English"],
)
def test_ask_cleans_odd_questions_and_answers(fake_models, tmp_path: Path, capsys, question):
    translated = ("Who is Kim Yo Jong?",) if "Quién" in question else ()  # a question in Spanish is translated first
    recorder = fake_models(*translated, "Kim Yo Jong is the younger sister of Kim Jong-un [1].")
    assert main(["ask", question, "--data-dir", str(tmp_path)]) == 0
    assert "younger sister" in capsys.readouterr().out
    sent = recorder.calls[-1][-1].content
    assert "Kim" in sent and not any(ch in sent for ch in "\x00\x01\x1b\x7f\ud800\udcff")


def test_ask_rejects_a_question_over_the_limit_with_a_message(tmp_path: Path, console_script):
    """Through the console script, so a traceback would reach stderr; the missing model shows none is loaded."""
    out = console_script("ask", "why " * 600, "--data-dir", str(tmp_path), "--model", str(tmp_path / "missing.gguf"))
    message = "error: The question is 2,399 characters long; the limit is 2,000. Please shorten it."
    assert out.returncode == 2, out.stderr
    assert message in out.stderr.splitlines() and "Traceback" not in out.stderr, out.stderr
    assert out.stdout == ""


def test_ask_on_a_terminal_that_cannot_show_the_answer_prints_no_traceback(tmp_path: Path):
    tests = Path(__file__).resolve().parent
    script = (
        "import sys\n"
        "import assistant.assistant as module\n"
        "from fakes import HashingEmbeddings, StubVerifier, fake_llm\n"
        "answer = 'Kim Yo Jong (김여정) is Kim Jong-un’s younger sister [1].'\n"
        "module.make_chat_model = lambda s: fake_llm('Who is Kim Yo Jong?', answer)  # translated, then answered\n"
        "module.make_embeddings = lambda *a: HashingEmbeddings()\n"
        "module.MeaningVerifier = lambda *a, **k: StubVerifier()\n"
        "from assistant.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "ascii", "PYTHONPATH": f"{tests.parent}:{tests}"}
    out = subprocess.run(
        [sys.executable, "-c", script, "ask", "¿Quién es Kim Yo Jong?", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        encoding="ascii",
        errors="replace",
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "Kim Yo Jong (???) is Kim Jong-un?s younger sister [1]." in out.stdout and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("value", "message"), [("0", "must be at least 1, not 0"), ("two", "'two' is not a whole number")]
)
def test_eval_concurrency_below_one_is_refused_with_a_usage_message(value, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--concurrency", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
