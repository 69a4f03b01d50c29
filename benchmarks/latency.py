"""Latency of the embedded default over the eval questions.

    python benchmarks/latency.py [--limit N] [--out benchmarks/results/latency.json]

Reports cold start (new process state to first answer, model already
assembled), index build time, and over the questions: time to first token
and end-to-end latency (p50, p95), and peak RSS. A fuller benchmark suite
(baselines, corpus scaling) is tracked separately.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from assistant import Assistant, Settings
from assistant._dataset import load_dataset
from assistant._metrics import percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/latency.json"))
    args = parser.parse_args()

    items = load_dataset()[: args.limit or None]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        bot = Assistant(Settings(data_dir=Path(tmp)))
        t_index = time.perf_counter()
        bot.index(progress=False)
        index_s = time.perf_counter() - t_index
        first = bot.ask(items[0].question, items[0].history)
        cold_s = time.perf_counter() - t0

        ttft, total = [], []
        for item in items:
            start = time.perf_counter()
            first_token = None
            for event in bot.stream(item.question, item.history):
                if first_token is None and isinstance(event, str):
                    first_token = time.perf_counter() - start
            total.append(time.perf_counter() - start)
            ttft.append(first_token if first_token is not None else total[-1])

    result = {
        "questions": len(items),
        "cold_start_to_first_answer_s": round(cold_s, 2),
        "index_build_s": round(index_s, 3),
        "ttft_p50_s": round(statistics.median(ttft), 3),
        "ttft_p95_s": round(percentile(ttft, 0.95), 3),
        "answer_p50_s": round(statistics.median(total), 3),
        "answer_p95_s": round(percentile(total, 0.95), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "first_answer": first.text,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
