"""The benchmark tables and figures in the docs, rendered from ``benchmarks/results/*.json`` so no page quotes a
run that is not there.

    python -m benchmarks.tables            # rewrite every marked region in README.md and docs/*.md
    python -m benchmarks.tables --check    # name each region that differs from its JSON; exit 1 if any

A table region is a pair of lines, ``<!-- table: NAME -->`` and ``<!-- /table -->``, NAME a key of ``TABLES``.
A figure in prose is inline, ``<!-- figure: FILE | KEY | SPEC -->1,370<!-- /figure -->``: the value at the
dotted KEY of ``results/FILE.json`` (keys may hold spaces), formatted with the Python format SPEC (``,`` or
``.2f``; `` | SPEC`` may be left out). The benchmark scripts write their own reports with the same table
functions.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger("tables")
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# Issue 20's targets for the answer path; issue 13's for the engine.
ANSWER_TARGETS = {
    "answerable_accuracy": "≥ 0.90",
    "wrongly_declined": "≤ 0.03",
    "decline_recall": "≥ 0.95",
    "false_premise_handled": "≥ 0.95",
    "forbidden_shown": "0",
}
ENGINE_TARGETS = {
    "first_answer_fresh_s": "≤ 25 s",
    "later_cold_start_s": "≤ 6 s",
    "ttft_p50_s": "≤ 1.05×",
    "answer_p50_s": "≤ 1.05×",
    "peak_rss_mb": "≤ 2.5 GB",
    "answers_per_min": "≥ 1.3×",
    "queue_wait_p95": "≤ 0.7×",
}


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """The one Markdown table writer: the docs' regions and the scripts' reports look alike."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(new: float, old: float) -> str:
    return f"{new / old:.2f}"


# Answer path ---------------------------------------------------------------


def answer_table(splits: dict[str, dict]) -> str:
    """The answer path on each eval split, against issue 20's targets."""
    dev, test = splits["dev"], splits["test"]
    metrics = [
        ("answerable correct", "answerable_accuracy"),
        ("answerable wrongly declined", "wrongly_declined"),
        ("decline recall (cannot be answered)", "decline_recall"),
        ("false premise declined or corrected", "false_premise_handled"),
        ("answers showing a forbidden pattern", "forbidden_shown"),
        ("answers quoting the essay", "quoted_share"),
        ("groundedness", "groundedness"),
    ]
    rows: list[list[object]] = [
        ["items passed", f"{dev['passed']}/{dev['items']}", f"{test['passed']}/{test['items']}", ""]
    ]
    for label, key in metrics:
        cells = [dev.get(key), test.get(key)]
        shown = [str(c) if isinstance(c, int) else _f(c) for c in cells]
        rows.append([label, *shown, ANSWER_TARGETS.get(key, "")])
    return markdown_table(
        ["metric", f"`dev` ({dev['items']} items)", f"`test` ({test['items']} items)", "target"], rows
    )


def rules_table(runs: dict[str, dict]) -> str:
    """Each verifier rule off in turn, one row a rule: the same model text, only the rules differ."""
    rows = []
    for name, run in runs.items():
        dev, test = run["splits"]["dev"], run["splits"]["test"]
        rule = "none (all rules)" if name == "all rules" else f"`{name.removeprefix('without ')}`"
        rows.append(
            [
                rule,
                dev["passed"],
                _f(dev["answerable_accuracy"]),
                _f(dev["decline_recall"], 2),
                test["passed"],
                _f(test["answerable_accuracy"]),
                _f(test["wrongly_declined"]),
                _f(test["decline_recall"], 2),
                _f(test["false_premise_handled"], 1),
                test["forbidden_shown"],
            ]
        )
    header = ["rule off", "dev passed", "answerable", "recall", "test passed", "answerable", "wrongly declined"]
    return markdown_table([*header, "recall", "false premise", "forbidden"], rows)


def verification_table(r: dict) -> str:
    """Today's answer path against an earlier commit's, from one interleaved run."""
    b, a = r["before"], r["after"]
    rows = [
        [
            f"before (`{r['before_commit']}`)",
            f"{b['prefix_tokens']:,}",
            b["first_p50_s"],
            b["answer_p50_s"],
            b["answer_p95_s"],
        ],
        ["after", f"{a['prefix_tokens']:,}", a["first_p50_s"], a["answer_p50_s"], a["answer_p95_s"]],
        [
            "after / before",
            _ratio(a["prefix_tokens"], b["prefix_tokens"]),
            r["first_p50_ratio"],
            r["answer_p50_ratio"],
            _ratio(a["answer_p95_s"], b["answer_p95_s"]),
        ],
    ]
    header = ["", "prefix tokens (llama.cpp's tokenizer)", "first verified sentence p50 (s)", "answer p50 (s)"]
    return markdown_table([*header, "answer p95 (s)"], rows)


