"""What verified streaming costs: the assistant against the previous answer path, same engine, same questions.

"Before" is the model's whole answer to the previous prompt (with its
"reply exactly: The essay does not say" rule), streamed straight from the
model: what the previous pipeline showed token by token, before its
whole-answer gate. "After" is ``Assistant.stream``: the current prompt,
each sentence held until the verifier passes it. The two take turns on
each question (which goes first alternates), after one throwaway
question each, so the machine's load hits both alike.

    python -m benchmarks.verification                 # the first-turn eval questions
    python -m benchmarks.verification --limit 12

Writes verification.json and verification.md to --out (benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from assistant import Assistant, Settings
from assistant.evals.dataset import load_dataset
from assistant.evals.metrics import percentile
from assistant.index.documents import default_essay_path
from assistant.prompts import Prompts, read_prompt

log = logging.getLogger("verification")
PREVIOUS = "2ca6301"  # the last commit with the previous prompt


def previous_prompts(directory: Path) -> Prompts:
    """Today's prompt files with the previous answer prompt, read from git."""
    for name in ("answer_user", "condense_system", "condense_user", "declined", "off_topic"):
        (directory / f"{name}.md").write_text(read_prompt(name), encoding="utf-8")
    old = subprocess.run(
        ["git", "show", f"{PREVIOUS}:prompts/answer_system.md"], capture_output=True, text=True, check=True
    )
    (directory / "answer_system.md").write_text(old.stdout, encoding="utf-8")
    return Prompts.load(directory)


def before(bot: Assistant, question: str) -> dict:
    """The previous path: the model's answer to the previous prompt, as it streamed."""
    start = time.perf_counter()
    first = None
    for chunk in bot.chat_model.stream(bot.prepared_prompt(question)):
        if chunk.text and first is None:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    return {"first": first if first is not None else total, "total": total}


def after(bot: Assistant, question: str) -> dict:
    start = time.perf_counter()
    first = None
    for event in bot.stream(question):
        if isinstance(event, str) and first is None:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    return {"first": first if first is not None else total, "total": total}


def p50(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N first-turn questions")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    questions = [i.question for i in load_dataset() if not i.history][: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", collection="bench", answer_cache=0)
        now = Assistant(settings)
        now.index([default_essay_path()], progress=False)
        old = Assistant(settings, prompts=previous_prompts(Path(tmp)), llm=now.chat_model)  # one model in memory
        after(now, "What is the essay about?")
        before(old, "What is the essay about?")
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for n, question in enumerate(questions):
            order = [("before", old, before), ("after", now, after)]
            for name, bot, run in order if n % 2 == 0 else order[::-1]:
                runs[name].append(run(bot, question))
            log.info("%d/%d %s", n + 1, len(questions), question)
    result = {
        name: {
            "first_p50_s": p50([r["first"] for r in rs]),
            "answer_p50_s": p50([r["total"] for r in rs]),
            "answer_p95_s": round(percentile([r["total"] for r in rs], 0.95), 3),
        }
        for name, rs in runs.items()
    }
    result["questions"] = len(questions)
    result["answer_p50_ratio"] = round(result["after"]["answer_p50_s"] / result["before"]["answer_p50_s"], 3)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "verification.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    b, a = result["before"], result["after"]
    (args.out / "verification.md").write_text(
        f"# Verified streaming against the previous answer path "
        f"({len(questions)} first-turn eval questions, interleaved)\n\n"
        "| | first text shown p50 (s) | answer p50 (s) | answer p95 (s) |\n|---|---|---|---|\n"
        f"| before: previous prompt, tokens as generated | {b['first_p50_s']} | {b['answer_p50_s']} "
        f"| {b['answer_p95_s']} |\n"
        f"| after: verified sentences | {a['first_p50_s']} | {a['answer_p50_s']} | {a['answer_p95_s']} |\n\n"
        f'Answer p50 after / before: **{result["answer_p50_ratio"]}**. "First text shown" is the first token before '
        "and the first verified sentence after.\n",
        encoding="utf-8",
    )
    print((args.out / "verification.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
