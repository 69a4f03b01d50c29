"""Best-of-N: do several candidate answers, with the verifier choosing, pay for their latency?

    python -m benchmarks.best_of_n --limit 30          # dev items only: this is a tuning measurement

For each first-turn dev item, the greedy answer and ``--n`` - 1 sampled
ones (temperature ``--temperature``) are generated; each is replayed
through the verifier, and the candidate with the most sentences shown as
written (then the fewest dropped) is kept. Reports items passed with the
greedy answer alone and with the chosen one, and the generation time of
one answer alone against N at once in N parallel slots of one server (the
time to the last of them), both measured in this run. Writes best_of_n.json
and best_of_n.md to --out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant import Assistant, Settings
from assistant.evals.dataset import load_dataset
from assistant.evals.runner import run_eval
from assistant.index.embeddings import MiniLMEmbeddings
from assistant.verification import MeaningVerifier
from benchmarks.tables import best_of_n_table


def generate(bot: Assistant, item, temperature: float) -> str:
    llm = bot.chat_model.bind(temperature=temperature, seed=int(temperature * 1000)) if temperature else bot.chat_model
    return "".join(c.text for c in llm.stream(bot.prepared_prompt(item.question, item.history or None)))


def judged(items, texts: list[str], embeddings) -> list[dict]:
    llm = GenericFakeChatModel(messages=iter([AIMessage(t or " ") for t in texts]))
    verifier = MeaningVerifier(embeddings)
    return run_eval(items, Settings(), llm=llm, embeddings=embeddings, verifier=verifier, progress=False)["items"]


def report(result: dict) -> str:
    return f"# Best-of-{result['n']} on {result['items']} first-turn dev items\n\n" + best_of_n_table(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    items = [i for i in load_dataset() if i.split == "dev" and not i.history][: args.limit]
    bot = Assistant(Settings(answer_cache=0, slots=args.n))
    embeddings = MiniLMEmbeddings()
    temperatures = [0.0] + [args.temperature + 0.001 * c for c in range(1, args.n)]
    candidates: list[list[str]] = [[] for _ in range(args.n)]
    alone, together = [], []
    generate(bot, items[0], 0.0)  # the prefix is read once, into every slot
    with ThreadPoolExecutor(args.n) as pool:
        for item in items:
            start = time.perf_counter()
            generate(bot, item, 0.0)
            alone.append(time.perf_counter() - start)
            start = time.perf_counter()
            texts = list(pool.map(lambda t, it=item: generate(bot, it, t), temperatures))
            together.append(time.perf_counter() - start)
            for c, text in enumerate(texts):
                candidates[c].append(text)
    scored = [judged(items, texts, embeddings) for texts in candidates]
    chosen = []
    for n in range(len(items)):
        options = [s[n] for s in scored]
        best = max(options, key=lambda r: (r["sentences"] - r.get("quoted", 0), -r.get("dropped", 0), -r["declined"]))
        chosen.append(best["passed"])
    greedy_time, parallel = statistics.median(alone), statistics.median(together)
    result = {
        "items": len(items),
        "n": args.n,
        "temperature": args.temperature,
        "greedy_passed": sum(r["passed"] for r in scored[0]),
        "best_of_n_passed": sum(chosen),
        "oracle_passed": sum(any(s[n]["passed"] for s in scored) for n in range(len(items))),
        "greedy_generation_p50_s": round(greedy_time, 3),
        "best_of_n_generation_p50_s": round(parallel, 3),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "best_of_n.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / "best_of_n.md").write_text(report(result), encoding="utf-8")
    print((args.out / "best_of_n.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
