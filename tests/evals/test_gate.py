"""The baseline gate on hand-made reports: it must fail on every kind of regression."""

import copy

from assistant.evals.gate import check, make_baseline


def report(items, **aggregate):
    agg = {"answerable_accuracy": 0.9, "decline_recall": 1.0, "mrr": 0.8} | aggregate
    return {"meta": {}, "aggregate": agg, "items": items}


ITEMS = [
    {"id": "a", "passed": True, "required": True},
    {"id": "b", "passed": True, "required": False},
    {"id": "c", "passed": False, "required": True},
]
BASELINE = make_baseline(report(ITEMS))


def test_identical_run_passes():
    assert check(report(copy.deepcopy(ITEMS)), BASELINE) == []


def test_small_drop_within_tolerance_passes_and_large_drop_fails():
    assert check(report(ITEMS, answerable_accuracy=0.87), BASELINE) == []
    failures = check(report(ITEMS, answerable_accuracy=0.8), BASELINE)
    assert failures == ["answerable_accuracy dropped from 0.9 to 0.8 (tolerance 0.04)"]


def test_decline_recall_has_no_tolerance():
    """Any drop in decline recall fails, however small: one more answered unanswerable question."""
    assert check(report(ITEMS, decline_recall=1.0), BASELINE) == []
    assert check(report(ITEMS, decline_recall=0.99), BASELINE) == [
        "decline_recall dropped from 1.0 to 0.99 (tolerance 0.0)"
    ]


def test_required_item_regression_fails_but_non_required_does_not():
    items = copy.deepcopy(ITEMS)
    items[1]["passed"] = False
    assert check(report(items), BASELINE) == []
    items[0]["passed"] = False
    assert check(report(items), BASELINE) == ["required item 'a' regressed: it passed in the baseline and fails now"]


def test_a_required_item_that_already_failed_is_not_a_regression():
    """'c' is required but failed in the baseline: failing again is not reported, while 'a' failing is."""
    assert BASELINE["items"]["c"] == {"passed": False, "required": True}
    items = copy.deepcopy(ITEMS)
    items[0]["passed"] = False
    assert check(report(items), BASELINE) == ["required item 'a' regressed: it passed in the baseline and fails now"]


def test_missing_duplicate_and_crashed_items_fail():
    items = copy.deepcopy(ITEMS)[:2] + [{"id": "b", "passed": True}]
    failures = check(report(items), BASELINE)
    assert "duplicate item id 'b' in the report" in failures
    assert "item 'c' is in the baseline but missing from the run" in failures
    crashed = copy.deepcopy(ITEMS)
    crashed[1] |= {"passed": False, "crashed": "RuntimeError: boom"}
    assert check(report(crashed), BASELINE) == ["item 'b' crashed: RuntimeError: boom"]


def test_a_metric_missing_from_the_run_fails():
    run = report(ITEMS)
    del run["aggregate"]["mrr"]
    assert check(run, BASELINE) == ["mrr is missing from the run (baseline 0.8)"]


def test_a_small_mean_may_drop_by_one_item_and_no_more():
    """Over four declines one flipped item moves precision by a quarter: that alone is noise, two items fail."""
    counts = {"counts": {"decline_precision": 4, "decline_recall": 4}}
    baseline = make_baseline(report(ITEMS, decline_precision=0.75, **counts))
    assert check(report(ITEMS, decline_precision=0.5, **counts), baseline) == []
    assert check(report(ITEMS, decline_precision=0.25, **counts), baseline) == [
        "decline_precision dropped from 0.75 to 0.25 (tolerance 0.25)"
    ]


def test_a_zero_tolerance_stays_zero_however_few_the_items():
    counts = {"counts": {"decline_recall": 4}}
    baseline = make_baseline(report(ITEMS, **counts))
    assert check(report(ITEMS, decline_recall=0.75, **counts), baseline) == [
        "decline_recall dropped from 1.0 to 0.75 (tolerance 0.0)"
    ]
