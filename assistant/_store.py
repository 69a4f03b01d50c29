"""The Chroma collection that holds the chunks, embedded or on a server.

Vectors are computed by our own embedding and passed in explicitly:
Chroma's default embedding would try to download a model.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_core.embeddings import Embeddings

from ._chunking import Chunk
from ._documents import Document
from ._settings import Settings

log = logging.getLogger(__name__)
_EMBEDDING_KEY = "embedding"
_LOCK_NAME = ".essay-assistant.lock"
_held_locks: dict[Path, int] = {}  # store directory -> open lock file descriptor, for this process's lifetime


class StoreError(RuntimeError):
    """The vector store cannot be used as configured; the message says how to fix it."""


@dataclass(frozen=True)
class StoredChunk:
    id: str
    doc_id: str
    text: str
    start: int
    end: int
    metadata: dict


@dataclass(frozen=True)
class SyncResult:
    doc_id: str
    added: int
    removed: int
    unchanged: int


def make_client(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    path = settings.resolved_chroma_path
    path.mkdir(parents=True, exist_ok=True)
    _lock_store(path.resolve())
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def _lock_store(path: Path) -> None:
    """Claim the embedded store for this process.

    Embedded Chroma is single-process: a second process on the same
    directory can hang or corrupt it. Fail at once with the way out instead.
    """
    if path in _held_locks:
        return
    fd = os.open(path / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise StoreError(
            f"the embedded store {path} is in use by process {holder}. Embedded Chroma serves one process; "
            f"stop that process, or run a Chroma server (chroma run --path {path} --host 127.0.0.1 --port 8000) "
            "and set ESSAY_ASSISTANT_CHROMA_HOST=127.0.0.1 for every process"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _held_locks[path] = fd


class ChunkStore:
    def __init__(self, client: chromadb.ClientAPI, name: str, embeddings: Embeddings, embedding_name: str) -> None:
        self._embeddings = embeddings
        self._collection = client.get_or_create_collection(
            name,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={_EMBEDDING_KEY: embedding_name},
            embedding_function=None,
        )
        recorded = (self._collection.metadata or {}).get(_EMBEDDING_KEY)
        if recorded != embedding_name:
            raise StoreError(
                f"collection {name!r} holds vectors from embedding {recorded!r}, not {embedding_name!r}; "
                f"use a different collection or rebuild it with: essay-assistant index --rebuild"
            )
        self.version = 0  # bumped on every change, so readers know to refresh derived indexes

    def count(self) -> int:
        return self._collection.count()

    def sync_document(self, doc: Document, chunks: list[Chunk]) -> SyncResult:
        """Make the stored chunks of ``doc`` exactly ``chunks``: add new ones first, then drop stale ones."""
        existing = set(self._collection.get(where={"doc_id": doc.id}, include=[])["ids"])
        wanted = {c.id for c in chunks}
        fresh = [c for c in chunks if c.id not in existing]
        if fresh:
            meta = doc.metadata() | {"doc_hash": doc.content_hash}
            self._collection.upsert(
                ids=[c.id for c in fresh],
                documents=[c.text for c in fresh],
                embeddings=self._embeddings.embed_documents([c.text for c in fresh]),
                metadatas=[meta | {"start": c.start, "end": c.end, "index": c.index} for c in fresh],
            )
        stale = sorted(existing - wanted)
        if stale:
            self._collection.delete(ids=stale)
        if fresh or stale:
            self.version += 1
        return SyncResult(doc.id, len(fresh), len(stale), len(existing & wanted))

    def remove_documents_except(self, keep: set[str]) -> int:
        """Drop every document not in ``keep``; used by a full rebuild."""
        stale = [c.id for c in self.all_chunks() if c.doc_id not in keep]
        if stale:
            self._collection.delete(ids=stale)
            self.version += 1
        return len(stale)

    def all_chunks(self, batch: int = 5000, progress: Callable[[int], None] | None = None) -> list[StoredChunk]:
        out: list[StoredChunk] = []
        total = self.count()
        for offset in range(0, total, batch):
            page = self._collection.get(include=["documents", "metadatas"], limit=batch, offset=offset)
            out.extend(_stored(i, d, m) for i, d, m in zip(page["ids"], page["documents"], page["metadatas"]))
            if progress:
                progress(len(page["ids"]))
        return out

    def dense_search(self, query: str, n: int) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks by cosine similarity (1 - cosine distance)."""
        if n <= 0 or self.count() == 0:
            return []
        res = self._collection.query(
            query_embeddings=[self._embeddings.embed_query(query)],
            n_results=min(n, self.count()),
            include=["documents", "metadatas", "distances"],
        )
        rows = zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
        return [(_stored(i, d, m), 1.0 - dist) for i, d, m, dist in rows]


def _stored(chunk_id: str, text: str, meta: dict) -> StoredChunk:
    return StoredChunk(chunk_id, meta["doc_id"], text, int(meta["start"]), int(meta["end"]), dict(meta))
