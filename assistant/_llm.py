"""Choose the chat model named in the settings."""

from __future__ import annotations

import os
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from ._llamacpp import LlamaCppChatModel
from ._model_file import ensure_model_file
from ._settings import LOCAL_MODEL, Settings


class ModelError(RuntimeError):
    """The configured model cannot be used; the message says how to fix it."""


_UNREACHABLE = ("APIConnectionError", "APITimeoutError", "ConnectError", "ConnectTimeout", "ReadTimeout",
                "TimeoutException", "ConnectionError", "TimeoutError")


def unreachable(exc: BaseException) -> bool:
    """A remote model that is down or too slow, whichever client library reports it."""
    return any(cls.__name__ in _UNREACHABLE for cls in type(exc).__mro__)


def describe_unreachable(settings: Settings, exc: BaseException) -> ModelError:
    where = f" at {settings.base_url}" if settings.base_url else ""
    return ModelError(
        f"the model server{where} did not answer ({type(exc).__name__}) after {settings.max_retries} retries "
        f"and a {settings.request_timeout:g} s timeout. Check that it is running and reachable, or use --model local."
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
