"""The regression eval on the real model, gated on the committed baseline (also: pytest -m eval)."""

import json
from importlib import resources
from pathlib import Path

import pytest
from real import real_settings

from assistant.evals.gate import check
from assistant.evals.report import summary_table, write_reports
from assistant.evals.runner import load_corpus, load_items, run_eval

pytestmark = pytest.mark.eval
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def test_eval_suite_holds_the_baseline(tmp_path, request):
    """The bundled essay and items by default; ``--eval-documents``, ``--eval-dataset`` and ``--eval-baseline``
    gate a corpus of your own the same way."""
    dataset, documents, baseline_path = (
        request.config.getoption(f"--eval-{name}") for name in ("dataset", "documents", "baseline")
    )
    items = load_items(dataset, corpus=load_corpus(documents))
    report = run_eval(items, real_settings(tmp_path), progress=False, documents=documents, dataset_path=dataset)
    json_path, _ = write_reports(report, ARTIFACTS, "eval")
    baseline = json.loads(
        Path(baseline_path).read_text(encoding="utf-8")
        if baseline_path
        else resources.files("assistant.evals").joinpath("data", "baseline.json").read_text(encoding="utf-8")
    )
    print(
        summary_table(
            {"baseline": baseline["aggregate"] | {"passed": "-", "items": "-"}, "this run": report["aggregate"]}
        )
    )
    failures = check(report, baseline)
    assert not failures, f"eval regressed (report: {json_path}):\n" + "\n".join(failures)