def best_of_n_table(r: dict) -> str:
    """Greedy alone against the best of N chosen by the verifier, on the same items."""
    n = r["n"]
    return markdown_table(
        ["", "items passed", "generation p50 (s)"],
        [
            ["greedy alone", f"{r['greedy_passed']}/{r['items']}", r["greedy_generation_p50_s"]],
            [
                f"best of {n}, chosen by the verifier",
                f"{r['best_of_n_passed']}/{r['items']}",
                f"{r['best_of_n_generation_p50_s']} ({n} parallel slots)",
            ],
            [f"any of {n} passes (oracle)", f"{r['oracle_passed']}/{r['items']}", ""],
        ],
    )


# Clients, engines, load -------------------------------------------------------


def clients_table(r: dict) -> str:
    """The CLI through a running server against the server's own answer."""
    rows = [
        ["server's own answer (`POST /api/ask`, warm client)", f"{r['server_p50_s']:.2f}", r["server_peak_rss_mb"]],
        ["`essay-assistant ask` process through the server", f"{r['cli_p50_s']:.2f}", r["cli_peak_rss_mb"]],
        [
            f"CLI / server (median of per-question ratios {r['median_of_ratios']:.2f})",
            f"{r['ratio_of_medians']:.2f}",
            "",
        ],
    ]
    return markdown_table(["", "answer p50 (s)", "peak RSS (MB)"], rows)


def engines_table(engines: dict, old_load: dict, new_load: dict) -> str:
    """The two engines side by side (cold and single-user from one run; load from the two load runs)."""
    old, new = engines["meta"]["engines"]
    cold, single = engines["cold"], engines["single"]

    def row(label: str, section: dict, key: str, unit: str = " s") -> list[object]:
        a, b = section[old][key], section[new][key]
        return [label, f"{a}{unit}", f"{b}{unit}", _ratio(b, a), ENGINE_TARGETS.get(key, "")]

    same = single[new]["same_answer_as_first_engine"]
    rows: list[list[object]] = [
        row("first answer, fresh cache (assemble model, index, read prefix)", cold, "first_answer_fresh_s"),
        row("later cold start (CLI `ask`, saved prefix)", cold, "later_cold_start_s"),
        row(f"single user, time to first token p50 ({single[new]['questions']} questions)", single, "ttft_p50_s"),
        row("single user, answer p50", single, "answer_p50_s"),
        row("single user, answer p95", single, "answer_p95_s"),
        ["same answer text on the same question", "", f"{same} of {single[new]['questions']}", "", ""],
        row("peak RSS of one assistant process", single, "peak_rss_mb", " MB"),
        [
            "load test: throughput (answers/min)",
            f"{old_load['answers_per_min']:.2f}",
            f"{new_load['answers_per_min']:.2f}",
            _ratio(new_load["answers_per_min"], old_load["answers_per_min"]),
            ENGINE_TARGETS["answers_per_min"],
        ],
        [
            "load test: queue wait p95 (s)",
            f"{old_load['seconds']['queue_wait']['p95']:.0f}",
            f"{new_load['seconds']['queue_wait']['p95']:.0f}",
            _ratio(new_load["seconds"]["queue_wait"]["p95"], old_load["seconds"]["queue_wait"]["p95"]),
            ENGINE_TARGETS["queue_wait_p95"],
        ],
    ]
    return markdown_table(["figure (same run, engines alternating)", old, new, f"{new} / {old}", "target"], rows)


def load_table(runs: dict[str, dict]) -> str:
    """Load runs side by side, the last column the second run over the first."""
    names = list(runs)
    reports = list(runs.values())

    def seconds(key: str) -> list[object]:
        cells: list[object] = [f"{r['seconds'][key]['p50']:.1f} / {r['seconds'][key]['p95']:.1f}" for r in reports]
        a, b = reports[0]["seconds"][key], reports[-1]["seconds"][key]
        return [*cells, f"{_ratio(b['p50'], a['p50'])} / {_ratio(b['p95'], a['p95'])}"]

    rows: list[list[object]] = [
        [
            "answers, errors, cross-talk",
            *(f"{r['answers']}, {len(r['errors'])}, {len(r['cross_talk'])}" for r in reports),
            "",
        ],
        [
            "throughput (answers/min)",
            *(f"{r['answers_per_min']:.2f}" for r in reports),
            _ratio(reports[-1]["answers_per_min"], reports[0]["answers_per_min"]),
        ],
        ["queue wait p50 / p95 (s)", *seconds("queue_wait")],
        ["answer latency, submit to last token, p50 / p95 (s)", *seconds("latency")],
        ["service time, model start to last token, p50 / p95 (s)", *seconds("service")],
        [
            "peak RSS, server and 20 clients (MB)",
            *(f"{r['rss_mb']['peak']:.0f}" for r in reports),
            _ratio(reports[-1]["rss_mb"]["peak"], reports[0]["rss_mb"]["peak"]),
        ],
    ]
    return markdown_table(["measure", *names, "ratio"], rows)


