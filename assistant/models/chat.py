"""Choose the chat model named in the settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr, SecretStr

from assistant.errors import ModelError
from assistant.models.engine import EngineConfig, EngineError, LocalEngine, shared_engine
from assistant.models.model_file import ensure_model_file
from assistant.settings import LOCAL_MODEL, Settings

_UNREACHABLE = (
    "APIConnectionError",
    "APITimeoutError",
    "ConnectError",
    "ConnectTimeout",
    "ReadTimeout",
    "TimeoutException",
    "ConnectionError",
    "TimeoutError",
)


_REFUSED = ("AuthenticationError", "PermissionDeniedError", "APIStatusError")


def unreachable(exc: BaseException) -> bool:
    """A remote model that is down or too slow, whichever client library reports it."""
    return any(cls.__name__ in _UNREACHABLE for cls in type(exc).__mro__)


def refused(exc: BaseException) -> bool:
    """A remote model that answered with an error status: a bad key, an unknown model, a quota."""
    return any(cls.__name__ in _REFUSED for cls in type(exc).__mro__)


def public_url(url: str) -> str:
    """The URL without a user, password or query string, which may hold credentials."""
    parts = urlsplit(url)
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _where(settings: Settings) -> str:
    return f" at {public_url(settings.base_url)}" if settings.base_url else ""


def describe_unreachable(settings: Settings, exc: BaseException) -> ModelError:
    if is_local(settings):
        return ModelError(
            f"the local model stopped answering ({type(exc).__name__}). Restart essay-assistant; "
            "if it happens again, lower ESSAY_ASSISTANT_SLOTS or ESSAY_ASSISTANT_N_CTX."
        )
    return ModelError(
        f"the model server{_where(settings)} did not answer ({type(exc).__name__}) "
        f"after {settings.max_retries} retries and a {settings.request_timeout:g} s timeout. "
        "Check that it is running and reachable, or use --model local."
    )


def describe_refused(settings: Settings, exc: BaseException) -> ModelError:
    """Only the error's type and status: provider messages can echo the API key or the prompt."""
    status = getattr(exc, "status_code", None)
    if is_local(settings):
        return ModelError(
            f"the local model refused the request ({type(exc).__name__}{f', HTTP {status}' if status else ''}), "
            "e.g. a prompt longer than N_CTX tokens. Shorten the question or the history."
        )
    return ModelError(
        f"the model server{_where(settings)} refused the request ({type(exc).__name__}"
        f"{f', HTTP {status}' if status else ''}). Check the provider's API key variable and the model name, "
        "or use --model local."
    )


def is_local(settings: Settings) -> bool:
    return settings.model == LOCAL_MODEL or settings.model.endswith(".gguf")


OPENAI_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


@runtime_checkable
class KeepsPrefix(Protocol):
    """A chat model that can keep a prompt prefix's KV state, so a repeated essay prompt is not read again."""

    def cache_prefix(self, messages: list[BaseMessage]) -> str: ...


