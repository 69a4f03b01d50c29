"""Store faults: a missing, corrupt or half-written index never stops the assistant or loses the old one."""

import logging
import shutil
import time
import uuid
from pathlib import Path

import pytest
from fakes import ESSAY, HashingEmbeddings

from assistant import Assistant, StoreError
from assistant.index.chroma import make_client


def _collections(bot: Assistant) -> list[str]:
    """Every collection in the bot's store, through this process's client on it (Chroma caches one per path)."""
    return sorted(c.name for c in make_client(bot.settings.store_location).list_collections())


def _active(bot: Assistant) -> str:
    """The generation the store's pointer names: ``generation()`` is that name, a colon and a change counter."""
    return bot.store.generation().rpartition(":")[0]


def test_a_missing_store_is_rebuilt(make_assistant, settings):
    bot = make_assistant()
    bot.ensure_index()
    count = bot.chunk_count
    shutil.rmtree(settings.resolved_chroma_path)
    again = make_assistant("They met in Singapore, Hanoi, and in the Demilitarized Zone [3].")
    assert again.chunk_count == 0
    assert "Singapore" in again.ask("Where have Trump and Kim held their meetings?").text
    assert again.chunk_count == count and settings.resolved_chroma_path.is_dir()


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database " * 4000)


def _truncate(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 3)


@pytest.mark.parametrize("damage", [_garbage, _truncate], ids=["garbage", "truncated"])
def test_a_corrupt_store_is_moved_aside_reported_and_rebuilt(damage, make_assistant, settings, caplog):
    make_assistant().ensure_index()
    store_dir = settings.resolved_chroma_path.resolve()
    _forget_client(store_dir)
    damage(store_dir / "chroma.sqlite3")
    damaged = (store_dir / "chroma.sqlite3").read_bytes()

    with caplog.at_level(logging.ERROR, logger="assistant.index.chroma"):
        bot = make_assistant("They met in Singapore, Hanoi, and in the Demilitarized Zone [3].")
    (aside,) = store_dir.parent.glob("chroma.corrupt-*")
    assert "unreadable" in caplog.text and str(aside) in caplog.text and "essay-assistant index" in caplog.text
    assert (aside / "chroma.sqlite3").read_bytes() == damaged, "the damaged files are kept, not deleted"
    assert "Singapore" in bot.ask("Where have Trump and Kim held their meetings?").text
    assert bot.chunk_count > 0

    caplog.clear()
    _forget_client(store_dir)
    assert make_assistant().chunk_count == bot.chunk_count  # the new store opens cleanly: no loop of moves
    assert "unreadable" not in caplog.text and len(list(store_dir.parent.glob("chroma.corrupt-*"))) == 1


def test_a_store_that_cannot_be_started_afresh_gives_one_clear_error(make_assistant, settings, monkeypatch):
    from chromadb.errors import InternalError

    import assistant.index.store as store

    def broken(self):
        raise InternalError("database disk image is malformed")

    monkeypatch.setattr(store.ChunkStore, "check", broken)
    with pytest.raises(StoreError, match="cannot create a new index.*either.*check the disk"):
        make_assistant()
    assert len(list(settings.resolved_chroma_path.parent.glob("chroma.corrupt-*"))) == 1


def _forget_client(path: Path) -> None:
    """What a restart does: this process lets go of the store, as a new process never held it."""
    from assistant.index.chroma import forget_client

    forget_client(path)


class FailingEmbeddings(HashingEmbeddings):
    """Embeds ``allowed`` batches, then fails, like a crash half-way through an index run."""

    def __init__(self, allowed: int) -> None:
        super().__init__()
        self.allowed = allowed

    def embed_documents(self, texts):
        if self.allowed == 0:
            raise RuntimeError("embedding crashed")
        self.allowed -= 1
        return super().embed_documents(texts)


def test_a_failed_index_run_leaves_the_previous_index_untouched(settings, tmp_path: Path):
    bot = Assistant(settings, embeddings=FailingEmbeddings(allowed=1))
    bot.index(progress=False)
    before = sorted((c.id, c.text) for c in bot.chunks)
    collections = _collections(bot)

    big = tmp_path / "big"
    big.mkdir()
    for i in range(8):  # enough chunks for several embedding batches
        (big / f"copy{i}.txt").write_text(f"Copy {i}\n\n" + ESSAY.read_text(encoding="utf-8") * 3, encoding="utf-8")
    bot.store.embeddings.allowed = 1
    with pytest.raises(RuntimeError, match="embedding crashed"):
        bot.index([big], rebuild=True, progress=False)
    assert sorted((c.id, c.text) for c in bot.chunks) == before
    assert _collections(bot) == collections, "the half-built generation is dropped"
    assert bot.store.dense_search("Where have Trump and Kim held their meetings?", 3)


def test_each_changing_run_switches_to_a_new_generation_and_drops_the_old(settings, embeddings, tmp_path: Path):
    bot = Assistant(settings, embeddings=embeddings)
    bot.index(progress=False)
    first = _active(bot)
    bot.index(progress=False)
    assert _active(bot) == first, "a run that changes nothing builds nothing"
    other = tmp_path / "other.md"
    other.write_text("# Other\n\nA second essay about rivers.\n\nRivers flow to the sea.\n", encoding="utf-8")
    bot.index([other], progress=False)
    assert _active(bot) != first
    assert _collections(bot) == sorted(["essays-active", _active(bot)])


