"""A read-only snapshot of an embedded store that another process holds.

Embedded Chroma serves one process, so only the process holding the
store's lock may write to it. A process that only answers (``ask``,
``chat``, the Python API) and finds the lock held copies the store into a
private temporary directory instead, and answers from the copy:

* the vector segments' files are copied as they are, then the SQLite
  database through SQLite's online backup on a read-only connection, so
  the copy holds one committed state and the held files are never written;
* the copy is then checked: it must open, and a nearest-neighbour query on
  its active generation must return every record that generation holds.
  A copy taken while the holder was switching generations fails the check
  and is taken again.

Generations are never modified once active (see ``ChunkStore``), so a
copy of the active one is consistent. The copy is deleted at exit. It is
not refreshed: a later index run by the holder is seen by the next process.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_core.embeddings import Embeddings

from assistant.index.chroma import forget_client
from assistant.index.store import ChunkStore, StoreError, StoreInUse

log = logging.getLogger(__name__)

_DB = "chroma.sqlite3"
ATTEMPTS = 3


def open_snapshot(busy: StoreInUse, collection: str, embeddings: Embeddings, embedding_name: str) -> ChunkStore:
    """A ``ChunkStore`` on a private, checked copy of the held store; it refuses to index (``read_only``)."""
    if busy.path is None:
        raise busy  # rebuilt from its message alone: no store on this machine to copy
    last: Exception | None = None
    for attempt in range(ATTEMPTS):
        target = Path(tempfile.mkdtemp(prefix="essay-assistant-snapshot-"))
        try:
            copy_files(busy.path, target)
            client = chromadb.PersistentClient(path=str(target), settings=ChromaSettings(anonymized_telemetry=False))
            store = ChunkStore(client, collection, embeddings, embedding_name)
            verify(store)
        except StoreError:
            _remove(target)
            raise  # a wrong embedding for this collection: copying again cannot help
        except Exception as exc:  # noqa: BLE001  (a copy taken mid-switch, a busy database: take it again)
            last = exc
            log.debug("snapshot attempt %d of %s failed: %s: %s", attempt + 1, busy.path, type(exc).__name__, exc)
            _remove(target)
            time.sleep(0.2 * (attempt + 1))
            continue
        atexit.register(_remove, target)
        store.read_only = busy
        log.warning(
            "the embedded store %s is in use by process %s; answering from a read-only snapshot of it (%d chunks)",
            busy.path,
            busy.holder,
            store.count(),
        )
        return store
    raise StoreError(
        f"the embedded store {busy.path} is in use by process {busy.holder}, and no consistent copy of it could be "
        f"taken to answer from ({type(last).__name__}: {last}). Stop that process, or run a Chroma server"
    )


def copy_files(source: Path, target: Path) -> None:
    """Copy the store's segment directories, then its database as one committed state; never writes to ``source``."""
    db = source / _DB
    if not db.exists():
        return  # the holder has not created its database yet: the copy starts empty
    # Segments first: a generation the database names but the copy lacks fails verify(), and the copy is retaken.
    for segment in sorted(p for p in source.iterdir() if p.is_dir()):
        shutil.copytree(segment, target / segment.name)
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    dst = sqlite3.connect(target / _DB)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def verify(store: ChunkStore) -> None:
    """The copy's active generation opens, and its vector index finds every record its database lists."""
    store.check()
    ids = {i for page in store._pages([]) for i in page["ids"]}
    if not ids:
        return
    page = store._read(lambda c: c.peek(1))
    embeddings = page["embeddings"]
    assert embeddings is not None  # peek includes them
    found = store._read(lambda c: c.query(query_embeddings=embeddings[:1], n_results=len(ids), include=[]))
    if set(found["ids"][0]) != ids:
        raise RuntimeError(f"the copied vector index holds {len(found['ids'][0])} of {len(ids)} records")


def _remove(path: Path) -> None:
    forget_client(path.resolve())
    shutil.rmtree(path, ignore_errors=True)
