from pathlib import Path

import pytest
from fakes import ESSAY, HashingEmbeddings

from assistant import Assistant, StoreError


def test_indexing_twice_gives_the_same_count(settings, embeddings):
    bot = Assistant(settings, embeddings=embeddings)
    first = bot.index(progress=False)
    count = bot.chunk_count
    second = bot.index(progress=False)
    assert count > 0
    assert first.chunks_added == count
    assert second.chunks_added == 0 and second.synced[0].unchanged == count
    assert bot.chunk_count == count
    # A new process on the same directory sees the same index.
    assert Assistant(settings, embeddings=embeddings).chunk_count == count


def test_changed_document_replaces_its_chunks(settings, embeddings, tmp_path: Path):
    essay = tmp_path / "essay.txt"
    essay.write_text(ESSAY.read_text(encoding="utf-8"), encoding="utf-8")
    bot = Assistant(settings, embeddings=embeddings)
    bot.index([essay], progress=False)
    before = {c.id for c in bot.chunks}

    essay.write_text(ESSAY.read_text(encoding="utf-8").replace("Hanoi", "Ha Noi"), encoding="utf-8")
    report = bot.index([essay], progress=False)
    after = bot.chunks
    assert report.synced[0].removed > 0 and report.synced[0].added > 0
    assert not any("Hanoi" in c.text for c in after)
    assert any("Ha Noi" in c.text for c in after)
    assert {c.doc_id for c in after} == {"essay"}
    assert len({c.id for c in after}) == len(after) == bot.chunk_count
    assert before & {c.id for c in after}, "unchanged chunks are kept, not re-embedded"


def test_rebuild_drops_documents_not_given(settings, embeddings, tmp_path: Path):
    other = tmp_path / "other.md"
    other.write_text("# Other\n\nA second essay about rivers.\n\nRivers flow to the sea.\n", encoding="utf-8")
    bot = Assistant(settings, embeddings=embeddings)
    bot.index(progress=False)
    bot.index([other], progress=False)
    assert {c.doc_id for c in bot.chunks} == {"another-us-north-korea-summit", "other"}
    bot.index([other], rebuild=True, progress=False)
    assert {c.doc_id for c in bot.chunks} == {"other"}


def test_bad_files_are_skipped_with_reasons(settings, embeddings, tmp_path: Path):
    good = tmp_path / "good.txt"
    good.write_text("Good\n\nA fine paragraph of text.\n\nAnother one.\n", encoding="utf-8")
    (tmp_path / "junk.txt").write_bytes(b"\x00\xff" * 100)
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    report = Assistant(settings, embeddings=embeddings).index([tmp_path], progress=False)
    assert [r.doc_id for r in report.synced] == ["good"]
    assert sorted(Path(p).name for p in report.skipped) == ["empty.md", "junk.txt"]
    assert any("binary" in reason for reason in report.skipped.values())


def test_index_builds_itself_on_first_use(make_assistant):
    bot = make_assistant("The essay does not say.")
    assert bot.chunk_count == 0
    bot.ask("Anything?")
    assert bot.chunk_count > 0


def test_switching_embedding_on_an_existing_collection_is_refused(settings, embeddings):
    Assistant(settings, embeddings=embeddings).index(progress=False)

    class Other(HashingEmbeddings):
        name = "another-model"

    with pytest.raises(StoreError, match="rebuild"):
        Assistant(settings, embeddings=Other())


class Arrows(HashingEmbeddings):
    """Two-dimensional vectors of different lengths: cosine, inner product and L2 distance each rank them otherwise."""

    name = "arrows"
    VECTORS = {"long": [10.0, 10.0], "slanted": [5.0, 1.0], "short": [1.2, 1.5], "east": [1.0, 0.0]}

    def _embed(self, text):
        return next((v for word, v in self.VECTORS.items() if word in text.lower()), [0.0, 1.0])


def test_dense_search_ranks_by_angle_whatever_the_vectors_length(settings, tmp_path: Path):
    """A provider's embeddings need not be unit vectors: the nearest in meaning (angle) still comes first."""
    for word in ("long", "slanted", "short"):
        (tmp_path / f"{word}.md").write_text(f"# A {word} arrow\n\nIt points {word}.\n", encoding="utf-8")
    bot = Assistant(settings, embeddings=Arrows())
    bot.index([tmp_path], progress=False)
    found = bot.store.dense_search("east", 3)
    assert [c.doc_id for c, _ in found] == ["slanted", "long", "short"]  # by inner product: long; by L2: short
    assert found[0][1] == pytest.approx(5 / 26**0.5, abs=1e-3)  # the cosine similarity itself


def test_a_second_process_cannot_write_to_the_embedded_store_and_gets_a_clear_error(
    settings, embeddings, tmp_path: Path
):
    import subprocess
    import sys
    import textwrap

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from assistant import Settings
            from assistant.index.chroma import make_client
            make_client(Settings(data_dir=Path({str(settings.data_dir)!r})).store_location)
            print("holding", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        reader = Assistant(settings, embeddings=embeddings)  # answering works from a snapshot (tests/test_snapshot.py)
        with pytest.raises(StoreError, match=rf"in use by process {holder.pid}.*chroma run"):
            reader.index(progress=False)
    finally:
        holder.kill()
        holder.wait()
    assert Assistant(settings, embeddings=embeddings).chunk_count == 0  # free again once the holder is gone


def test_a_huge_file_is_skipped_unread_and_the_rest_is_indexed(settings, embeddings, tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("Good\n\nA fine paragraph of text.\n\nAnother one.\n", encoding="utf-8")
    huge = folder / "huge.txt"
    with open(huge, "wb") as f:  # 50 MB, sparse: instant to make, and it must not be read
        f.truncate(50 * 1024 * 1024)
    bot = Assistant(settings, embeddings=embeddings)
    report = bot.index([folder], progress=False)
    assert [r.doc_id for r in report.synced] == ["good"]
    assert "is 50.0 MB; the limit is 20.0 MB (ESSAY_ASSISTANT_MAX_FILE_MB)" in report.skipped[str(huge)]
    assert {c.doc_id for c in bot.chunks} == {"good"}

    bigger = Assistant(settings.model_copy(update={"max_file_mb": 60}), embeddings=embeddings)
    assert "binary" in bigger.index([huge], progress=False).skipped[str(huge)]  # the limit is a setting


def test_a_run_with_only_bad_files_leaves_the_index_as_it_was(settings, embeddings, tmp_path: Path):
    bot = Assistant(settings, embeddings=embeddings)
    bot.index(progress=False)
    before = sorted(c.id for c in bot.chunks)
    (tmp_path / "junk.txt").write_bytes(b"\x00\xff" * 100)
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Caf\u00e9 au lait.\n\nTr\u00e8s bien.".encode("latin-1"))
    report = bot.index([tmp_path], rebuild=True, progress=False)
    assert len(report.skipped) == 3 and report.synced == [] and report.removed == 0
    assert sorted(c.id for c in bot.chunks) == before
