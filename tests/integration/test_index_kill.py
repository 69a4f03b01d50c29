"""``kill -9`` in the middle of indexing leaves the previous index complete and answering."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from real import real_settings

from assistant import Assistant
from assistant.index.chroma import make_client
from assistant.index.chunking import split_document
from assistant.index.documents import default_essay_path, load_document

ROOT = Path(__file__).resolve().parents[2]
PROGRESS = re.compile(r"Embedding:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "assistant", *args]


def test_kill_9_while_indexing_a_big_corpus_keeps_the_old_index(tmp_path):
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    data = tmp_path / "data"
    subprocess.run(
        _cli("index", "--data-dir", str(data)), check=True, cwd=ROOT, env=env, timeout=300, capture_output=True
    )

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    essay = default_essay_path().read_text(encoding="utf-8")
    for i in range(150):  # about 3,000 chunks: far more than can be embedded between two progress updates
        (corpus / f"copy-{i:03d}.txt").write_text(f"Copy {i}\n\n{essay * 3}", encoding="utf-8")

    indexer = subprocess.Popen(
        _cli("index", str(corpus), "--data-dir", str(data)),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    seen: list[tuple[int, int]] = []

    def watch() -> None:
        buffer = b""
        while chunk := indexer.stderr.read1(4096):
            buffer = (buffer + chunk)[-4096:]
            for done, total in PROGRESS.findall(buffer.decode(errors="replace")):
                if int(done) > 0:
                    seen.append((int(done), int(total)))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    deadline = time.monotonic() + 600
    while not seen and indexer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(indexer.pid, signal.SIGKILL)
    indexer.wait(timeout=30)
    watcher.join(timeout=10)
    assert indexer.returncode == -signal.SIGKILL
    assert seen and seen[0][0] < seen[0][1], "the indexer was killed in the middle of embedding"

    bot = Assistant(real_settings(data))
    settings = bot.settings
    expected = {
        c.id
        for c in split_document(
            load_document(default_essay_path()), chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
        )
    }
    assert {c.id for c in bot.chunks} == expected
    assert bot.chunk_count == len(expected)
    passages = bot.search("Where have Trump and Kim met?", 4)
    assert any("Singapore" in p.text for p in passages)
    assert bot.store.dense_search("the Demilitarized Zone", 3)
    names = [c.name for c in make_client(settings.store_location).list_collections()]
    assert len(names) == 3, f"pointer, active index and the abandoned half-built one: {names}"