def paired_load_table(runs: dict[str, dict], pairs: list[tuple[str, str]]) -> str:
    """Runs of the old and new engine in pairs: each run, the pooled ratio (mean over mean) and each pair's."""
    old = [runs[o] for o, _ in pairs]
    new = [runs[n] for _, n in pairs]
    measures: list[tuple[str, Callable[[dict], float], str, str]] = [
        ("throughput, answers/min", lambda r: r["answers_per_min"], ".1f", "≥ 1.3"),
        ("queue wait p50 (s)", lambda r: r["seconds"]["queue_wait"]["p50"], ".1f", ""),
        ("queue wait p95 (s)", lambda r: r["seconds"]["queue_wait"]["p95"], ".1f", "≤ 0.7"),
        ("peak RSS, server and 20 clients (MB)", lambda r: r["rss_mb"]["peak"], ".0f", "≤ 2500 MB"),
    ]
    rows = []
    for label, value, spec, target in measures:
        pooled = statistics.mean(map(value, new)) / statistics.mean(map(value, old))
        each = ", ".join(_ratio(value(n), value(o)) for o, n in zip(old, new, strict=True))
        rows.append([label, *(format(value(r), spec) for r in runs.values()), f"{pooled:.2f} (pairs: {each})", target])
    return markdown_table(["figure", *runs, "new / old (pooled)", "target"], rows)


def scaling_table(scaling: list[dict]) -> str:
    """Retrieval and index build against corpus size."""
    rows = [
        [
            f"{r['factor']}x",
            r["chunks"],
            r["index_build_s"],
            f"{r['retrieval_p50_ms']} / {r['retrieval_p95_ms']}",
            r["hit_at_k"],
            r["recall_at_k"],
        ]
        for r in scaling
    ]
    return markdown_table(
        ["corpus", "chunks", "index build (s)", "retrieval p50 / p95 (ms)", "hit@4", "recall@4"], rows
    )


def _quiet(*names: str) -> dict[str, dict]:
    return {n.replace("-", " "): load(f"quiet/{n}") for n in names}


TABLES: dict[str, Callable[[], str]] = {
    "answers": lambda: answer_table(load("rules")["all rules"]["splits"]),
    "rules": lambda: rules_table(load("rules")),
    "verification": lambda: verification_table(load("verification")),
    "best_of_n": lambda: best_of_n_table(load("best_of_n")),
    "clients": lambda: clients_table(load("clients")),
    "engines": lambda: engines_table(load("engines"), load("load-llama-cpp-python"), load("load")),
    "load": lambda: load_table(
        {"llama-cpp-python, 1 at a time": load("load-llama-cpp-python"), "xllamacpp, 4 slots": load("load")}
    ),
    "quiet": lambda: paired_load_table(
        _quiet("old-1", "new-1", "new-2", "old-2"), [("old 1", "new 1"), ("old 2", "new 2")]
    ),
    "quiet-read": lambda: paired_load_table(
        _quiet("old-3", "new-3", "old-4", "new-4"), [("old 3", "new 3"), ("old 4", "new 4")]
    ),
    "scaling": lambda: scaling_table(load("benchmark")["scaling"]),
}

TABLE = re.compile(r"^<!-- table: (?P<name>\S+) -->\n.*?^<!-- /table -->$", re.DOTALL | re.MULTILINE)
FIGURE = re.compile(r"<!-- figure: (?P<file>[^|]+?) \| (?P<key>[^|]+?)(?: \| (?P<spec>[^|]+?))? -->.*?<!-- /figure -->")


def figure(file: str, key: str, spec: str | None = None) -> str:
    value: object = load(file)
    for part in key.split("."):
        value = value[part]  # type: ignore[index]
    return format(value, spec or "")


def render(text: str) -> str:
    """``text`` with every region filled from the JSON; an unknown table name is a KeyError, not a silent skip."""
    text = TABLE.sub(lambda m: f"<!-- table: {m['name']} -->\n{TABLES[m['name']]()}<!-- /table -->", text)
    return FIGURE.sub(
        lambda m: m[0][: m[0].index("-->") + 3] + figure(m["file"], m["key"], m["spec"]) + "<!-- /figure -->",
        text,
    )


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def regions(text: str) -> list[str]:
    """Every region of a page as written: the tables, then the figures."""
    return [m[0] for m in TABLE.finditer(text)] + [m[0] for m in FIGURE.finditer(text)]


def drift() -> list[str]:
    """``page: region`` for each region whose text differs from what its JSON renders."""
    out = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        for written in regions(text):
            if render(written) != written:
                out.append(f"{page.relative_to(ROOT)}: {written.splitlines()[0]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report regions that differ; change nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.check:
        stale = drift()
        for line in stale:
            log.error("differs from its JSON: %s", line)
        return 1 if stale else 0
    for page in pages():
        text = page.read_text(encoding="utf-8")
        if (new := render(text)) != text:
            page.write_text(new, encoding="utf-8")
            log.info("rewrote %s", page.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
