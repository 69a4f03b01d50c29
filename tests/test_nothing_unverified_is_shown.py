"""The page's promise: a sentence the essay does not support never reaches a reader, on any channel, not even
mid-stream."""

import itertools
import socket

import pytest
from fakes import HashingEmbeddings, StubVerifier, collect
from gradio_client import Client
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant import Assistant
from assistant.cli import main
from assistant.ui.app import chat, serve

REPLY = "The capital of France is Paris. They met in Singapore, Hanoi, and in the Demilitarized Zone."
QUESTION = "What is the capital of France, and where have Trump and Kim held their meetings?"
SUPPORTED = "They met in Singapore, Hanoi, and in the Demilitarized Zone"


def model():
    """Streams REPLY word by word, for every call (the UI's warm-up asks first)."""
    return GenericFakeChatModel(messages=itertools.repeat(AIMessage(REPLY)))


@pytest.fixture
def bot(settings):
    # The verifier's judgement is tested on its own (test_verification); here, that its "drop" holds everywhere.
    assistant = Assistant(settings, llm=model(), embeddings=HashingEmbeddings(), verifier=StubVerifier(drop=["Paris"]))
    assistant.ensure_index()
    return assistant


def test_the_python_api(bot):
    deltas = [e for e in bot.stream(QUESTION) if isinstance(e, str)]
    assert deltas and not any("Paris" in d for d in deltas)
    assert "".join(deltas).startswith(SUPPORTED)


def test_the_cli(monkeypatch, tmp_path, capsys):
    import assistant.assistant as module

    monkeypatch.setattr(module, "make_chat_model", lambda settings: model())
    monkeypatch.setattr(module, "make_embeddings", lambda *args: HashingEmbeddings())
    monkeypatch.setattr(module, "MeaningVerifier", lambda *args, **kwargs: StubVerifier(drop=["Paris"]))
    writes = []
    monkeypatch.setattr("sys.stdout.write", lambda text: writes.append(text) or len(text), raising=False)
    assert main(["ask", QUESTION, "--data-dir", str(tmp_path)]) == 0
    printed = "".join(writes) + capsys.readouterr().out
    assert "Paris" not in printed and printed.startswith(SUPPORTED)


def test_the_ui_stream(bot):
    outputs = collect(chat(bot, QUESTION, [], bot.documents()[0]))
    shown = [str(messages) for messages, _ in outputs]
    assert not any("Paris" in s for s in shown)
    assert SUPPORTED in shown[-1]


def test_gradio_client_streaming(bot):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = serve(bot, "127.0.0.1", port, None, block=False)
    try:
        job = Client(f"http://127.0.0.1:{port}/", verbose=False).submit(message=QUESTION, api_name="/chat")
        updates = [str(update) for update in job]
        final = str(job.result())
    finally:
        app.close()
    assert updates and not any("Paris" in u for u in updates) and "Paris" not in final
    assert SUPPORTED in final
