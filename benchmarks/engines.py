"""Two engines side by side in one run: the previous one (llama-cpp-python) and this checkout's (xllamacpp).

The previous engine needs its own checkout and environment, since
llama-cpp-python compiles from source::

    git worktree add --detach ../old <commit before the switch>
    python -m venv ../venv-old && ../venv-old/bin/pip install -e ../old   # ~12 min: compiles llama.cpp
    python -m benchmarks.engines --old-python ../venv-old/bin/python --old-root ../old

Measures, alternating the engines so the machine's load falls on both alike:

- cold start: a new process's first answer with an empty cache (the model
  assembled from its part packages, the index built, the prefix read), then
  a new process with the cache filled (the saved prefix restored);
- single user: time to first token and answer latency over the same
  first-turn eval questions, one engine then the other per question, each
  a long-lived process;
- with ``--load``: each engine's own ``benchmarks/load.py`` (20 sessions x 3
  questions through the web UI), one after the other.

Writes engines.json and engines.md to --out (benchmarks/results). Times are
wall-clock on a shared machine: read the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant import Settings
from assistant.evals.dataset import load_dataset
from assistant.evals.metrics import percentile
from assistant.models.model_file import ensure_model_file

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COLD_QUESTION = "Who wrote this essay?"


class Engine:
    def __init__(self, name: str, python: str, root: Path) -> None:
        self.name, self.python, self.root = name, python, root

    def env(self, cache: Path, data: Path) -> dict:
        return os.environ | {
            "ESSAY_ASSISTANT_CACHE_DIR": str(cache),
            "ESSAY_ASSISTANT_DATA_DIR": str(data),
            "PYTHONPATH": str(self.root),
        }


def cold_start(engine: Engine, cache: Path) -> float:
    """Seconds from a new process to its first answer through the CLI, as a user runs it."""
    with tempfile.TemporaryDirectory() as data:
        start = time.perf_counter()
        subprocess.run(
            [engine.python, "-m", "assistant", "ask", COLD_QUESTION],
            env=engine.env(cache, Path(data)),
            cwd=engine.root,
            check=True,
            capture_output=True,
        )
        return round(time.perf_counter() - start, 2)


def bench_cold(engines: list[Engine], work: Path) -> dict:
    caches = {e.name: work / f"cache-{e.name}" for e in engines}
    out: dict = {e.name: {} for e in engines}
    for e in engines:  # a fresh machine: nothing assembled, no index, no saved prefix
        out[e.name]["first_answer_fresh_s"] = cold_start(e, caches[e.name])
    for run in range(2):  # later starts: the model file and the saved prefix are there
        for e in engines if run == 0 else reversed(engines):
            out[e.name].setdefault("later_cold_start_s", []).append(cold_start(e, caches[e.name]))
    for e in engines:
        out[e.name]["later_cold_start_s"] = round(statistics.median(out[e.name]["later_cold_start_s"]), 2)
    return out


class Worker:
    def __init__(self, engine: Engine, cache: Path, data: Path) -> None:
        self.proc = subprocess.Popen(
            [engine.python, str(HERE / "engine_worker.py")],
            env=engine.env(cache, data),
            cwd=engine.root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self._line() == "READY"

    def _line(self) -> str:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the worker exited")
            if line.startswith(("READY", "RESULT ")):
                return line.strip()

    def ask(self, question: str) -> dict:
        self.proc.stdin.write(json.dumps({"question": question}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self._line()[len("RESULT ") :])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=120)


def bench_single(engines: list[Engine], work: Path, n: int) -> dict:
    items = [i for i in load_dataset() if not i.history][:n]
    model = ensure_model_file(Settings().cache_dir)
    workers = {}
    for e in engines:
        cache = work / f"single-{e.name}"
        (cache / "models").mkdir(parents=True)
        for f in model.parent.glob(model.name + "*"):
            (cache / "models" / f.name).symlink_to(f)
        workers[e.name] = Worker(e, cache, work / f"single-data-{e.name}")
    runs: dict[str, list[dict]] = {e.name: [] for e in engines}
    try:
        for w in workers.values():
            w.ask("What is the essay about?")  # reads the prefix, warms the caches
        for k, item in enumerate(items):
            order = engines if k % 2 == 0 else list(reversed(engines))
            for e in order:
                runs[e.name].append(workers[e.name].ask(item.question))
    finally:
        for w in workers.values():
            w.close()
    out = {}
    for e in engines:
        r = runs[e.name]
        out[e.name] = {
            "questions": len(r),
            "ttft_p50_s": round(statistics.median(x["ttft"] for x in r), 3),
            "answer_p50_s": round(statistics.median(x["total"] for x in r), 3),
            "answer_p95_s": round(percentile([x["total"] for x in r], 0.95), 3),
            "peak_rss_mb": round(max(x["peak_rss_mb"] for x in r)),
            "same_answer_as_first_engine": None,
        }
    first = engines[0].name
    for e in engines[1:]:
        out[e.name]["same_answer_as_first_engine"] = sum(
            a["text"] == b["text"] for a, b in zip(runs[first], runs[e.name], strict=True)
        )
    return out


def bench_load(engines: list[Engine], work: Path, sessions: int) -> dict:
    out = {}
    for e in engines:
        target = work / f"load-{e.name}"
        subprocess.run(
            [e.python, str(e.root / "benchmarks" / "load.py"), "--sessions", str(sessions), "--out-dir", str(target)],
            env=e.env(Path(Settings().cache_dir), work / f"load-data-{e.name}"),
            cwd=e.root,
            check=True,
        )
        report = json.loads((target / "load.json").read_text(encoding="utf-8"))
        out[e.name] = {
            "answers": report["answers"],
            "errors": len(report["errors"]),
            "cross_talk": len(report["cross_talk"]),
            "answers_per_min": round(report["answers_per_min"], 2),
            "queue_wait_p50_s": round(report["seconds"]["queue_wait"]["p50"], 1),
            "queue_wait_p95_s": round(report["seconds"]["queue_wait"]["p95"], 1),
            "latency_p95_s": round(report["seconds"]["latency"]["p95"], 1),
            "first_token_p50_s": round(report["seconds"]["first_token"]["p50"], 1),
            "peak_rss_mb": round(report["rss_mb"]["peak"]),
        }
    return out


def bench_answer_cache(work: Path, repeats: int = 20) -> dict:
    """This checkout only: a repeated first-turn question, generated once and then served from the cache."""
    from assistant import Assistant

    bot = Assistant(Settings(data_dir=work / "answer-cache-data"))
    start = time.perf_counter()
    first = bot.ask(COLD_QUESTION)
    miss = time.perf_counter() - start
    hits = []
    for _ in range(repeats):
        start = time.perf_counter()
        again = bot.ask(COLD_QUESTION.upper() + "  ")
        hits.append(time.perf_counter() - start)
        assert again is first
    return {
        "miss_s": round(miss, 3),
        "hit_p50_ms": round(statistics.median(hits) * 1000, 2),
        "hit_p95_ms": round(percentile(hits, 0.95) * 1000, 2),
        "repeats": repeats,
    }


def ratios(result: dict, old: str, new: str) -> dict:
    out = {}
    for section in ("cold", "single", "load"):
        if section not in result:
            continue
        a, b = result[section][old], result[section][new]
        for key, value in a.items():
            if isinstance(value, (int, float)) and value and isinstance(b.get(key), (int, float)):
                out[f"{section}.{key}"] = round(b[key] / value, 2)
    return out


def markdown(result: dict) -> str:
    old, new = result["meta"]["engines"]
    lines = [
        f"# Engines side by side: `{old}` and `{new}`",
        "",
        f"Run {result['meta']['time']} on {result['meta']['machine']} ({os.cpu_count()} cores, shared with other "
        "work): compare the ratio column, not the seconds.",
        "",
        f"| figure | {old} | {new} | {new} / {old} |",
        "|---|---|---|---|",
    ]
    for section in ("cold", "single", "load"):
        for key in result.get(section, {}).get(old, {}):
            a, b = result[section][old][key], result[section][new].get(key)
            ratio = result["ratios"].get(f"{section}.{key}", "")
            lines.append(f"| {section}: {key} | {a} | {b} | {ratio} |")
    if "answer_cache" in result:
        c = result["answer_cache"]
        lines += [
            "",
            f"Answer cache ({new}): a repeated first-turn question took {c['miss_s']} s to generate, then "
            f"{c['hit_p50_ms']} ms p50 / {c['hit_p95_ms']} ms p95 from the cache ({c['repeats']} repeats).",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-python", required=True)
    parser.add_argument("--old-root", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--skip", nargs="*", default=[], choices=["cold", "single", "cache"])
    parser.add_argument(
        "--load", action="store_true", help="also run each engine's load test (20 sessions x 3 questions)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    engines = [
        Engine("llama-cpp-python", args.old_python, args.old_root.resolve()),
        Engine("xllamacpp", sys.executable, ROOT),
    ]
    result: dict = {
        "meta": {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": platform.machine(),
            "engines": [e.name for e in engines],
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "cold" not in args.skip:
            result["cold"] = bench_cold(engines, work)
            print(json.dumps(result["cold"]), flush=True)
        if "single" not in args.skip:
            result["single"] = bench_single(engines, work, args.questions)
            print(json.dumps(result["single"]), flush=True)
        if "cache" not in args.skip:
            result["answer_cache"] = bench_answer_cache(work)
            print(json.dumps(result["answer_cache"]), flush=True)
        if args.load:
            result["load"] = bench_load(engines, work, args.sessions)
            print(json.dumps(result["load"]), flush=True)
    result["ratios"] = ratios(result, engines[0].name, engines[1].name)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "engines" + ("-load" if args.load and {"cold", "single"} <= set(args.skip) else "")
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / f"{name}.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
