"""Keep llama.cpp's KV cache for a fixed prompt prefix on disk.

With the whole essay in the system prompt, every question starts with the
same ~2,000 tokens. llama.cpp reuses them within a process, but a new
process had to read them again: 34 s on 2 cores, most of the cold start.
The KV state of that prefix is saved with llama.cpp's own state-file API
and loaded by later processes in well under a second.

A state file is keyed by the model file, the context size, the
llama-cpp-python version and the exact prefix tokens, so a changed
essay, prompt or model never loads a stale state. A file that fails to
load (truncated, garbage) is deleted and the prefix is read again.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KEEP_FILES = 4  # newest prefixes kept, e.g. the bundled essay and a few of the user's


def prefix_tokens(llama: Any, messages: list[dict]) -> list[int]:
    """The tokens every prompt that starts with ``messages`` shares, whatever user turn follows."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"],
        eos_token=llama._model.token_get_text(llama.token_eos()),
        bos_token=llama._model.token_get_text(llama.token_bos()),
    )
    rendered = []
    for probe in ("a", "b"):
        response = formatter(messages=[*messages, {"role": "user", "content": probe}])
        rendered.append(llama.tokenize(response.prompt.encode(), add_bos=not response.added_special, special=True))
    shared = 0
    for a, b in zip(*rendered):
        if a != b:
            break
        shared += 1
    return rendered[0][:shared]


def state_path(directory: Path, model_path: str, n_ctx: int, tokens: list[int]) -> Path:
    import llama_cpp

    stat = os.stat(model_path)
    key = hashlib.sha256(
        f"{Path(model_path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{n_ctx}|{llama_cpp.__version__}|".encode()
        + bytes((ctypes.c_int32 * len(tokens))(*tokens))
    ).hexdigest()[:32]
    return directory / f"{key}.kv"


def restore_or_save(llama: Any, tokens: list[int], path: Path) -> str:
    """Make the KV cache start with ``tokens``; returns where they came from: memory, disk or computed."""
    n = len(tokens)
    if llama.n_tokens >= n and llama.input_ids[:n].tolist() == tokens:
        return "memory"
    if path.exists():
        if _load(llama, path, tokens):
            os.utime(path)  # recently used: kept when older prefixes are pruned
            return "disk"
        log.warning("prompt cache %s could not be loaded; reading the prompt again", path)
        path.unlink(missing_ok=True)
    llama.reset()
    llama.eval(tokens)
    _save(llama, path, tokens)
    return "computed"


def _load(llama: Any, path: Path, tokens: list[int]) -> bool:
    import llama_cpp

    capacity = llama.n_ctx()
    loaded = (llama_cpp.llama_token * capacity)()
    count = ctypes.c_size_t(0)
    ok = llama_cpp.llama_state_load_file(llama._ctx.ctx, str(path).encode(), loaded, capacity, ctypes.byref(count))
    if not ok or list(loaded[: count.value]) != tokens:
        llama.reset()
        llama._ctx.kv_cache_clear()
        return False
    llama.input_ids[: len(tokens)] = tokens
    llama.n_tokens = len(tokens)
    llama._requires_eval = True  # the restored logits are not a live decode; llama-cpp-python replays one token
    return True


def _save(llama: Any, path: Path, tokens: list[int]) -> None:
    import llama_cpp

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    array = (llama_cpp.llama_token * len(tokens))(*tokens)
    if llama_cpp.llama_state_save_file(llama._ctx.ctx, str(partial).encode(), array, len(tokens)):
        os.replace(partial, path)  # a crash mid-write never leaves a half file under the real name
        log.info("saved the prompt cache for %d tokens to %s", len(tokens), path)
    else:
        partial.unlink(missing_ok=True)
        log.warning("could not save the prompt cache to %s", path)
    for old in sorted(path.parent.glob("*.kv"), key=lambda p: p.stat().st_mtime, reverse=True)[KEEP_FILES:]:
        old.unlink(missing_ok=True)
