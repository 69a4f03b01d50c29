"""Compare an eval report with a committed baseline and list every regression.

A baseline is a report reduced to what the gate needs: the aggregate
metrics, each item's verdict, and the tolerance allowed per metric.
Updating it is a separate, explicit action (``--update-baseline``).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

# Higher is better for all of these; a drop beyond the tolerance fails. A tolerance above zero is at least
# one item's share of the mean: greedy decoding on llama.cpp can differ by a token between runs (its KV cache
# is not bit-for-bit the same), which flips an item now and then, and a split of five declines would
# otherwise fail on one. A zero tolerance stays zero. Latency is not gated: these machines are shared and
# noisy, so timings are reported, never asserted.
TOLERANCES = {
    "answerable_accuracy": 0.04,
    "decline_recall": 0.0,
    "decline_precision": 0.05,
    "offtopic_injection_declined": 0.0,
    "facts_recall": 0.04,
    "token_f1": 0.03,
    "hit_at_k": 0.02,
    "recall_at_k": 0.02,
    "mrr": 0.03,
    "citations_valid": 0.02,
    "citations_support_quote": 0.05,
    "groundedness": 0.05,
}


def make_baseline(report: dict) -> dict:
    return {
        "meta": report["meta"],
        "tolerances": TOLERANCES,
        "aggregate": _gated(report["aggregate"]),
        "splits": {name: _gated(agg) for name, agg in report.get("splits", {}).items()},
        "items": {r["id"]: {"passed": r["passed"], "required": r.get("required", False)} for r in report["items"]},
    }


def _gated(aggregate: dict) -> dict:
    return {k: aggregate.get(k) for k in TOLERANCES} | {"counts": aggregate.get("counts", {})}


def write_baseline(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(make_baseline(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def check(report: dict, baseline: dict) -> list[str]:
    """Every reason the report is worse than the baseline; empty means the gate passes."""
    failures = []
    ids = Counter(r["id"] for r in report["items"])
    failures += [f"duplicate item id {i!r} in the report" for i, n in ids.items() if n > 1]
    by_id = {r["id"]: r for r in report["items"]}
    failures += [f"item {i!r} is in the baseline but missing from the run" for i in baseline["items"] if i not in by_id]
    failures += [f"item {r['id']!r} crashed: {r['crashed']}" for r in report["items"] if "crashed" in r]
    for item_id, before in baseline["items"].items():
        now = by_id.get(item_id)
        if now and before["required"] and before["passed"] and not now["passed"]:
            failures.append(f"required item {item_id!r} regressed: it passed in the baseline and fails now")
    tolerances = baseline.get("tolerances", TOLERANCES)
    failures += _dropped(report["aggregate"], baseline["aggregate"], tolerances, "")
    for name, was in baseline.get("splits", {}).items():  # the gate runs every split, not only the whole
        failures += _dropped(report.get("splits", {}).get(name, {}), was, tolerances, f"{name}: ")
    return failures


def _dropped(now_aggregate: dict, was_aggregate: dict, tolerances: dict, label: str) -> list[str]:
    failures = []
    for metric, tolerance in tolerances.items():
        was, now = was_aggregate.get(metric), now_aggregate.get(metric)
        if was is None:
            continue
        if now is None:
            failures.append(f"{label}{metric} is missing from the run (baseline {was})")
            continue
        items = min(aggregate.get("counts", {}).get(metric, 0) for aggregate in (now_aggregate, was_aggregate))
        allowed = max(tolerance, 1 / items) if tolerance and items else tolerance
        if now < was - allowed - 1e-9:
            failures.append(f"{label}{metric} dropped from {was} to {now} (tolerance {round(allowed, 4)})")
    return failures
