"""The benchmark suite for the embedded default, on this machine.

    pip install -e '.[bench]'
    python -m benchmarks.run                 # about 30-40 min on 2 cores
    python -m benchmarks.run --quick         # a smoke run: 5 questions, corpus sizes 1x and 10x

Writes benchmark.json, benchmark.md and benchmark.png to --out
(benchmarks/results). Measures:

- cold start (a new process to its first answer, model already assembled),
  with and without the saved prompt prefix;
- over the eval questions: time to first token, end-to-end latency,
  tokens/s and peak RSS, against the raw llama.cpp call on the same
  prompt (the assistant's overhead);
- on a fixed subset of the questions, accuracy and latency against the
  LangChain tutorial recipe and a plain whole-essay prompt (benchmarks/arms.py);
- index build time, retrieval latency and retrieval quality as the corpus
  grows to 10x, 100x and 1000x the essay with unrelated synthetic documents,
  and answer quality at 100x, where the corpus no longer fits the prompt.

Timings are wall-clock on a shared machine: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from assistant import Assistant, Settings
from assistant.answer import is_decline
from assistant.evals.dataset import load_dataset
from assistant.evals.metrics import facts_found, percentile, quote_spans, retrieval_scores
from assistant.evals.runner import run_eval
from assistant.index.documents import default_essay_path, load_document
from assistant.models.model_file import ensure_model_file
from benchmarks.arms import forget_question, raw_stream, tutorial_arm, whole_essay_arm
from benchmarks.synthetic import write_corpus
from benchmarks.tables import scaling_table

log = logging.getLogger("benchmark")
# The baselines decline in their own words; one broad detector scores every arm alike.
_DECLINED = re.compile(
    r"don't know|do not know|not (mentioned|provided|specified|stated)|no information|cannot answer|"
    r"does not (say|mention|provide|specify|state)",
    re.IGNORECASE,
)
TARGETS = {  # issue 5's speed targets
    "answer_p50_s": 0.6,
    "answer_p95_s": 1.5,
    "ttft_p50_s": 0.3,
    "cold_start_s": 15.0,
    "index_build_s": 2.0,
    "peak_rss_mb": 2500,
    "retrieval_p50_ms_1000x": 50.0,
    "overhead_ratio": 1.10,
}


def p50_p95(values: list[float]) -> tuple[float, float]:
    return round(statistics.median(values), 3), round(percentile(values, 0.95), 3)


def timed_stream(stream) -> dict:
    start, first, text, pieces = time.perf_counter(), None, "", 0
    for piece in stream:
        if isinstance(piece, str) and piece:
            first = first if first is not None else time.perf_counter() - start
            text += piece
            pieces += 1
        elif not isinstance(piece, str):
            text = piece.text  # the assistant's final Answer: grounded, with citations attached
    total = time.perf_counter() - start
    first = first if first is not None else total
    return {"text": text, "ttft": first, "total": total, "tokens": pieces, "tok_s": pieces / max(total - first, 1e-6)}


def correct(item, text: str) -> bool:
    declined = is_decline(text) or bool(_DECLINED.search(text))
    return (all(facts_found(text, item.required_facts)) and not declined) if item.answerable else declined


def summarise(runs: list[dict], items) -> dict:
    ans = [correct(i, r["text"]) for i, r in zip(items, runs, strict=True) if i.answerable]
    unans = [correct(i, r["text"]) for i, r in zip(items, runs, strict=True) if not i.answerable]
    return {
        "questions": len(runs),
        "answerable_correct": round(statistics.mean(ans), 3) if ans else None,
        "unanswerable_declined": round(statistics.mean(unans), 3) if unans else None,
        "ttft_p50_s": p50_p95([r["ttft"] for r in runs])[0],
        "answer_p50_s": p50_p95([r["total"] for r in runs])[0],
        "answer_p95_s": p50_p95([r["total"] for r in runs])[1],
        "tokens_per_s_p50": round(statistics.median(r["tok_s"] for r in runs if r["tokens"] > 1), 1),
    }


def run_arm(name: str, arm, items) -> list[dict]:
    return [timed_stream(arm(i.question, i.history)) for i in tqdm(items, desc=name, unit="q")]


def cold_start(cache_dir: Path) -> float:
    """Seconds from a new Python process to its first answer (the model file is linked, not assembled)."""
    with tempfile.TemporaryDirectory() as data:
        code = "from assistant import Assistant; Assistant().ask('Who wrote this essay?')"
        env = os.environ | {"ESSAY_ASSISTANT_DATA_DIR": data, "ESSAY_ASSISTANT_CACHE_DIR": str(cache_dir)}
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
        return round(time.perf_counter() - start, 2)


def bench_cold_start(model_file: Path) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        (Path(cache) / "models").mkdir()
        for f in model_file.parent.glob(model_file.name + "*"):  # the model and its verified marker
            (Path(cache) / "models" / f.name).symlink_to(f)
        first = cold_start(Path(cache))  # reads the essay prefix and saves its KV state
        again = cold_start(Path(cache))  # loads the saved state
    return {"cold_start_first_run_s": first, "cold_start_s": again}


def bench_scaling(factors: list[int], items, k: int) -> list[dict]:
    essay = load_document(default_essay_path())
    queries = [(i, quote_spans(essay.text, i.supporting_quotes)) for i in items if i.answerable and not i.history]
    rows = []
    for factor in factors:
        with tempfile.TemporaryDirectory() as tmp:
            extra = write_corpus(Path(tmp) / "corpus", factor - 1, len(essay.text))
            bot = Assistant(Settings(data_dir=Path(tmp) / "data"))
            start = time.perf_counter()
            bot.index([default_essay_path(), *extra], progress=False)
            bot.search("warm up the keyword index", k)  # BM25 is built on first search
            index_s = time.perf_counter() - start
            secs, scores = [], []
            for item, quotes in queries:
                t0 = time.perf_counter()
                found = bot.search(item.question, k)
                secs.append(time.perf_counter() - t0)
                spans = [(p.chunk.start, p.chunk.end) if p.chunk.doc_id == essay.id else (-1, -1) for p in found]
                scores.append(retrieval_scores(spans, quotes, k))
            p50, p95 = p50_p95([1000 * s for s in secs])
            rows.append(
                {
                    "factor": factor,
                    "documents": factor,
                    "chunks": bot.chunk_count,
                    "index_build_s": round(index_s, 2),
                    "retrieval_p50_ms": p50,
                    "retrieval_p95_ms": p95,
                    "hit_at_k": round(statistics.mean(s["hit"] for s in scores), 3),
                    "recall_at_k": round(statistics.mean(s["recall"] for s in scores), 3),
                }
            )
            log.info("scaling %s", rows[-1])
    return rows


def bench_scale_quality(factor: int, items) -> dict:
    essay_chars = len(load_document(default_essay_path()).text)
    with tempfile.TemporaryDirectory() as tmp:
        extra = write_corpus(Path(tmp), factor - 1, essay_chars)
        agg = run_eval(items, Settings(), extra_documents=extra)["aggregate"]
    keys = ("passed", "answerable_accuracy", "wrongly_declined", "decline_recall", "recall_at_k", "latency_p50_s")
    return {"factor": factor, "questions": len(items)} | {k: agg[k] for k in keys}


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["factor"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(sizes, [r["retrieval_p50_ms"] for r in rows], "o-", label="p50")
    left.plot(sizes, [r["retrieval_p95_ms"] for r in rows], "s--", label="p95")
    left.axhline(TARGETS["retrieval_p50_ms_1000x"], color="grey", lw=0.8, label="50 ms target")
    left.set(
        xscale="log", xlabel="corpus size (x the essay)", ylabel="retrieval latency (ms)", title="Hybrid retrieval, k=4"
    )
    left.legend()
    right.plot(sizes, [r["index_build_s"] for r in rows], "o-")
    right.set(
        xscale="log", yscale="log", xlabel="corpus size (x the essay)", ylabel="index build (s)", title="Index build"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown(result: dict) -> str:
    a, s = result["answers"], result["speed"]
    lines = [
        f"Benchmark on {result['machine']}, commit `{result['commit']}`, {result['time']}.",
        "",
        "| speed | measured | target |",
        "|---|---|---|",
    ]
    for key, value in s.items():
        lines.append(f"| {key} | {value} | {'<= ' + str(TARGETS[key]) if key in TARGETS else ''} |")
    lines += [
        "",
        f"Arms on the same {a['subset_questions']} questions (every 4th eval item):",
        "",
        "| arm | answerable correct | unanswerable declined | TTFT p50 (s) | answer p50 (s) | answer p95 (s) "
        "| tokens/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in a["arms"].items():
        lines.append(
            f"| {name} | {m['answerable_correct']} | {m['unanswerable_declined']} | {m['ttft_p50_s']} | "
            f"{m['answer_p50_s']} | {m['answer_p95_s']} | {m['tokens_per_s_p50']} |"
        )
    lines += ["", scaling_table(result["scaling"]).rstrip("\n")]
    if q := result.get("scale_quality"):
        lines += [
            "",
            f"Answers at {q['factor']}x (top-k retrieval, {q['questions']} questions): "
            f"{q['passed']} passed, answerable accuracy {q['answerable_accuracy']}, wrong declines "
            f"{q['wrongly_declined']}, decline recall {q['decline_recall']}, recall@4 {q['recall_at_k']}, "
            f"latency p50 {q['latency_p50_s']} s.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 questions, corpus sizes 1x and 10x: a smoke run")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    items = load_dataset()
    subset = items[::4]
    factors = [1, 10, 100, 1000]
    if args.quick:
        items, subset, factors = items[:5], items[:5], [1, 10]
    model_file = ensure_model_file(Settings().cache_dir)
    result: dict = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": f"{os.cpu_count()} CPUs, {sys.platform}"}
    result["commit"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    speed = bench_cold_start(model_file)

    with tempfile.TemporaryDirectory() as tmp:
        bot = Assistant(Settings(data_dir=Path(tmp)))
        start = time.perf_counter()
        bot.index(progress=False)
        speed["index_build_s"] = round(time.perf_counter() - start, 3)
        llm = bot.chat_model
        # The assistant and the raw call take turns on each question (which goes first alternates), each
        # after a throwaway question: both find the essay prefix cached and their question new, and a slow
        # spell on the shared machine hits both. Two whole passes, one after the other, drifted apart:
        # a 1.10 ratio in one run, 1.18 in the next, although the code between them added under 30 ms.
        ours, raw = [], []
        for n, item in enumerate(tqdm(items, desc="assistant and raw llama.cpp", unit="q")):
            messages = bot.prepared_prompt(item.question, item.history)
            turns = [
                lambda item=item: ours.append(timed_stream(bot.stream(item.question, item.history))),
                lambda messages=messages: raw.append(timed_stream(raw_stream(llm, messages))),
            ]
            for turn in turns if n % 2 == 0 else turns[::-1]:
                forget_question(bot, llm)
                turn()
        speed["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        mine, theirs = summarise(ours, items), summarise(raw, items)
        speed |= {k: mine[k] for k in ("ttft_p50_s", "answer_p50_s", "answer_p95_s", "tokens_per_s_p50")}
        speed["raw_answer_p50_s"] = theirs["answer_p50_s"]
        speed["overhead_ratio"] = round(
            statistics.median(o["total"] / r["total"] for o, r in zip(ours, raw, strict=True)), 3
        )
        arms = {"assistant": summarise([ours[items.index(i)] for i in subset], subset)}
        arms["raw llama.cpp, same prompt"] = summarise([raw[items.index(i)] for i in subset], subset)
        arms["whole essay, plain prompt"] = summarise(run_arm("whole essay", whole_essay_arm(llm), subset), subset)
        arms["LangChain tutorial recipe"] = summarise(
            run_arm("tutorial", tutorial_arm(llm, bot.store.embeddings), subset), subset
        )
    result["answers"] = {"all_questions": mine, "subset_questions": len(subset), "arms": arms}

    result["scaling"] = bench_scaling(factors, items, k=4)
    speed["retrieval_p50_ms_1000x"] = next(
        (r["retrieval_p50_ms"] for r in result["scaling"] if r["factor"] == 1000), None
    )
    if 100 in factors:
        result["scale_quality"] = bench_scale_quality(100, subset)
    result["speed"] = speed

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmark.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / "benchmark.md").write_text(markdown(result), encoding="utf-8")
    plot(result["scaling"], args.out / "benchmark.png")
    print(markdown(result))


if __name__ == "__main__":
    main()
