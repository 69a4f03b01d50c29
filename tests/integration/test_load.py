"""20 concurrent gradio_client sessions against the served UI: no errors, no cross-talk, memory bounded.

It runs ``python -m benchmarks.load`` in a fresh process, so the memory measured
is the server's (and its clients') alone. The script bounds every loop by
its ``--timeout``; no wall-clock figure is asserted here.

What is tested is the sessions, not the answers: here answers are capped at
96 tokens and not pointed, which keeps all 60 requests and their concurrency
but takes minutes off CI. ``python -m benchmarks.load`` alone measures the
product as configured.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_twenty_sessions_of_three_questions(tmp_path):
    # faulthandler: a crash in native code prints every thread's Python stack, which the failure then shows
    command = [sys.executable, "-X", "faulthandler", "-m", "benchmarks.load", "--sessions", "20"]
    run = subprocess.run(
        [*command, "--timeout", "2400", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=2700,
        cwd=ROOT,
        env=os.environ
        | {"PYTHONPATH": str(ROOT), "ESSAY_ASSISTANT_MAX_ANSWER_TOKENS": "96", "ESSAY_ASSISTANT_POINT": "false"},
    )
    assert run.returncode == 0, f"benchmarks.load exited with {run.returncode}; its stderr ends:\n{run.stderr[-6000:]}"
    report = json.loads((tmp_path / "load.json").read_text(encoding="utf-8"))
    assert report["errors"] == []
    assert report["answers"] == 60
    assert report["cross_talk"] == [], "a session's follow-up reached the model with another session's history"
    assert all(r["history_ok"] for s in report["sessions"] for r in s["requests"])
    assert report["rss_mb"]["peak"] < 4096
    assert report["rss_mb"]["after"] - report["rss_mb"]["before"] < 1024, "memory grows with the number of requests"
