"""One engine in its own process for benchmarks/engines.py: reads questions as JSON lines, answers with timings.

It uses only the public API, so the same file drives today's code and the
previous engine's (run it with that checkout's Python). The answer cache is
off, so every answer is generated.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from assistant import Answer, Assistant, Settings


def prefix_tokens(bot: Assistant) -> int | None:
    """Tokens of the cached system prompt, counted by the model's own tokenizer (llama.cpp's /tokenize)."""
    engine = getattr(bot.chat_model, "_engine", None)
    if engine is None:
        return None
    system = bot.prepared_prompt("What is the essay about?")[0].text
    return len(engine._post("/tokenize", {"content": system})["tokens"])


def main() -> None:
    bot = Assistant(Settings(answer_cache=0) if "answer_cache" in Settings.model_fields else Settings())
    bot.ensure_index()
    print("READY " + json.dumps({"prefix_tokens": prefix_tokens(bot)}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        start = time.perf_counter()
        first, text = None, ""
        for event in bot.stream(command["question"], command.get("history") or None):
            if isinstance(event, str) and event:
                first = first if first is not None else time.perf_counter() - start
            elif isinstance(event, Answer):
                text = event.text
        total = time.perf_counter() - start
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            "RESULT "
            + json.dumps(
                {"ttft": first if first is not None else total, "total": total, "text": text, "peak_rss_mb": rss}
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
