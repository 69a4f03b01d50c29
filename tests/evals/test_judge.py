"""The optional judge, on a fake chat model: its verdicts are reported beside the deterministic metrics, never gated."""

import itertools

from fakes import HashingEmbeddings, StubVerifier, fake_llm
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.evals.dataset import EvalItem
from assistant.evals.gate import check, make_baseline
from assistant.evals.judge import Judge
from assistant.evals.runner import run_eval

ITEM = EvalItem(
    id="j-met",
    question="Where did the leaders meet?",
    answerable=True,
    reference_answer="In Singapore, Hanoi and the Demilitarized Zone.",
    required_facts=[["Singapore"]],
    supporting_quotes=["in Singapore, Hanoi, and in the Demilitarized Zone"],
)


def judge(*replies: str) -> Judge:
    return Judge(GenericFakeChatModel(messages=itertools.cycle([AIMessage(r) for r in replies])), "fake-judge")


def run(settings, grader):
    return run_eval(
        [ITEM],
        settings,
        llm=fake_llm("They met in Singapore, Hanoi, and in the Demilitarized Zone [16]."),
        embeddings=HashingEmbeddings(),
        verifier=StubVerifier(),
        progress=False,
        judge=grader,
    )


def test_judged_metrics_are_reported_with_the_judge(settings):
    report = run(settings, judge("Yes."))
    assert report["meta"]["judge"] == "fake-judge"
    assert report["items"][0]["judged"] == {"correct": True, "faithful": 1.0}
    assert report["aggregate"]["judged_correct"] == 1.0 and report["aggregate"]["judged_faithful"] == 1.0


def test_a_judge_that_disagrees_does_not_move_the_gate(settings):
    baseline = make_baseline(run(settings, None))
    assert "judged_correct" not in baseline["aggregate"]
    harsh = run(settings, judge("No, it does not."))
    assert harsh["aggregate"]["judged_correct"] == 0.0 and harsh["items"][0]["passed"]
    assert check(harsh, baseline) == []


def test_a_reply_without_a_verdict_is_unjudged_not_failed():
    grader = judge("I am not sure what you mean.")
    assert grader.correct("q", "r", "a") is None
    assert grader.faithful("A claim [1].", {1: "A cited sentence."}) is None


def test_without_a_judge_the_report_has_no_judged_metrics(settings):
    report = run(settings, None)
    assert report["meta"]["judge"] is None and "judged_correct" not in report["aggregate"]
