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
    kwargs = {"temperature": settings.temperature, "max_tokens": settings.max_answer_tokens}
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    try:
        return init_chat_model(name, **kwargs)
    except (ImportError, ValueError) as exc:
        raise ModelError(f"cannot load model {name!r}: {exc}") from None
