"""The answer path of an earlier commit against today's, same engine, same questions, in one run.

Each side is today's ``benchmarks/engine_worker.py`` in its own process,
importing today's ``assistant`` from this checkout or the earlier one from
a temporary git worktree of ``--before`` (default: the commit before the
numbered-sentence answers).
The two take turns on each question (which goes first alternates), after
one throwaway question each, so the machine's load hits both alike; a
worker waiting its turn uses no CPU.

    python -m benchmarks.verification                 # the first-turn eval questions
    python -m benchmarks.verification --limit 12

Writes verification.json and verification.md to --out (benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from assistant.evals.dataset import load_dataset
from assistant.evals.metrics import percentile
from benchmarks.tables import verification_table

log = logging.getLogger("verification")
ROOT = Path(__file__).resolve().parents[1]
BEFORE = "e40c8e6"  # the last commit that answered from overlapping passages


class Worker:
    """One answer path in its own process, on its own copy of the model and index."""

    def __init__(self, code: Path, data: Path) -> None:
        env = os.environ | {"PYTHONPATH": str(code), "ESSAY_ASSISTANT_DATA_DIR": str(data)}
        self._proc = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "engine_worker.py")],  # today's worker, either code
            cwd=code,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.ready = self._read("READY")

    def _read(self, prefix: str) -> str:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        raise RuntimeError(f"worker exited with {self._proc.wait()}")

    def ask(self, question: str) -> dict:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"question": question}) + "\n")
        self._proc.stdin.flush()
        return json.loads(self._read("RESULT "))

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=60)


def p50(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def report(result: dict) -> str:
    return (
        f"# Today's answer path against `{result['before_commit']}` ({result['questions']} first-turn eval questions, "
        "interleaved)\n\n" + verification_table(result)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help=f"the earlier commit (default {BEFORE})")
    parser.add_argument("--limit", type=int, help="only the first N first-turn questions")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    questions = [i.question for i in load_dataset() if not i.history][: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.before], check=True)
        try:
            workers = {"before": Worker(tree, Path(tmp) / "before-data"), "after": Worker(ROOT, Path(tmp) / "data")}
            prefix = {name: json.loads(w.ready or "{}").get("prefix_tokens") for name, w in workers.items()}
            for w in workers.values():
                w.ask("What is the essay about?")
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for n, question in enumerate(questions):
                order = ["before", "after"] if n % 2 == 0 else ["after", "before"]
                for name in order:
                    runs[name].append(workers[name].ask(question))
                log.info("%d/%d %s", n + 1, len(questions), question)
            for w in workers.values():
                w.close()
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    result: dict = {
        name: {
            "first_p50_s": p50([r["ttft"] for r in rs]),
            "answer_p50_s": p50([r["total"] for r in rs]),
            "answer_p95_s": round(percentile([r["total"] for r in rs], 0.95), 3),
            "prefix_tokens": prefix[name],
        }
        for name, rs in runs.items()
    }
    result |= {"before_commit": args.before, "questions": len(questions)}
    result["answer_p50_ratio"] = round(result["after"]["answer_p50_s"] / result["before"]["answer_p50_s"], 3)
    result["first_p50_ratio"] = round(result["after"]["first_p50_s"] / result["before"]["first_p50_s"], 3)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "verification.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / "verification.md").write_text(report(result), encoding="utf-8")
    print((args.out / "verification.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
