"""The Chroma collection that holds the chunks, embedded or on a server.

Vectors are computed by our own embedding and passed in explicitly:
Chroma's default embedding would try to download a model.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import chromadb
from chromadb.api.types import GetResult, Include, PyEmbedding
from chromadb.errors import NotFoundError
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from assistant.errors import StoreError, StoreInUse
from assistant.index.chunking import Chunk
from assistant.index.documents import Document

log = logging.getLogger(__name__)
_EMBEDDING_KEY = "embedding"
_CREATED_KEY = "created"
# A generation younger than this may be another process's build in progress (two servers indexing one Chroma
# server at once), so only older ones count as abandoned by a killed run.
_BUILD_GRACE_S = 900
_EMBED_BATCH = 64  # chunks per embedding call: progress moves and memory stays flat on big corpora
T = TypeVar("T")


@dataclass(frozen=True)
class SyncResult:
    doc_id: str
    added: int
    removed: int
    unchanged: int


class ChunkStore:
    """The active generation of a collection, replaced whole by each index run that changes it.

    Chroma has no aliases, so a pointer collection (``NAME-active``, no
    records) names the generation in its metadata. A run builds the next
    generation beside the current one and only then moves the pointer, so
    a run killed half-way leaves the previous index exactly as it was.
    """

    def __init__(self, client: chromadb.ClientAPI, name: str, embeddings: Embeddings, embedding_name: str) -> None:
        self._client = client
        self._name = name
        self._embeddings = embeddings
        self._embedding_name = embedding_name
        self._pointer = client.get_or_create_collection(f"{name}-active", embedding_function=None)
        self._collection = self._open_active()
        recorded = (self._collection.metadata or {}).get(_EMBEDDING_KEY)
        if recorded != embedding_name:
            raise StoreError(
                f"collection {name!r} holds vectors from embedding {recorded!r}, not {embedding_name!r}; "
                f"use a different collection or rebuild it with: essay-assistant index --rebuild"
            )
        self.version = 0  # bumped on every change, so readers know to refresh derived indexes
        self.read_only: StoreInUse | None = None  # set on a snapshot of a store another process holds

    def _open_active(self) -> chromadb.Collection:
        """The generation the pointer names; a store from before generations is adopted as it is."""
        active = (self._pointer.metadata or {}).get("active")
        if active is None:
            legacy = self._name if self._name in {c.name for c in self._client.list_collections()} else None
            active = legacy or self._new_generation().name
            self._pointer.modify(metadata={"active": active})
        try:
            return self._client.get_collection(active, embedding_function=None)
        except NotFoundError:
            log.warning("the active index %s is gone (deleted by hand?); starting an empty one", active)
            fresh = self._new_generation()
            self._pointer.modify(metadata={"active": fresh.name})
            return fresh

    def _new_generation(self) -> chromadb.Collection:
        return self._client.create_collection(
            f"{self._name}-g{uuid.uuid4().hex[:12]}",
            configuration={"hnsw": {"space": "cosine"}},
            metadata={_EMBEDDING_KEY: self._embedding_name, _CREATED_KEY: time.time()},
            embedding_function=None,
        )

    def _read(self, operation: Callable[[chromadb.Collection], T]) -> T:
        """Run a read; if another process switched generations meanwhile, follow the pointer once."""
        try:
            return operation(self._collection)
        except NotFoundError:
            self._pointer = self._client.get_collection(f"{self._name}-active", embedding_function=None)
            self._collection = self._open_active()
            self.version += 1
            return operation(self._collection)

    def generation(self) -> str:
        """The active generation as the pointer names it now, and this process's change counter.

        It changes with every index run that changes anything, in this process or another one.
        """
        try:
            pointer = self._client.get_collection(f"{self._name}-active", embedding_function=None)
            active = (pointer.metadata or {}).get("active", self._collection.name)
        except NotFoundError:
            active = self._collection.name
        return f"{active}:{self.version}"

    def check(self) -> None:
        """Touch the metadata, the records and the vector index, so a corrupt store fails here, not mid-answer."""
        page = self._read(lambda c: c.peek(1))
        if len(page["ids"]):
            embeddings = page["embeddings"]
            assert embeddings is not None  # peek includes them
            self._read(lambda c: c.query(query_embeddings=embeddings[:1], n_results=1, include=[]))

    @property
    def embeddings(self) -> Embeddings:
        """The embedding that writes and queries this store's vectors."""
        return self._embeddings

    def count(self) -> int:
        return self._read(lambda c: c.count())

    def sync(
        self, documents: list[tuple[Document, list[Chunk]]], *, drop_others: bool = False, progress: bool = False
    ) -> tuple[list[SyncResult], int]:
        """Make each document's stored chunks exactly the given ones, in a new generation when anything changes.

        Unchanged chunks keep their vectors (ids are content hashes), so only
        new chunks are embedded. With ``drop_others``, documents not given are
        removed. Returns the per-document results and the chunks removed from
        other documents.
        """
        wanted = {doc.id: {c.id for c in chunks} for doc, chunks in documents}
        existing: dict[str, set[str]] = {}
        for page in self._pages(["metadatas"]):
            for chunk_id, meta in zip(page["ids"], page["metadatas"], strict=True):
                existing.setdefault(meta["doc_id"], set()).add(chunk_id)
        results = [
            SyncResult(doc.id, len(wanted[doc.id] - have), len(have - wanted[doc.id]), len(have & wanted[doc.id]))
            for doc, have in ((doc, existing.get(doc.id, set())) for doc, _ in documents)
        ]
        others = sum(len(ids) for doc_id, ids in existing.items() if doc_id not in wanted) if drop_others else 0
        if others == 0 and not any(r.added or r.removed for r in results):
            return results, 0

        def keep(chunk_id: str, doc_id: str) -> bool:
            return chunk_id in wanted[doc_id] if doc_id in wanted else not drop_others

        fresh = [(doc, c) for doc, chunks in documents for c in chunks if c.id not in existing.get(doc.id, set())]
        self._switch_to(self._build(keep, fresh, progress))
        return results, others

    def sync_document(self, doc: Document, chunks: list[Chunk]) -> SyncResult:
        (result,), _ = self.sync([(doc, chunks)])
        return result

    def _build(
        self, keep: Callable[[str, str], bool], fresh: list[tuple[Document, Chunk]], progress: bool
    ) -> chromadb.Collection:
        self._drop_abandoned_generations()
        staging = self._new_generation()
        try:
            for page in self._pages(["embeddings", "documents", "metadatas"]):
                rows = [
                    i
                    for i, (cid, m) in enumerate(zip(page["ids"], page["metadatas"], strict=True))
                    if keep(cid, m["doc_id"])
                ]
                if rows:
                    staging.add(
                        ids=[page["ids"][i] for i in rows],
                        embeddings=[page["embeddings"][i] for i in rows],
                        documents=[page["documents"][i] for i in rows],
                        metadatas=[page["metadatas"][i] for i in rows],
                    )
            with tqdm(total=len(fresh), desc="Embedding", unit="chunk", disable=not progress) as bar:
                for lo in range(0, len(fresh), _EMBED_BATCH):
                    batch = fresh[lo : lo + _EMBED_BATCH]
                    staging.add(
                        ids=[c.id for _, c in batch],
                        documents=[c.text for _, c in batch],
                        # A list[list[float]] is a list of embeddings; Chroma's list type is invariant.
                        embeddings=cast(
                            list[PyEmbedding], self._embeddings.embed_documents([c.text for _, c in batch])
                        ),
                        metadatas=[
                            doc.metadata()
                            | {"doc_hash": doc.content_hash, "start": c.start, "end": c.end, "index": c.index}
                            for doc, c in batch
                        ],
                    )
                    bar.update(len(batch))
        except BaseException:
            try:
                self._client.delete_collection(staging.name)
            except NotFoundError:
                pass  # already reclaimed by another process
            raise
        return staging

    def _switch_to(self, staging: chromadb.Collection) -> None:
        old = self._collection.name
        self._pointer.modify(metadata={"active": staging.name})
        self._collection = staging
        self.version += 1
        try:
            self._client.delete_collection(old)
        except NotFoundError:
            pass  # another process already cleaned it up

    def _drop_abandoned_generations(self) -> None:
        """Generations left by a killed run are never pointed at; reclaim their space."""
        pattern = re.compile(rf"{re.escape(self._name)}-g[0-9a-f]{{12}}")
        for collection in self._client.list_collections():
            building = (collection.metadata or {}).get(_CREATED_KEY, 0) > time.time() - _BUILD_GRACE_S
            if pattern.fullmatch(collection.name) and collection.name != self._collection.name and not building:
                log.info("removing %s, left over from an interrupted index run", collection.name)
                self._client.delete_collection(collection.name)

    def _pages(self, include: Include, batch: int = 5000) -> Iterator[Any]:
        """The records, ``batch`` at a time (as ``GetResult`` pages; ``Any``, as Chroma types every column optional)."""
        total = self.count()
        for offset in range(0, total, batch):
            yield self._page(include, offset, batch)

    def _page(self, include: Include, offset: int, limit: int) -> GetResult:
        return self._read(lambda c: c.get(include=include, limit=limit, offset=offset))

    def all_chunks(self, batch: int = 5000) -> list[Chunk]:
        return [
            _stored(i, d, m)
            for page in self._pages(["documents", "metadatas"], batch)
            for i, d, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
        ]

    def dense_search(self, query: str, n: int) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity (1 - cosine distance)."""
        count = self.count()
        if n <= 0 or count == 0:
            return []
        vector: PyEmbedding = self._embeddings.embed_query(query)
        res = self._read(
            lambda c: c.query(
                query_embeddings=[vector], n_results=min(n, count), include=["documents", "metadatas", "distances"]
            )
        )
        documents, metadatas, distances = res["documents"], res["metadatas"], res["distances"]
        assert documents is not None and metadatas is not None and distances is not None  # all three included
        rows = zip(res["ids"][0], documents[0], metadatas[0], distances[0], strict=True)
        return [(_stored(i, d, m), 1.0 - dist) for i, d, m, dist in rows]


def _stored(chunk_id: str, text: str, meta: Mapping[str, Any]) -> Chunk:
    return Chunk(
        chunk_id, meta["doc_id"], text, int(meta["start"]), int(meta["end"]), int(meta.get("index", 0)), dict(meta)
    )
