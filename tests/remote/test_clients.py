"""The JSON API and its clients (Assistant.connect, the CLI), against a served app on the fake models."""

import asyncio
import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fakes import fake_llm
from langchain_core.messages import AIMessage

from assistant import Answer, Assistant, InvalidInput, ModelError, ServerError, Source
from assistant.cli import main
from assistant.remote.address import ServerAddress, find_server, publish
from assistant.remote.client import LoginRefused, answer_from_dict, dataclass_from

TESTS = Path(__file__).resolve().parents[1]
MET = "They met in Singapore, Hanoi, and in the Demilitarized Zone [1]."  # as verified: cites the essay sentence
SISTER = "Kim Yo Jong is the younger sister of Kim Jong-un [1]."
WARM_UP = "The essay is about another summit [1]."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recording:
    """Wraps the served Assistant's two shells (the API streams, the UI awaits) to keep the questions it got and
    the Answers it produced."""

    def __init__(self, bot: Assistant) -> None:
        self.questions: list[tuple] = []
        self.answers: list[Answer] = []
        original, aoriginal = bot.stream, bot.astream

        def stream(question, history=None):
            self.questions.append((question, history))
            for event in original(question, history):
                self._keep(event)
                yield event

        async def astream(question, history=None):
            self.questions.append((question, history))
            async for event in aoriginal(question, history):
                self._keep(event)
                yield event

        bot.stream, bot.astream = stream, astream

    def _keep(self, event) -> None:
        if isinstance(event, Answer):
            self.answers.append(event)


@pytest.fixture
def served(make_assistant):
    """Serve an Assistant on the fake models (replies in order) on a free port; yields (url, bot, recording)."""
    apps = []

    def start(*replies: str, auth=None, llm=None):
        from assistant.ui.app import serve

        # The UI's warm-up asks first; every call reaches the model.
        bot = make_assistant(WARM_UP, *replies, llm=llm, answer_cache=0)
        bot.ensure_index()
        recording = Recording(bot)
        port = _free_port()
        apps.append(serve(bot, "127.0.0.1", port, auth, block=False))
        deadline = time.monotonic() + 60
        while not recording.questions and time.monotonic() < deadline:
            time.sleep(0.05)
        while recording.questions and not recording.answers and time.monotonic() < deadline:
            time.sleep(0.05)
        recording.questions.clear()
        recording.answers.clear()
        return f"http://127.0.0.1:{port}", bot, recording

    yield start
    for app in apps:
        app.close(verbose=False)


def test_connect_returns_the_servers_answer_objects(served):
    url, _, recording = served(MET, MET, SISTER, SISTER)
    remote = Assistant.connect(url)
    answer = remote.ask("Where did Trump and Kim meet?")
    assert type(answer) is Answer and all(type(s) is Source for s in answer.sources + answer.passages)
    assert answer == recording.answers[-1]  # every field, every source, as the server built it

    events = list(remote.stream("Where did Trump and Kim meet?"))
    *deltas, final = events
    assert deltas and all(isinstance(d, str) for d in deltas) and "".join(deltas) == MET
    assert final == recording.answers[-1]

    async def both():
        asked = await remote.aask("Who's Kim Yo Jong?")
        streamed = [e async for e in remote.astream("Who's Kim Yo Jong?")]
        return asked, streamed

    asked, streamed = asyncio.run(both())
    assert asked == recording.answers[-2] and streamed[-1] == recording.answers[-1]
    assert "".join(e for e in streamed if isinstance(e, str)) == SISTER


def test_history_is_passed_through(served):
    url, _, recording = served(SISTER)
    history = [{"role": "user", "content": "Who is Kim Jong-un?"}, {"role": "assistant", "content": "The leader [1]."}]
    Assistant.connect(url).ask("Who is his sister?", history)
    assert recording.questions == [("Who is his sister?", history)]


def test_bad_input_raises_the_same_error_as_in_process(served, make_assistant):
    url, _, _ = served()
    local = make_assistant()
    for question, history in [("   ", None), ("why " * 700, None), ("Who?", "not a list"), (42, None)]:
        with pytest.raises(InvalidInput) as here:
            local.ask(question, history)
        with pytest.raises(InvalidInput) as there:
            Assistant.connect(url).ask(question, history)
        assert str(there.value) == str(here.value)
        with pytest.raises(InvalidInput, match=str(here.value)[:20]):
            list(Assistant.connect(url).stream(question, history))