class LocalChatModel(ChatOpenAI):
    """``ChatOpenAI`` on the embedded llama.cpp server, plus the hook that shares the essay prefix across its slots.

    Generation is ChatOpenAI's own code, the same as for any OpenAI-compatible server.
    """

    _engine: LocalEngine = PrivateAttr()

    def get_num_tokens(self, text: str) -> int:
        return self._engine.count_tokens(text)

    def cache_prefix(self, messages: list[BaseMessage]) -> str:
        """Load these leading messages' KV state into every slot; returns memory, disk or computed."""
        return self._engine.cache_prefix(
            [{"role": OPENAI_ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        )


def count_tokens(llm: object, text: str) -> int:
    """The bundled model's own count; for any other, a conservative 3 characters a token (their tokenizers are
    a download away, and this only decides what fits the context)."""
    if isinstance(llm, LocalChatModel):
        return llm.get_num_tokens(text)
    return -(-len(text) // 3)


_MOST_NUMBERS = 3  # sentence numbers the model may name when it points (the verifier keeps fewer)
_POINTER_SCHEMA = {
    "type": "object",
    "properties": {
        "sentences": {"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": _MOST_NUMBERS}
    },
    "required": ["sentences"],
}
# The local model's reply opens with the schema's fixed part, given as the start of its own message: llama.cpp
# reads it with the prompt, in one batch, instead of forcing it through the grammar a decode step per token
# (pointing took 2.8 s, not 3.2 s, on two cores). The grammar then allows only the numbers and the closing brackets.
_POINTER_OPENING = '{"sentences": ['
_POINTER_GRAMMAR = 'root ::= [0-9]+ (", " [0-9]+){0,' + str(_MOST_NUMBERS - 1) + '} "]}"'


def _opened(prompt: PromptValue) -> list[BaseMessage]:
    return [*prompt.to_messages(), AIMessage(_POINTER_OPENING)]


def pointer_model(llm: BaseChatModel) -> Runnable:
    """The model bound to reply ``{"sentences": [...]}``: for the local model a grammar after the reply's opening,
    for other OpenAI-compatible APIs the JSON schema, else the prompt alone; a few tokens either way."""
    if isinstance(llm, LocalChatModel):
        bound = llm.bind(extra_body={"grammar": _POINTER_GRAMMAR}, max_tokens=40)
        return RunnableLambda(_opened) | bound  # llama.cpp's reply holds the opening too
    if isinstance(llm, ChatOpenAI):
        schema = {"name": "sentences", "schema": _POINTER_SCHEMA}
        return llm.bind(response_format={"type": "json_schema", "json_schema": schema}, max_tokens=40)
    return llm


def openai_compatible_kwargs(settings: Settings) -> dict[str, Any]:
    """What every OpenAI-compatible chat model gets, local or remote: the client retries with exponential backoff."""
    return {
        "temperature": settings.temperature,
        "max_tokens": settings.max_answer_tokens,
        "timeout": settings.request_timeout,
        "max_retries": settings.max_retries,
    }


def local_chat_model(settings: Settings) -> LocalChatModel:
    name = settings.model
    path = ensure_model_file(settings.cache_dir) if name == LOCAL_MODEL else Path(name).expanduser()
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist; set ESSAY_ASSISTANT_MODEL to a .gguf file or 'local'")
    cores = os.cpu_count() or 1
    config = EngineConfig(
        model_path=str(path),
        n_ctx=settings.n_ctx,
        slots=settings.slots,
        n_threads=settings.n_threads or cores,
        n_threads_batch=settings.n_threads_batch or cores,
        slot_dir=str(settings.cache_dir / "prompt-cache"),
    )
    try:
        engine = shared_engine(config)
    except EngineError as exc:
        raise ModelError(f"{exc}. Check the file, or free memory (each slot holds N_CTX tokens).") from None
    kwargs = openai_compatible_kwargs(settings) | {
        # A queued request waits for a free slot, and a cold slot reads the essay: no client timeout or
        # retry makes sense against a server in this process.
        "timeout": None,
        "max_retries": 0,
    }
    model = LocalChatModel(model=path.stem, base_url=engine.base_url, api_key=SecretStr(engine.api_key), **kwargs)
    model._engine = engine
    return model


def make_chat_model(settings: Settings) -> BaseChatModel:
    name = settings.model
    if is_local(settings):
        return local_chat_model(settings)
    if ":" not in name:
        raise ModelError(
            f"model {name!r} is not 'local', a .gguf path, or 'provider:model' (e.g. 'openai:gpt-4o-mini')"
        )
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        provider = name.split(":", 1)[0]
        raise ModelError(
            f"provider models need LangChain's integrations: pip install 'essay-assistant[{provider}]'"
        ) from None
    provider = name.split(":", 1)[0]
    if provider == "ollama":
        kwargs: dict = {
            "temperature": settings.temperature,
            "num_predict": settings.max_answer_tokens,
            "client_kwargs": {"timeout": settings.request_timeout},
        }
    else:  # OpenAI-compatible servers (llama-server, vLLM) and hosted APIs: the same client as the local model
        kwargs = openai_compatible_kwargs(settings)
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    try:
        return init_chat_model(name, **kwargs)
    except (ImportError, ValueError) as exc:
        raise ModelError(f"cannot load model {name!r}: {exc}") from None
