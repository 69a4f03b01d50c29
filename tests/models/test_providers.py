"""Provider models and embeddings by configuration, and what happens when a remote model is down."""

import json

import httpx
import pytest
from fakes import HashingEmbeddings, StubVerifier, collect
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from assistant import Assistant, ModelError, StoreError
from assistant.index.embeddings import make_embeddings
from assistant.models.chat import make_chat_model, unreachable


class DownModel(GenericFakeChatModel):
    """A remote chat model whose server refuses connections."""

    def _stream(self, *args, **kwargs):
        raise httpx.ConnectError("[Errno 111] Connection refused")


def test_a_down_model_gives_a_clear_error_without_secrets(settings, embeddings, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    settings = settings.model_copy(update={"base_url": "http://127.0.0.1:9/v1", "model": "openai:qwen"})
    bot = Assistant(settings, llm=DownModel(messages=iter([])), embeddings=embeddings, verifier=StubVerifier())
    with pytest.raises(ModelError) as exc:
        bot.ask("Where have Trump and Kim held their meetings?")
    message = str(exc.value)
    assert "http://127.0.0.1:9/v1 did not answer (ConnectError)" in message and "retries" in message
    assert "sk-test-secret-123" not in message


def test_the_ui_shows_a_down_model_as_a_message(settings, embeddings):
    from assistant.ui.app import chat

    remote = settings.model_copy(update={"base_url": "http://127.0.0.1:9/v1", "model": "openai:qwen"})
    bot = Assistant(remote, llm=DownModel(messages=iter([])), embeddings=embeddings, verifier=StubVerifier())
    bot.ensure_index()
    *_, (reply, _) = collect(chat(bot, "Whose sister is Kim Yo Jong?", [], bot.documents()[0]))
    assert (
        reply["content"].startswith("**Cannot answer.** The model is not available:")
        and "did not answer" in reply["content"]
    )


def test_a_local_engine_that_stops_or_refuses_gets_its_own_message(settings, embeddings):
    """The embedded server has no URL, key or retries to check: the message says what to do instead."""
    bot = Assistant(settings, llm=DownModel(messages=iter([])), embeddings=embeddings, verifier=StubVerifier())
    with pytest.raises(ModelError, match="the local model stopped answering \\(ConnectError\\)"):
        bot.ask("Where have Trump and Kim held their meetings?")

    class Refused(Exception):
        status_code = 400

    Refused.__name__ = "APIStatusError"
    from assistant.models.chat import describe_refused

    assert "local model refused the request (APIStatusError, HTTP 400)" in str(describe_refused(settings, Refused()))


@pytest.mark.parametrize("name", ["APIConnectionError", "APITimeoutError", "ReadTimeout", "ConnectError"])
def test_unreachable_recognises_client_errors_by_type(name):
    assert unreachable(type(name, (Exception,), {})())
    assert not unreachable(ValueError("bad request"))


def test_provider_models_get_the_configured_timeouts_retries_and_sampling(settings, monkeypatch):
    seen = {}

    def fake_init(name, **kwargs):
        seen.update(name=name, **kwargs)
        return GenericFakeChatModel(messages=iter([]))

    monkeypatch.setattr("langchain.chat_models.init_chat_model", fake_init)
    configured = {
        "base_url": "http://127.0.0.1:8080/v1",
        "request_timeout": 5.0,
        "max_retries": 1,
        "temperature": 0.3,
        "max_answer_tokens": 111,
    }
    make_chat_model(settings.model_copy(update={"model": "openai:qwen"} | configured))
    assert seen["name"] == "openai:qwen" and seen["base_url"] == "http://127.0.0.1:8080/v1"
    assert (seen["timeout"], seen["max_retries"], seen["temperature"], seen["max_tokens"]) == (5.0, 1, 0.3, 111)


def test_provider_embeddings_through_init_embeddings(settings, monkeypatch):
    seen = {}

    def fake_init(name, **kwargs):
        seen.update(name=name, **kwargs)
        return HashingEmbeddings()

    monkeypatch.setattr("langchain.embeddings.init_embeddings", fake_init)
    assert isinstance(make_embeddings("ollama:nomic-embed-text", "http://127.0.0.1:11434"), HashingEmbeddings)
    assert seen == {"name": "ollama:nomic-embed-text", "base_url": "http://127.0.0.1:11434"}
    with pytest.raises(ValueError, match="unknown embedding"):
        make_embeddings("nonsense")


def test_changing_the_embedding_setting_never_mixes_vectors(settings, monkeypatch):
    import assistant.assistant as module

    monkeypatch.setattr(module, "make_embeddings", lambda *args: HashingEmbeddings())
    Assistant(settings).index(progress=False)  # recorded as "minilm" (the setting)
    with pytest.raises(StoreError, match="holds vectors from embedding 'minilm', not 'openai:text-embedding-3-small'"):
        Assistant(settings.model_copy(update={"embedding": "openai:text-embedding-3-small"}))
    other = settings.model_copy(update={"embedding": "openai:text-embedding-3-small", "collection": "essays-openai"})
    assert Assistant(other).chunk_count == 0  # a separate collection per embedding is fine


def _pointing_request(llm_class) -> dict:
    """The body a pointing request sends, to a mock OpenAI-compatible server that names sentence 4."""
    from langchain_core.prompts import ChatPromptTemplate
    from pydantic import SecretStr

    from assistant.models.chat import pointer_model

    sent = {}

    def handler(request: httpx.Request) -> httpx.Response:
        sent.update(json.loads(request.content))
        message = {"role": "assistant", "content": '{"sentences": [4]}'}
        return httpx.Response(
            200,
            json={
                "id": "1",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            },
        )

    llm = llm_class(
        model="m",
        base_url="http://127.0.0.1:1/v1",
        api_key=SecretStr("k"),
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    prompt = ChatPromptTemplate.from_messages([("human", "Which sentence says where the ferry docks?")])
    reply = pointer_model(llm).invoke(prompt.invoke({}))
    assert json.loads(reply.text) == {"sentences": [4]}
    return sent


def test_the_local_model_reads_the_pointing_replys_opening_instead_of_decoding_it():
    from assistant.models.chat import LocalChatModel

    sent = _pointing_request(LocalChatModel)
    assert sent["messages"][-1] == {"role": "assistant", "content": '{"sentences": ['}
    assert sent["grammar"].startswith("root ::= [0-9]+"), "the grammar decodes the numbers only"


def test_another_openai_compatible_model_gets_the_json_schema_and_no_opening():
    from langchain_openai import ChatOpenAI

    sent = _pointing_request(ChatOpenAI)
    assert sent["messages"][-1]["role"] == "user"
    assert sent["response_format"]["type"] == "json_schema" and "grammar" not in sent
