"""A process that only answers never blocks on another process's embedded store: it answers from a read-only copy."""

import hashlib
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fakes import ESSAY, StubVerifier, fake_llm

from assistant import Assistant, StoreError
from assistant.cli import main

TESTS = Path(__file__).resolve().parents[1]


def _lose_vectors(copy: Path) -> None:
    """Damage a copy as a torn one would be: its vector segments absent and Chroma's log already purged."""
    import shutil
    import sqlite3

    for segment in (p for p in copy.iterdir() if p.is_dir()):
        shutil.rmtree(segment)
    db = sqlite3.connect(copy / "chroma.sqlite3")
    db.execute("DELETE FROM embeddings_queue")
    db.commit()
    db.close()


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def holder(settings, tmp_path: Path):
    """Start a process that indexes ``docs`` (the essay when none) into the store and then holds it."""
    procs = []

    def start(*docs: Path, index: bool = True, as_cli: bool = False):
        # as_cli: record the vectors under the configured embedding's name, as the CLI does (its tests swap the model)
        code = textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            import assistant.assistant as module
            from assistant import Assistant, Settings
            from fakes import HashingEmbeddings
            module.make_embeddings = lambda *args: HashingEmbeddings()
            own = None if {as_cli!r} else HashingEmbeddings()
            bot = Assistant(Settings(data_dir=Path({str(settings.data_dir)!r})), embeddings=own)
            if {index!r}:
                bot.index({[str(d) for d in docs]!r} or None, progress=False)
            print("holding", bot.chunk_count, flush=True)
            time.sleep(120)
        """)
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            text=True,
            env={"PYTHONPATH": f"{TESTS.parent}:{TESTS}", "PATH": "/usr/bin:/bin"},
        )
        procs.append(proc)
        line = proc.stdout.readline().split()
        assert line[:1] == ["holding"], line
        return proc, int(line[1])

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def test_an_answering_process_uses_a_snapshot_of_a_held_store(holder, settings, embeddings, tmp_path: Path, caplog):
    notes = tmp_path / "notes.md"
    notes.write_text("# Field notes\n\nThe lighthouse keeper counted 4,212 gulls in March.\n", encoding="utf-8")
    proc, held_chunks = holder(ESSAY, notes)
    store_dir = settings.resolved_chroma_path
    before = _digest(store_dir)

    with caplog.at_level(logging.INFO, logger="assistant"):
        bot = Assistant(
            settings,
            embeddings=embeddings,
            llm=fake_llm("The keeper counted 4,212 gulls in March [1]."),
            verifier=StubVerifier(),
        )
    snapshot_lines = [r for r in caplog.records if "read-only snapshot" in r.getMessage()]
    assert len(snapshot_lines) == 1 and f"in use by process {proc.pid}" in snapshot_lines[0].getMessage()
    assert bot.chunk_count == held_chunks
    assert {c.doc_id for c in bot.chunks} == {ESSAY.stem, "notes"}  # the user's own document is kept
    answer = bot.ask("How many gulls did the keeper count?")
    assert answer.grounded and "notes" in {s.doc_id for s in answer.passages}

    with pytest.raises(StoreError, match=rf"in use by process {proc.pid}.*chroma run"):
        bot.index(progress=False)  # a writer keeps today's clear error
    assert _digest(store_dir) == before, "the held store was written to"
    assert proc.poll() is None


def test_a_held_empty_store_is_indexed_only_in_the_copy(holder, settings, embeddings):
    holder(index=False)
    before = _digest(settings.resolved_chroma_path)
    bot = Assistant(
        settings,
        embeddings=embeddings,
        llm=fake_llm("They met in Singapore, Hanoi, and in the Demilitarized Zone [16]."),
        verifier=StubVerifier(),
    )
    assert "Singapore" in bot.ask("Where have Trump and Kim held their meetings?").text
    assert bot.chunk_count > 0
    assert _digest(settings.resolved_chroma_path) == before


def test_the_index_command_still_explains_a_held_store(holder, settings, embeddings, capsys, monkeypatch):
    monkeypatch.setattr("assistant.assistant.make_embeddings", lambda *args: embeddings)
    proc, _ = holder(as_cli=True)
    assert main(["index", "--data-dir", str(settings.data_dir)]) == 2
    err = capsys.readouterr().err
    assert f"in use by process {proc.pid}" in err and "Traceback" not in err


def test_a_copy_missing_its_vectors_fails_the_check(settings, embeddings, tmp_path: Path):
    import chromadb
    from chromadb.errors import ChromaError

    from assistant.index.chroma import forget_client
    from assistant.index.snapshot import copy_files, verify
    from assistant.index.store import ChunkStore

    bot = Assistant(settings, embeddings=embeddings)
    bot.ensure_index()
    source = settings.resolved_chroma_path.resolve()
    good, torn = tmp_path / "good", tmp_path / "torn"
    for target in (good, torn):
        target.mkdir()
        copy_files(source, target)
    _lose_vectors(torn)
    verify(ChunkStore(chromadb.PersistentClient(path=str(good)), settings.collection, embeddings, embeddings.name))
    with pytest.raises((ChromaError, RuntimeError)):
        verify(ChunkStore(chromadb.PersistentClient(path=str(torn)), settings.collection, embeddings, embeddings.name))
    for target in (good, torn):
        forget_client(target)


def test_a_copy_that_keeps_failing_gives_one_clear_error(holder, settings, embeddings, monkeypatch):
    import assistant.index.snapshot as snapshot

    proc, _ = holder()
    attempts = []

    def torn(source, target):
        attempts.append(target)
        raise OSError("copy interrupted")

    monkeypatch.setattr(snapshot, "copy_files", torn)
    with pytest.raises(StoreError, match=rf"in use by process {proc.pid}.*no consistent copy.*copy interrupted"):
        Assistant(settings, embeddings=embeddings)
    assert len(attempts) == snapshot.ATTEMPTS and not any(t.exists() for t in attempts)


def test_a_copy_that_fails_once_is_taken_again(holder, settings, embeddings, monkeypatch):
    import assistant.index.snapshot as snapshot

    _, held_chunks = holder()
    real, calls = snapshot.copy_files, []

    def flaky(source, target):
        calls.append(target)
        real(source, target)
        if len(calls) == 1:
            _lose_vectors(target)

    monkeypatch.setattr(snapshot, "copy_files", flaky)
    assert Assistant(settings, embeddings=embeddings).chunk_count == held_chunks
    assert len(calls) == 2