def test_raw_api_statuses(served):
    url, _, _ = served(MET)
    assert httpx.post(f"{url}/api/ask", content=b"[1, 2]").status_code == 422
    response = httpx.post(f"{url}/api/ask", json={"question": ""})
    assert response.status_code == 422 and response.json()["error"] == "invalid_input"
    health = httpx.get(f"{url}/api/health").json()
    assert health["status"] == "ok" and health["pid"] == os.getpid() and health["chunks"] > 0
    with httpx.stream("POST", f"{url}/api/stream", json={"question": "Where did Trump and Kim meet?"}) as r:
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert all("delta" in line for line in lines[:-1]) and lines[-1]["answer"]["text"] == MET


def test_an_unavailable_model_is_a_503_and_a_model_error(served):
    calls = []

    class DownModel(type(fake_llm())):
        """Answers the UI's warm-up, then its server is gone."""

        def _stream(self, *args, **kwargs):
            calls.append(1)
            if len(calls) > 1:
                raise httpx.ConnectError("[Errno 111] Connection refused")
            return super()._stream(*args, **kwargs)

    url, _, _ = served(llm=DownModel(messages=iter([AIMessage(WARM_UP)])))
    response = httpx.post(f"{url}/api/ask", json={"question": "Who's Kim Yo Jong?"})
    assert response.status_code == 503 and response.json()["error"] == "model_unavailable"
    with pytest.raises(ModelError, match="stopped answering"):
        Assistant.connect(url).ask("Who's Kim Yo Jong?")
    with pytest.raises(ModelError, match="stopped answering"):
        list(Assistant.connect(url).stream("Who's Kim Yo Jong?"))


def test_a_server_with_a_login_requires_it_from_clients(served):
    url, _, _ = served(SISTER, auth=("reader", "s3cret"))
    for auth in (None, ("reader", "wrong"), ("other", "s3cret")):
        with pytest.raises(LoginRefused, match="requires a login"):
            Assistant.connect(url, auth=auth).ask("Who's Kim Yo Jong?")
        options = {"auth": auth} if auth else {}
        assert httpx.post(f"{url}/api/stream", json={"question": "Who?"}, **options).status_code == 401
        assert httpx.get(f"{url}/api/health", **options).status_code == 401
    assert "younger sister" in Assistant.connect(url, auth=("reader", "s3cret")).ask("Who's Kim Yo Jong?").text


def test_the_ui_and_the_api_answer_side_by_side(served):
    from gradio_client import Client

    url, _, recording = served(MET, SISTER)
    messages, _ = Client(url + "/", verbose=False).predict(message="Where did Trump and Kim meet?", api_name="/chat")
    assert "Singapore" in messages[0]["content"]
    assert "younger sister" in Assistant.connect(url).ask("Who's Kim Yo Jong?").text
    assert len(recording.answers) == 2


def test_an_unreachable_server_is_a_server_error():
    port = _free_port()
    with pytest.raises(ServerError, match=f"cannot reach the server at http://127.0.0.1:{port}"):
        Assistant.connect(f"http://127.0.0.1:{port}").ask("Who?")


# Answers rebuilt from JSON --------------------------------------------------


def test_fields_added_to_answer_and_source_come_through():
    """Issue 12 adds fields (a supporting span, ...): the client rebuilds them from the dataclass, unchanged."""

    @dataclasses.dataclass(frozen=True)
    class SpanSource(Source):
        span: tuple[int, int] | None = None
        notes: list[str] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True)
    class RicherAnswer:
        text: str
        sources: list[SpanSource]
        verified: tuple[SpanSource, ...] = ()
        best: SpanSource | None = None
        by_doc: dict[str, SpanSource] = dataclasses.field(default_factory=dict)

        def to_dict(self) -> dict:
            return dataclasses.asdict(self)

    source = SpanSource(1, "text", "doc", "Title", 0, 4, 0.5, span=(1, 3), notes=["a"])
    answer = RicherAnswer("A [1].", [source], verified=(source,), best=source, by_doc={"doc": source})
    wire = json.loads(json.dumps(answer.to_dict()))
    assert dataclass_from(RicherAnswer, wire) == answer
    plain = Answer("A [1].", [Source(1, "text", "doc", "Title", 0, 4, 0.5)], "q", "q")
    newer = plain.to_dict() | {"from_a_newer_server": 1}
    newer["sources"][0]["span"] = [1, 3]
    assert answer_from_dict(newer) == plain  # a client older than the server drops what it does not know


