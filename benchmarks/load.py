"""Load test: concurrent gradio_client sessions against the web UI on 127.0.0.1, with the real local model.

Each session asks three questions, the second a follow-up of the first.
The server runs in this process so that every request's arrival and the
history the server received can be recorded: cross-talk is checked on
that history (deterministic), never on the model's wording. Writes
``load.json`` and ``load.md``. Every loop is bounded by ``--timeout``.

    python -m benchmarks.load                    # 20 sessions x 3 questions
    python -m benchmarks.load --out-dir /tmp/x --sessions 4
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gradio_client import Client
from gradio_client.utils import Status

from assistant import Assistant, Settings
from assistant.evals.metrics import percentile
from assistant.ui.app import serve
from assistant.ui.rendering import unlink_citations
from benchmarks.tables import markdown_table

log = logging.getLogger("load")
CONVERSATIONS = [
    ("Who proposed another U.S.-North Korea summit?", "When did he propose it?", "Where have Trump and Kim met?"),
    ("Who is Kim Yo Jong?", "What did she say about another summit?", "Who is Harry J. Kazianis?"),
    ("Where have Trump and Kim met?", "How many times is that?", "Who wrote the essay?"),
    ("What does the author recommend instead of a summit?", "Why?", "What is the essay about?"),
]
WARM_UP = "What is the essay about?"
STARTED = (Status.PROCESSING, Status.ITERATING, Status.FINISHED)


def rss_mb() -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}


class Recorder:
    """Wraps ``bot.astream``, which the UI calls, and ``bot.stream``, which its warm-up calls: when each request
    reached the model, and the history it came with."""

    def __init__(self, bot: Assistant) -> None:
        self.calls: dict[str, dict] = {}
        self.warm = threading.Event()
        self._stream, self._astream = bot.stream, bot.astream
        bot.stream, bot.astream = self.stream, self.astream

    def _arrived(self, question, history) -> None:
        self.calls[question] = {"started": time.monotonic(), "history": [dict(m) for m in history or []]}

    def stream(self, question, history=None):
        self._arrived(question, history)
        try:
            yield from self._stream(question, history)
        finally:
            if question == WARM_UP:
                self.warm.set()

    async def astream(self, question, history=None):
        self._arrived(question, history)
        async for event in self._astream(question, history):
            yield event


def run_session(url: str, session: int, recorder: Recorder, deadline: float) -> dict:
    client = Client(url, verbose=False)
    asked, answers, requests, errors = [], [], [], []
    for base in CONVERSATIONS[session % len(CONVERSATIONS)]:
        question = f"Reader {session}: {base}"
        submitted = time.monotonic()
        job = client.submit(message=question, api_name="/chat")
        started = first_token = None
        while not job.done() and time.monotonic() < deadline:
            now = time.monotonic()
            if started is None and job.status().code in STARTED:
                started = now
            if first_token is None and job.outputs():
                first_token = now
            time.sleep(0.1)
        if not job.done():
            job.cancel()
            errors.append(f"{question}: no answer before the deadline")
            break
        finished = time.monotonic()
        try:
            (answer, _sources), _essay = job.result(timeout=10)
        except Exception as exc:  # one broken request must be reported, not end the whole run
            errors.append(f"{question}: {type(exc).__name__}: {exc}")
            continue
        if answer["content"].startswith("**Cannot answer.**"):
            errors.append(f"{question}: {answer['content']}")
        server = recorder.calls.get(question, {})
        expected = [
            m
            for q, a in zip(asked, answers, strict=True)
            for m in ({"role": "user", "content": q}, {"role": "assistant", "content": a})
        ]
        requests.append(
            {
                "question": question,
                "queue_wait": server.get("started", finished) - submitted,
                "status_wait": (started or finished) - submitted,
                "first_token": (first_token or finished) - submitted,
                "latency": finished - submitted,
                "service": finished - server.get("started", submitted),
                "history_ok": server.get("history") == expected,
            }
        )
        asked.append(question)
        answers.append(unlink_citations(answer["content"]))
    return {"session": session, "requests": requests, "errors": errors}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(sessions: int, timeout: float, data_dir: Path) -> dict:
    bot = Assistant(Settings(data_dir=data_dir))
    recorder = Recorder(bot)
    port = _free_port()
    app = serve(bot, "127.0.0.1", port, None, block=False)
    try:
        if not recorder.warm.wait(timeout):
            raise SystemExit("the model did not warm up in time")
        time.sleep(1)  # let the warm-up answer finish streaming
        rss_before = rss_mb()
        deadline = time.monotonic() + timeout
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=sessions) as pool:
            results = list(
                pool.map(lambda i: run_session(f"http://127.0.0.1:{port}/", i, recorder, deadline), range(sessions))
            )
        wall = time.monotonic() - started
        rss_after = rss_mb()
    finally:
        app.close()
    requests = [r for s in results for r in s["requests"]]
    figures = {
        key: {"p50": percentile([r[key] for r in requests], 0.5), "p95": percentile([r[key] for r in requests], 0.95)}
        for key in ("queue_wait", "status_wait", "first_token", "latency", "service")
    }
    return {
        "meta": {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "sessions": sessions,
            "questions_per_session": 3,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "model": bot.settings.model,
        },
        "answers": len(requests),
        "wall_s": wall,
        "answers_per_min": len(requests) / wall * 60,
        "seconds": figures,
        "rss_mb": {"before": rss_before["VmRSS"], "after": rss_after["VmRSS"], "peak": rss_after["VmHWM"]},
        "errors": [e for s in results for e in s["errors"]],
        "cross_talk": [r["question"] for r in requests if not r["history_ok"]],
        "sessions": results,
    }


def markdown(report: dict) -> str:
    s = report["seconds"]
    rows = [
        ("queue wait (submit to the model starting on it)", s["queue_wait"]),
        ("queue wait as seen by job.status()", s["status_wait"]),
        ("time to first token", s["first_token"]),
        ("answer latency (submit to last token)", s["latency"]),
        ("service time (model start to last token)", s["service"]),
    ]
    return "\n".join(
        [
            f"# Load test: {report['meta']['sessions']} concurrent sessions x 3 questions",
            "",
            f"Run {report['meta']['time']}, model `{report['meta']['model']}`, one answer at a time (the queue), "
            f"{platform.machine()} with the CPU shared with other work, so times are indicative.",
            "",
            f"- answers: {report['answers']}, errors: {len(report['errors'])}, cross-talk: {len(report['cross_talk'])}",
            f"- throughput: {report['answers_per_min']:.1f} answers/min over {report['wall_s']:.0f} s",
            f"- server process RSS: {report['rss_mb']['before']:.0f} MB before, "
            f"{report['rss_mb']['after']:.0f} MB after, peak {report['rss_mb']['peak']:.0f} MB",
            "",
            markdown_table(
                ["seconds", "p50", "p95"], [(name, f"{v['p50']:.1f}", f"{v['p95']:.1f}") for name, v in rows]
            ),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=2400, help="seconds for the whole run (default 2400)")
    parser.add_argument("--out-dir", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        report = run(args.sessions, args.timeout, Path(tmp))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "load.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (args.out_dir / "load.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))


if __name__ == "__main__":
    main()
