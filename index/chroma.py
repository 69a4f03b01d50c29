"""Open the Chroma store: the client, the embedded store's lock, and recovery from a corrupt directory.

Kept apart from ``store``, which is the generation logic on an open collection.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import chromadb
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError
from filelock import FileLock, Timeout
from langchain_core.embeddings import Embeddings

from assistant.index.store import ChunkStore, StoreError, StoreInUse

log = logging.getLogger(__name__)
_LOCK_NAME = ".essay-assistant.lock"
_HOLDER_NAME = ".essay-assistant.pid"  # beside the lock: filelock truncates the lock file on every attempt
_CORRUPT = (ChromaError, sqlite3.DatabaseError)  # what Chroma raises on garbage or truncated files
_held_locks: dict[Path, FileLock] = {}  # store directory -> its lock, held for this process's lifetime


@dataclass(frozen=True)
class Location:
    """Where the store lives: a Chroma server when ``host`` is set, else the embedded directory ``path``."""

    collection: str
    path: Path
    host: str | None = None
    port: int = 8000


def make_client(location: Location) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if location.host:
        return chromadb.HttpClient(host=location.host, port=location.port, settings=chroma_settings)
    path = location.path.resolve()
    if not path.is_dir():
        forget_client(path)  # it vanished (deleted by hand?): a cached client would keep serving the deleted files
        path.mkdir(parents=True)
    _lock_store(path)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def open_store(
    location: Location, embeddings: Embeddings, embedding_name: str, *, snapshot_if_held: bool = False
) -> ChunkStore:
    """Open the configured store; an embedded store that is corrupt is moved aside and started afresh.

    The corrupt directory is kept (renamed), never deleted, so nothing is
    lost. Only one fresh start is tried: if that fails too the error is
    raised, so a broken disk cannot turn into a crash loop. With
    ``snapshot_if_held``, an embedded store held by another process is
    opened as a read-only snapshot (see ``snapshot``) instead of failing.
    """
    try:
        return _open_checked(location, embeddings, embedding_name)
    except StoreInUse as busy:
        if not snapshot_if_held:
            raise
        from assistant.index.snapshot import open_snapshot

        return open_snapshot(busy, location.collection, embeddings, embedding_name)
    except _CORRUPT as exc:
        if location.host:
            raise StoreError(f"the Chroma server at {location.host}:{location.port} failed: {exc}") from None
        path = location.path.resolve()
        moved = _move_aside(path)
        log.error(
            "the index at %s is unreadable (%s: %s). Moved it to %s and starting a new index; "
            "run essay-assistant index again for any files of your own",
            path,
            type(exc).__name__,
            exc,
            moved,
        )
    try:
        return _open_checked(location, embeddings, embedding_name)
    except _CORRUPT as exc:
        raise StoreError(
            f"cannot create a new index at {path} either ({type(exc).__name__}: {exc}); check the disk"
        ) from None


def _open_checked(location: Location, embeddings: Embeddings, embedding_name: str) -> ChunkStore:
    store = ChunkStore(make_client(location), location.collection, embeddings, embedding_name)
    store.check()
    return store


def forget_client(path: Path) -> None:
    """Drop this process's handles on a store directory: Chroma caches one client per path, broken or not."""
    SharedSystemClient._identifier_to_system.pop(str(path), None)
    lock = _held_locks.pop(path, None)
    if lock is not None:
        lock.release(force=True)


def _move_aside(path: Path) -> Path:
    forget_client(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():  # a second failure within the same second
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, target)
    return target


def _lock_store(path: Path) -> None:
    """Claim the embedded store for this process.

    Embedded Chroma is single-process: a second process on the same
    directory can hang or corrupt it. Fail at once with the way out instead.
    """
    if path in _held_locks:
        return
    lock = FileLock(path / _LOCK_NAME, timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        try:
            holder = (path / _HOLDER_NAME).read_text(errors="replace").strip()[:32] or "another process"
        except OSError:
            holder = "another process"
        raise StoreInUse(
            f"the embedded store {path} is in use by process {holder}. Embedded Chroma serves one process; "
            f"stop that process, or run a Chroma server (chroma run --path {path} --host 127.0.0.1 --port 8000) "
            "and set ESSAY_ASSISTANT_CHROMA_HOST=127.0.0.1 for every process",
            path,
            holder,
        ) from None
    (path / _HOLDER_NAME).write_text(str(os.getpid()))
    _held_locks[path] = lock
