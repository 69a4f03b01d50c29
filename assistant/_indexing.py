"""Index files into the store: load, clean, chunk, sync. Safe to run again."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ._chunking import split_document
from ._documents import SUPPORTED_SUFFIXES, DocumentError, default_essay_path, load_document
from ._settings import Settings
from ._store import ChunkStore, SyncResult

log = logging.getLogger(__name__)


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
    store: ChunkStore, settings: Settings, paths: list[Path] | None = None, *, rebuild: bool = False, progress: bool = True
) -> IndexReport:
    """Sync each file's chunks into ``store``; with ``rebuild``, drop documents not given."""
    report = IndexReport()
    files = expand_paths(paths) if paths else [default_essay_path()]
    seen: dict[str, Path] = {}
    for path in tqdm(files, desc="Indexing", unit="file", disable=not progress or len(files) < 2):
        try:
            doc = load_document(path)
        except DocumentError as exc:
            report.skipped[str(path)] = str(exc)
            log.warning("skipped %s", exc)
            continue
        if doc.id in seen:
            report.skipped[str(path)] = f"{path}: same document id {doc.id!r} as {seen[doc.id]}; rename one of them"
            continue
        seen[doc.id] = path
        chunks = split_document(doc, chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)
        result = store.sync_document(doc, chunks)
        report.synced.append(result)
        log.info("%s: %d chunks added, %d removed, %d unchanged", doc.id, result.added, result.removed, result.unchanged)
    if rebuild and seen:
        report.removed = store.remove_documents_except(set(seen))
    return report
