"""Hybrid search: dense vectors from Chroma plus BM25 keywords, fused by rank.

Dense search finds paraphrases; BM25 finds the names, dates and numbers
("Greta Van Susteren", "July 7", "$2.6 million") that small embedding
models blur. Reciprocal rank fusion needs no score calibration between
the two.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.index.text import tokenize

if TYPE_CHECKING:  # a CLI that only talks to a server imports no Chroma, BM25 or numpy
    import bm25s

    from assistant.index.chunking import Chunk
    from assistant.index.store import ChunkStore

RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of top ranks


def _bm25s():
    """bm25s, imported on first use; it sets its logger to DEBUG on import, so the level set before is kept."""
    logger = logging.getLogger("bm25s")
    level = logger.level
    import bm25s

    logger.setLevel(level)
    return bm25s


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score and the ranks that produced it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    keyword_rank: int | None = None

    @property
    def text(self) -> str:
        return self.chunk.text


def reciprocal_rank_fusion(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum of 1 / (k + rank), ranks from 1."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


class HybridRetriever:
    def __init__(self, store: ChunkStore, *, candidates: int = 20) -> None:
        self._store = store
        self._candidates = candidates
        self._lock = threading.Lock()
        self._built_version = -1
        self._chunks: list[Chunk] = []
        self._bm25: bm25s.BM25 | None = None

    @property
    def chunks(self) -> list[Chunk]:
        self._refresh()
        return self._chunks

    def _refresh(self) -> None:
        """Rebuild the in-memory BM25 index when the store changed since the last build."""
        with self._lock:
            if self._built_version == self._store.version and self._bm25 is not None:
                return
            chunks = self._store.all_chunks()
            chunks.sort(key=lambda c: (c.doc_id, c.start))
            bm25 = None
            if chunks:
                bm25 = _bm25s().BM25()
                bm25.index([tokenize(c.text) or [""] for c in chunks], show_progress=False)
            self._chunks, self._bm25, self._built_version = chunks, bm25, self._store.version

    def keyword_search(self, query: str, n: int) -> list[Chunk]:
        self._refresh()
        bm25 = self._bm25
        tokens = [t for t in tokenize(query) if bm25 is not None and t in bm25.vocab_dict]
        if bm25 is None or not tokens:
            return []
        scores = bm25.get_scores(tokens)
        import numpy as np

        order = np.argsort(-scores, kind="stable")[:n]
        return [self._chunks[i] for i in order if scores[i] > 0]

    def search(self, query: str, k: int) -> list[Passage]:
        dense = self._store.dense_search(query, self._candidates)
        keyword = self.keyword_search(query, self._candidates)
        by_id = {c.id: c for c, _ in dense} | {c.id: c for c in keyword}
        dense_ranks = {c.id: r for r, (c, _) in enumerate(dense, start=1)}
        keyword_ranks = {c.id: r for r, c in enumerate(keyword, start=1)}
        fused = reciprocal_rank_fusion([[c.id for c, _ in dense], [c.id for c in keyword]])
        return [Passage(by_id[cid], score, dense_ranks.get(cid), keyword_ranks.get(cid)) for cid, score in fused[:k]]
