"""Write eval reports (JSON for tools, Markdown for people) and print summaries."""

from __future__ import annotations

import json
from pathlib import Path

SUMMARY = [
    ("answerable_accuracy", "answerable correct"),
    ("wrongly_declined", "answerable wrongly declined"),
    ("decline_precision", "decline precision"),
    ("decline_recall", "decline recall"),
    ("offtopic_injection_declined", "off-topic/injection declined"),
    ("false_premise_handled", "false premise declined or corrected"),
    ("forbidden_shown", "answers showing a forbidden pattern"),
    ("quoted_share", "answers with a quotation of the essay"),
    ("judged_correct", "judged: answer correct (not gated)"),
    ("judged_faithful", "judged: shown sentences faithful to their citations (not gated)"),
    ("token_f1", "token F1"),
    ("hit_at_k", "hit@k"),
    ("recall_at_k", "recall@k"),
    ("mrr", "MRR"),
    ("citations_valid", "citations valid"),
    ("citations_support_quote", "cited passage holds the quote"),
    ("citations_sentence_quote", "cited sentence holds the quote"),
    ("citations_at_most_3", "at most 3 cited"),
    ("declined_closest_holds_quote", "wrongly declined: closest passages hold the quote"),
    ("groundedness", "groundedness"),
    ("latency_p50_s", "latency p50 (s)"),
    ("latency_p95_s", "latency p95 (s)"),
    ("ttft_p50_s", "first verified sentence p50 (s)"),
    ("sentences_mean", "sentences shown (mean)"),
]


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def columns(report: dict, name: str = "this run") -> dict[str, dict]:
    """The whole run and each of its splits, as summary-table columns."""
    splits = {f"{split} split": agg for split, agg in report.get("splits", {}).items() if agg.get("items")}
    return {name: report["aggregate"], **splits}


def summary_table(columns: dict[str, dict]) -> str:
    """A Markdown table: one row per metric, one column per run (name -> aggregate)."""
    names = list(columns)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    first = columns[names[0]]
    lines.append(
        "| items passed | " + " | ".join(f"{c.get('passed')}/{c.get('items')}" for c in columns.values()) + " |"
    )
    lines += [
        f"| {label} | " + " | ".join(_fmt(c.get(key)) for c in columns.values()) + " |"
        for key, label in SUMMARY
        if key in first
    ]
    return "\n".join(lines)


def markdown_report(report: dict) -> str:
    meta = report["meta"]
    out = [
        "# Eval report",
        "",
        f"- commit `{meta['commit']}`, {meta['time']}",
        f"- model `{meta['model']}`, embedding `{meta['embedding']}`, settings `{json.dumps(meta['settings'])}`",
        f"- dataset {meta['dataset']['path']} (version {meta['dataset']['version']}, {meta['dataset']['items']} items)",
        "",
        f"- verifier `{json.dumps(meta.get('verifier'))}`",
        f"- judge `{meta.get('judge')}`" if meta.get("judge") else "- judge: none (deterministic metrics only)",
        "",
        summary_table(columns(report)),
        "",
        "| id | split | pass | question | answer | cited | facts | F1 | grounded | s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["items"]:
        if "crashed" in r:
            out.append(
                f"| {r['id']} | {r.get('split')} | CRASH | {_cell(r['question'])} | {_cell(r['crashed'])} | | | | | |"
            )
            continue
        facts = f"{r['facts_found']}/{r['facts_total']}" if r["answerable"] else "-"
        cited = ",".join(str(s["citation"]) for s in r["sources"]) or "-"
        out.append(
            f"| {r['id']} | {r.get('split')} | {'pass' if r['passed'] else 'FAIL'} | {_cell(r['question'])} "
            f"| {_cell(r['answer'])} "
            f"| {cited} | {facts} | {r['token_f1']:.2f} | {_fmt(r['groundedness'])} | {r['latency_s']:.1f} |"
        )
    return "\n".join(out) + "\n"


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def write_reports(report: dict, out_dir: Path, name: str = "eval") -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown_report(report), encoding="utf-8")
    return json_path, md_path
