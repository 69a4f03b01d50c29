"""Choose the chat model named in the settings."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from langchain_core.language_models import BaseChatModel

from ._llamacpp import LlamaCppChatModel
from ._model_file import ensure_model_file
from ._settings import LOCAL_MODEL, Settings


class ModelError(RuntimeError):
    """The configured model cannot be used; the message says how to fix it."""


_UNREACHABLE = ("APIConnectionError", "APITimeoutError", "ConnectError", "ConnectTimeout", "ReadTimeout",
                "TimeoutException", "ConnectionError", "TimeoutError")


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
    return ModelError(
        f"the model server{_where(settings)} did not answer ({type(exc).__name__}) after {settings.max_retries} retries "
        f"and a {settings.request_timeout:g} s timeout. Check that it is running and reachable, or use --model local."
    )


def describe_refused(settings: Settings, exc: BaseException) -> ModelError:
    """Only the error's type and status: provider messages can echo the API key or the prompt."""
    status = getattr(exc, "status_code", None)
    return ModelError(
        f"the model server{_where(settings)} refused the request ({type(exc).__name__}"
        f"{f', HTTP {status}' if status else ''}). Check the provider's API key variable and the model name, "
        "or use --model local."
    )


def make_chat_model(settings: Settings) -> BaseChatModel:
    name = settings.model
    if name == LOCAL_MODEL or name.endswith(".gguf"):
        path = ensure_model_file(settings.cache_dir) if name == LOCAL_MODEL else Path(name).expanduser()
        if not path.is_file():
            raise ModelError(f"model file {path} does not exist; set ESSAY_ASSISTANT_MODEL to a .gguf file or 'local'")
        return LlamaCppChatModel(
            model_path=str(path),
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads or os.cpu_count(),
            temperature=settings.temperature,
            max_tokens=settings.max_answer_tokens,
            prompt_cache_dir=str(settings.cache_dir / "prompt-cache"),
        )
    if ":" not in name:
        raise ModelError(f"model {name!r} is not 'local', a .gguf path, or 'provider:model' (e.g. 'openai:gpt-4o-mini')")
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        provider = name.split(":", 1)[0]
        raise ModelError(
            f"provider models need LangChain's integrations: pip install 'essay-assistant[{provider}]'"
        ) from None
    provider = name.split(":", 1)[0]
    kwargs: dict = {"temperature": settings.temperature, "max_tokens": settings.max_answer_tokens}
    if provider == "ollama":
        kwargs = {"temperature": settings.temperature, "num_predict": settings.max_answer_tokens,
                  "client_kwargs": {"timeout": settings.request_timeout}}
    else:  # OpenAI-compatible servers and hosted APIs: the client retries with exponential backoff
        kwargs |= {"timeout": settings.request_timeout, "max_retries": settings.max_retries}
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    try:
        return init_chat_model(name, **kwargs)
    except (ImportError, ValueError) as exc:
        raise ModelError(f"cannot load model {name!r}: {exc}") from None