def test_a_generation_abandoned_by_a_killed_run_is_removed_by_the_next_run(settings, embeddings, tmp_path: Path):
    bot = Assistant(settings, embeddings=embeddings)
    bot.index(progress=False)
    count = bot.chunk_count
    # What a run killed before its switch leaves behind: a generation, named as the store names them, never pointed at.
    abandoned = make_client(settings.store_location).create_collection(
        f"{settings.collection}-g{uuid.uuid4().hex[:12]}",
        metadata={"embedding": embeddings.name},
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=None,
    )
    abandoned.add(ids=["x"], embeddings=[embeddings.embed_query("x")], documents=["x"], metadatas=[{"doc_id": "x"}])
    assert Assistant(settings, embeddings=embeddings).chunk_count == count, "readers never see it"

    other = tmp_path / "other.md"
    other.write_text("# Other\n\nA second essay about rivers.\n\nRivers flow to the sea.\n", encoding="utf-8")
    bot.index([other], progress=False)
    assert abandoned.name not in _collections(bot) and len(_collections(bot)) == 2


def test_a_store_from_before_generations_is_adopted(settings, embeddings):
    legacy = make_client(settings.store_location).create_collection(
        "essays",
        metadata={"embedding": embeddings.name},
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=None,
    )
    legacy.add(
        ids=["a"],
        embeddings=[embeddings.embed_query("Hanoi")],
        documents=["Hanoi"],
        metadatas=[{"doc_id": "old", "start": 0, "end": 5}],
    )
    bot = Assistant(settings, embeddings=embeddings)
    assert bot.chunk_count == 1 and _active(bot) == "essays", "the old collection is read as it is"
    bot.index(progress=False)
    assert "essays" not in _collections(bot) and {c.doc_id for c in bot.chunks} == {
        "old",
        "another-us-north-korea-summit",
    }


def test_a_reader_follows_a_switch_made_by_another_writer(settings, embeddings, tmp_path: Path):
    """As a second app worker on the same Chroma server does: its generation is deleted under it."""
    from assistant.index.search import HybridRetriever
    from assistant.index.store import ChunkStore

    writer = Assistant(settings, embeddings=embeddings)
    writer.index(progress=False)
    reader = ChunkStore(make_client(settings.store_location), settings.collection, embeddings, embeddings.name)
    retriever = HybridRetriever(reader)
    assert {c.doc_id for c in retriever.chunks} == {"another-us-north-korea-summit"}

    other = tmp_path / "other.md"
    other.write_text("# Other\n\nA second essay about rivers.\n\nRivers flow to the sea.\n", encoding="utf-8")
    writer.index([other], progress=False)
    assert reader.count() == writer.chunk_count
    assert {c.doc_id for c in retriever.chunks} == {"another-us-north-korea-summit", "other"}


def test_damaged_vector_index_files_are_detected_on_open(settings, embeddings, tmp_path: Path, caplog):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(80):  # over Chroma's 1,000-record threshold, so the vector index is written to disk
        (corpus / f"copy{i}.txt").write_text(f"Copy {i}\n\n" + ESSAY.read_text(encoding="utf-8") * 3, encoding="utf-8")
    Assistant(settings, embeddings=embeddings).index([corpus], progress=False)
    store_dir = settings.resolved_chroma_path.resolve()
    _forget_client(store_dir)
    vector_files = list(store_dir.glob("*/*.bin"))
    assert vector_files
    for path in vector_files:
        path.write_bytes(b"\xde\xad" * (path.stat().st_size // 2))

    with caplog.at_level(logging.ERROR, logger="assistant.index.chroma"):
        bot = Assistant(settings, embeddings=embeddings)
    assert "unreadable" in caplog.text and len(list(store_dir.parent.glob("chroma.corrupt-*"))) == 1
    assert bot.chunk_count == 0


def test_an_index_deleted_by_hand_is_started_afresh(settings, embeddings, caplog):
    bot = Assistant(settings, embeddings=embeddings)
    bot.index(progress=False)
    make_client(settings.store_location).delete_collection(_active(bot))
    with caplog.at_level(logging.WARNING, logger="assistant.index.store"):
        again = Assistant(settings, embeddings=embeddings)
    assert "is gone" in caplog.text and again.chunk_count == 0
    again.ensure_index()
    assert again.chunk_count == bot.chunk_count


def test_a_generation_another_process_is_building_is_left_alone(settings, embeddings, tmp_path: Path):
    """Two servers indexing one Chroma server at once: one's clean-up must not delete the other's build in progress."""
    bot = Assistant(settings, embeddings=embeddings)
    bot.index(progress=False)
    building = make_client(settings.store_location).create_collection(
        f"{settings.collection}-g{uuid.uuid4().hex[:12]}",
        metadata={"embedding": embeddings.name, "created": time.time()},
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=None,
    )
    other = tmp_path / "other.md"
    other.write_text("# Other\n\nA second essay about rivers.\n\nRivers flow to the sea.\n", encoding="utf-8")
    bot.index([other], progress=False)
    assert building.name in _collections(bot)