# Finding the server -----------------------------------------------------------


def test_a_stale_address_file_is_ignored(tmp_path: Path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    publish(tmp_path, ServerAddress("http://127.0.0.1:9", dead.pid, "abc"))
    assert find_server(tmp_path) is None
    (tmp_path / "server.json").write_text("{not json", encoding="utf-8")
    assert find_server(tmp_path) is None


def test_an_address_whose_server_does_not_answer_as_itself_is_ignored(served, tmp_path: Path, caplog):
    url, _, _ = served()
    publish(tmp_path, ServerAddress(url, os.getppid(), "abc"))  # alive, but not the process serving that URL
    assert find_server(tmp_path) is None
    publish(tmp_path, ServerAddress(f"http://127.0.0.1:{_free_port()}", os.getpid(), "abc"))  # alive, not listening
    assert find_server(tmp_path) is None and "does not answer" in caplog.text
    publish(tmp_path, ServerAddress(url, os.getpid(), "abc"))
    assert find_server(tmp_path).url == url


def test_connect_without_a_url_finds_the_published_server(served, settings):
    url, _, _ = served(SISTER)
    with pytest.raises(ServerError, match="no running server is published"):
        Assistant.connect(settings=settings)
    publish(settings.data_dir, ServerAddress(url, os.getpid(), "abc"))
    assert "younger sister" in Assistant.connect(settings=settings).ask("Who's Kim Yo Jong?").text


# The CLI ---------------------------------------------------------------------


@pytest.fixture
def no_local_model(monkeypatch):
    """Make any in-process chat model fail, so an answer proves the server gave it."""

    def refuse(settings):
        raise AssertionError("the CLI loaded a model of its own")

    monkeypatch.setattr("assistant.assistant.make_chat_model", refuse)


def test_cli_ask_uses_the_running_server_with_the_same_output(served, settings, capsys, monkeypatch, no_local_model):
    url, _, recording = served(MET, MET, MET)
    publish(settings.data_dir, ServerAddress(url, os.getpid(), "abc"))
    data = ["--data-dir", str(settings.data_dir)]
    assert main(["ask", "Where did Trump and Kim meet?", *data]) == 0
    remote_text = capsys.readouterr().out
    assert main(["ask", "Where did Trump and Kim meet?", "--json", *data]) == 0
    remote_json = json.loads(capsys.readouterr().out)
    assert len(recording.questions) == 2

    # The same question answered in this process (--local; a store of its own on the same fake embedding)
    # prints the same.
    from fakes import HashingEmbeddings, StubVerifier

    monkeypatch.setattr("assistant.assistant.make_chat_model", lambda s: fake_llm(MET, MET))
    monkeypatch.setattr("assistant.assistant.make_embeddings", lambda *a: HashingEmbeddings())
    monkeypatch.setattr("assistant.assistant.MeaningVerifier", lambda *a, **k: StubVerifier())
    own = ["--data-dir", str(settings.data_dir.parent / "own")]
    assert main(["ask", "Where did Trump and Kim meet?", "--local", *own]) == 0
    assert capsys.readouterr().out == remote_text and remote_text.startswith(MET)
    assert main(["ask", "Where did Trump and Kim meet?", "--local", "--json", *own]) == 0
    assert json.loads(capsys.readouterr().out) == remote_json
    assert len(recording.questions) == 2


def test_cli_chat_through_the_server_keeps_the_history(served, settings, capsys, monkeypatch, no_local_model):
    url, _, recording = served(SISTER, SISTER)
    publish(settings.data_dir, ServerAddress(url, os.getpid(), "abc"))
    lines = iter(["Who's Kim Yo Jong?", "Whose sister is she?", "/exit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main(["chat", "--data-dir", str(settings.data_dir)]) == 0
    assert capsys.readouterr().out.count(SISTER) == 2
    (_, first), (_, second) = recording.questions
    assert first == [] and [m["role"] for m in second] == ["user", "assistant"]


def test_cli_settings_that_change_the_answer_answer_locally(served, settings, capsys, monkeypatch):
    from fakes import HashingEmbeddings, StubVerifier

    url, _, recording = served()
    publish(settings.data_dir, ServerAddress(url, os.getpid(), "abc"))
    monkeypatch.setattr("assistant.assistant.make_chat_model", lambda s: fake_llm(SISTER))
    monkeypatch.setattr("assistant.assistant.make_embeddings", lambda *a: HashingEmbeddings())
    monkeypatch.setattr("assistant.assistant.MeaningVerifier", lambda *a, **k: StubVerifier())
    flags = ["--k", "3", "--data-dir", str(settings.data_dir), "--collection", "other"]
    assert main(["ask", "Who's Kim Yo Jong?", *flags]) == 0
    assert "younger sister" in capsys.readouterr().out and recording.questions == []


def test_cli_ask_to_a_server_with_a_login(served, settings, capsys, monkeypatch, no_local_model):
    url, _, _ = served(SISTER, auth=("reader", "s3cret"))
    publish(settings.data_dir, ServerAddress(url, os.getpid(), "abc", auth=True))
    data = ["--data-dir", str(settings.data_dir)]
    assert main(["ask", "Who's Kim Yo Jong?", *data]) == 2
    err = capsys.readouterr().err
    assert "requires a login" in err and "ESSAY_ASSISTANT_AUTH" in err and "--local" in err
    monkeypatch.setenv("ESSAY_ASSISTANT_AUTH", "reader:wrong")
    assert main(["ask", "Who's Kim Yo Jong?", *data]) == 2
    assert "refused the login" in capsys.readouterr().err
    monkeypatch.setenv("ESSAY_ASSISTANT_AUTH", "reader:s3cret")
    assert main(["ask", "Who's Kim Yo Jong?", *data]) == 0
    assert "younger sister" in capsys.readouterr().out


_FAKE_CLI = (
    "import sys\n"
    "import assistant.assistant as module\n"
    "from fakes import HashingEmbeddings, StubVerifier, fake_llm\n"
    "module.make_embeddings = lambda *a: HashingEmbeddings()\n"
    "module.MeaningVerifier = lambda *a, **k: StubVerifier()\n"
    "def model(settings):\n"
    "    if '--fail-local' in sys.argv:\n"
    "        raise SystemExit('this process loaded a model')\n"
    f"    return fake_llm(*[{SISTER!r}] * 20)\n"
    "module.make_chat_model = model\n"
    "from assistant.cli import main\n"
    "sys.exit(main([a for a in sys.argv[1:] if a != '--fail-local']))\n"
)


def test_served_process_publishes_answers_cli_processes_and_cleans_up(tmp_path: Path):
    """Processes as a user runs them: serve, then ask in another process; `kill` removes the address file."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{TESTS.parent}:{TESTS}", "GRADIO_ANALYTICS_ENABLED": "False"}
    port, data = _free_port(), tmp_path / "data"
    server = subprocess.Popen(
        [sys.executable, "-c", _FAKE_CLI, "serve", "--port", str(port), "--data-dir", str(data)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert "is running at" in server.stdout.readline()
        published = json.loads((data / "server.json").read_text(encoding="utf-8"))
        assert published["pid"] == server.pid and published["url"] == f"http://127.0.0.1:{port}"
        asked = subprocess.run(
            [sys.executable, "-c", _FAKE_CLI, "ask", "Who's Kim Yo Jong?", "--fail-local", "--data-dir", str(data)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert asked.returncode == 0, asked.stderr
        assert asked.stdout.startswith(SISTER) and "Traceback" not in asked.stderr, asked.stderr
        assert "snapshot" not in asked.stderr, "the asking process opened the store itself"
        local = subprocess.run(  # --local answers from a snapshot: the server holds the store
            [sys.executable, "-c", _FAKE_CLI, "ask", "Who's Kim Yo Jong?", "--local", "--data-dir", str(data)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert local.returncode == 0 and local.stdout == asked.stdout, local.stderr
        assert "read-only snapshot" in local.stderr and "Traceback" not in local.stderr, local.stderr
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert server.returncode == 0 and not (data / "server.json").exists()
