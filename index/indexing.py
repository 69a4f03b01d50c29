"""Index files into the store: load, clean, chunk, sync. Safe to run again."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from assistant.index.chunking import split_document
from assistant.index.documents import SUPPORTED_SUFFIXES, DocumentError, default_essay_path, load_document
from assistant.index.store import ChunkStore, SyncResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """How documents are read and cut: the largest file taken, and the chunks' target length and overlap."""

    max_bytes: int
    chunk_size: int
    chunk_overlap: int


@dataclass
class IndexReport:
    synced: list[SyncResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # path -> reason
    removed: int = 0

    @property
    def chunks_added(self) -> int:
        return sum(r.added for r in self.synced)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given, and the supported files inside any directory, sorted."""
    files: list[Path] = []
    for path in paths:
        path = Path(path).expanduser()
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES))
        else:
            files.append(path)
    return files


def index_paths(
    store: ChunkStore,
    limits: Limits,
    paths: list[Path] | None = None,
    *,
    rebuild: bool = False,
    progress: bool = True,
) -> IndexReport:
    """Sync each file's chunks into ``store``; with ``rebuild``, drop documents not given.

    Every file is loaded and checked before the store is touched, and the
    store switches to the new index only once it is complete, so a bad file
    or a crash never leaves a half-built index.
    """
    report = IndexReport()
    files = expand_paths(paths) if paths else [default_essay_path()]
    seen: dict[str, Path] = {}
    documents = []
    for path in tqdm(files, desc="Reading", unit="file", disable=not progress or len(files) < 2):
        try:
            doc = load_document(path, max_bytes=limits.max_bytes)
        except DocumentError as exc:
            report.skipped[str(path)] = str(exc)
            log.warning("skipped %s", exc)
            continue
        if doc.id in seen:
            report.skipped[str(path)] = f"{path}: same document id {doc.id!r} as {seen[doc.id]}; rename one of them"
            continue
        seen[doc.id] = path
        documents.append((doc, split_document(doc, chunk_size=limits.chunk_size, chunk_overlap=limits.chunk_overlap)))
    report.synced, report.removed = store.sync(documents, drop_others=rebuild and bool(seen), progress=progress)
    for result in report.synced:
        log.info(
            "%s: %d chunks added, %d removed, %d unchanged",
            result.doc_id,
            result.added,
            result.removed,
            result.unchanged,
        )
    return report
