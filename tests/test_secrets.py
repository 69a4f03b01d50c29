"""No secrets in errors, logs or the UI: API keys and credentials in URLs never appear."""

import logging

import httpx
import openai
import pytest
from fakes import HashingEmbeddings, StubVerifier, collect
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from assistant import Assistant, ModelError
from assistant.cli import main

KEY = "sk-test-secret-4b1d"
PASSWORD = "hunter2-pass"
BASE_URL = f"http://reader:{PASSWORD}@127.0.0.1:9/v1?api_key={KEY}"


class RefusingModel(GenericFakeChatModel):
    """A provider that rejects the key, and echoes it in its error as some providers do."""

    def _stream(self, *args, **kwargs):
        request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
        raise openai.AuthenticationError(
            f"Incorrect API key provided: {KEY}", response=httpx.Response(401, request=request), body=None
        )


class DownModel(GenericFakeChatModel):
    def _stream(self, *args, **kwargs):
        raise httpx.ConnectError("[Errno 111] Connection refused")


@pytest.fixture
def secret_settings(settings, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return settings.model_copy(update={"base_url": BASE_URL, "model": "openai:qwen"})


def _no_secrets(text: str) -> None:
    assert KEY not in text and PASSWORD not in text, text


@pytest.mark.parametrize(
    "model, expected",
    [
        (RefusingModel, "refused the request (AuthenticationError, HTTP 401)"),
        (DownModel, "did not answer (ConnectError)"),
    ],
)
def test_model_errors_name_the_server_but_no_credentials(secret_settings, embeddings, caplog, model, expected):
    bot = Assistant(secret_settings, llm=model(messages=iter([])), embeddings=embeddings, verifier=StubVerifier())
    with caplog.at_level(logging.DEBUG), pytest.raises(ModelError) as exc:
        bot.ask("Where have Trump and Kim held their meetings?")
    assert expected in str(exc.value) and "at http://127.0.0.1:9/v1 " in str(exc.value)
    _no_secrets(str(exc.value))
    _no_secrets(caplog.text)


def test_the_cli_and_the_ui_show_a_refused_key_without_it(
    secret_settings, embeddings, monkeypatch, capsys, caplog, tmp_path
):
    import assistant.assistant as module
    from assistant.ui.app import WarmUp, chat

    monkeypatch.setattr(module, "make_chat_model", lambda settings: RefusingModel(messages=iter([])))
    monkeypatch.setattr(module, "make_embeddings", lambda *args: HashingEmbeddings())
    monkeypatch.setattr(module, "MeaningVerifier", lambda *args, **kwargs: StubVerifier())
    monkeypatch.setenv("ESSAY_ASSISTANT_BASE_URL", BASE_URL)
    with caplog.at_level(logging.DEBUG):
        assert (
            main(["ask", "Whose sister is Kim Yo Jong?", "--model", "openai:qwen", "--data-dir", str(tmp_path / "cli")])
            == 2
        )
    # What to do about it, and the server without its login.
    err = capsys.readouterr().err
    assert "error: the model server at http://127.0.0.1:9/v1 refused the request" in err, err
    assert "API key" in err and "--model local" in err and "Traceback" not in err, err
    _no_secrets(err)

    bot = Assistant(
        secret_settings, llm=RefusingModel(messages=iter([])), embeddings=embeddings, verifier=StubVerifier()
    )
    bot.ensure_index()
    with caplog.at_level(logging.DEBUG):
        *_, (reply, _) = collect(chat(bot, "Whose sister is Kim Yo Jong?", [], bot.documents()[0]))
        warm = WarmUp(bot).start()
        assert warm.ready.wait(60), "the warm-up never finished"
    assert reply["content"].startswith("**Cannot answer.** The model is not available: the model server")
    assert "refused the request" in warm.status
    _no_secrets(reply["content"] + warm.status + caplog.text)
