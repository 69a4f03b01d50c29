"""A LangChain chat model around an in-process llama.cpp model.

The community ``ChatLlamaCpp`` lives in ``langchain-community``, which is
being sunset; this adapter is the small part we need: streaming chat
completions through the GGUF file's own chat template. One ``Llama`` is
shared per process and model file, because each holds the weights and a
KV cache, and llama.cpp reuses that cache for a repeated prompt prefix.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from ._prompt_cache import prefix_tokens, restore_or_save, state_path

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}
_instances: dict[tuple, tuple[Any, threading.Lock]] = {}
_instances_lock = threading.Lock()


def _shared_llama(model_path: str, n_ctx: int, n_threads: int | None) -> tuple[Any, threading.Lock]:
    key = (model_path, n_ctx, n_threads)
    with _instances_lock:
        if key not in _instances:
            from llama_cpp import Llama

            llama = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, n_batch=512, verbose=False)
            _instances[key] = (llama, threading.Lock())
        return _instances[key]


@atexit.register
def _close_all() -> None:
    """Free the models while the interpreter is intact; at teardown llama.cpp's bindings are already gone."""
    with _instances_lock:
        for llama, _ in _instances.values():
            llama.close()
        _instances.clear()


def _payload(messages: list[BaseMessage]) -> list[dict]:
    return [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]


class LlamaCppChatModel(BaseChatModel):
    model_path: str
    n_ctx: int = 4096
    n_threads: int | None = None
    temperature: float = 0.0
    max_tokens: int = 320
    stop: list[str] = Field(default_factory=list)
    prompt_cache_dir: str | None = None  # where cache_prefix keeps KV states; None keeps them in memory only
    _prefixes: dict[tuple, list[int]] = PrivateAttr(default_factory=dict)  # the last prefix's tokens

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "temperature": self.temperature, "max_tokens": self.max_tokens}

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        llama, lock = _shared_llama(self.model_path, self.n_ctx, self.n_threads)
        payload = _payload(messages)
        # The lock makes concurrent callers take turns: one llama.cpp context is not thread-safe.
        # Closing this generator early (a stop button) releases it and ends the generation.
        with lock:
            for event in llama.create_chat_completion(
                messages=payload,
                stream=True,
                temperature=kwargs.get("temperature", self.temperature),
                max_tokens=kwargs.get("max_tokens", self.max_tokens),
                stop=(stop or []) + self.stop or None,
            ):
                delta = event["choices"][0]["delta"].get("content")
                if delta:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                    if run_manager:
                        run_manager.on_llm_new_token(delta, chunk=chunk)
                    yield chunk

    def cache_prefix(self, messages: list[BaseMessage]) -> str:
        """Load the KV state of these leading messages from disk, or read them once and save it.

        Call it with a prompt prefix that many questions share (the whole essay
        as system prompt); later processes then skip reading it. Returns where
        the prefix came from: memory, disk, computed, or disabled without a directory.
        """
        if not self.prompt_cache_dir:
            return "disabled"
        llama, lock = _shared_llama(self.model_path, self.n_ctx, self.n_threads)
        payload = _payload(messages)
        key = tuple((m["role"], m["content"]) for m in payload)
        with lock:
            if key not in self._prefixes:  # rendering and tokenizing the essay costs milliseconds per question
                self._prefixes = {key: prefix_tokens(llama, payload)}
            tokens = self._prefixes[key]
            path = state_path(Path(self.prompt_cache_dir), self.model_path, self.n_ctx, tokens)
            return restore_or_save(llama, tokens, path)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(c.message.text for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])
