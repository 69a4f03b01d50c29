"""Name and prune the saved KV states of a prompt prefix.

With the whole essay in the system prompt, every question starts with the
same prefix (docs/benchmarks.md has its size). Reading it costs most of a cold start. llama.cpp's
server saves a slot's KV state to a file (``/slots/N?action=save``) and
restores it into any slot (``action=restore``); ``_engine`` does that, and
this module decides the file names.

A file is keyed by the model file (path, size, modification time), the
per-slot context size, the number of slots, the xllamacpp version and the exact prefix
messages, so a changed essay, prompt or model never restores a stale state.
llama.cpp refuses a truncated or foreign file; the engine then deletes it
and reads the prefix again.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

KEEP_FILES = 4  # newest prefixes kept, e.g. the bundled essay and a few of the user's
SUFFIX = ".slot"


def _engine_version() -> str:
    try:
        return metadata.version("xllamacpp")
    except metadata.PackageNotFoundError:
        return "unknown"


def prefix_key(model_path: str, n_ctx: int, slots: int, messages: list[dict]) -> str:
    stat = os.stat(model_path)
    # The slot count is part of the key: llama.cpp refused to restore a slot saved by a server with another count.
    identity = f"{Path(model_path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{n_ctx}|{slots}|{_engine_version()}|"
    return hashlib.sha256(identity.encode() + json.dumps(messages, sort_keys=True).encode()).hexdigest()[:32]


def file_name(key: str) -> str:
    return key + SUFFIX


def prune(directory: Path, keep: int = KEEP_FILES) -> None:
    """Delete all but the ``keep`` most recently used prefix files."""
    files = sorted(directory.glob("*" + SUFFIX), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        old.unlink(missing_ok=True)
