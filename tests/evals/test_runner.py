"""The eval runner, dataset validator and CLI on the fake chat model."""

import json
import threading
import time
from pathlib import Path

import pytest
from fakes import HashingEmbeddings, StubVerifier, fake_llm
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from assistant.errors import ResumeRefused
from assistant.evals.dataset import DatasetError, EvalItem, load_dataset, validate_dataset
from assistant.evals.gate import check, make_baseline
from assistant.evals.report import markdown_report
from assistant.evals.runner import run_eval
from assistant.index.documents import default_essay_path, load_document

_LOCK = threading.Lock()
ESSAY_TEXT = load_document(default_essay_path()).text
MET = EvalItem(
    id="t-met",
    question="Where have Trump and Kim held their meetings?",
    answerable=True,
    reference_answer="In Singapore, Hanoi and the Demilitarized Zone.",
    required_facts=[["Singapore"], ["Hanoi"], ["DMZ", "Demilitari[sz]ed Zone"]],
    supporting_quotes=[
        "The president has met with Kim three times already, in Singapore, Hanoi, "
        "and in the Demilitarized Zone that separates the two Koreas."
    ],
    required=True,
)
WAR = EvalItem(
    id="t-war",
    question="In what year did the Korean War break out?",
    answerable=False,
    reference_answer="The essay does not say.",
)


def test_bundled_dataset_is_valid():
    items = load_dataset()
    assert len(items) >= 60
    assert validate_dataset(items, ESSAY_TEXT) == []


def test_validator_catches_each_kind_of_problem():
    bad = [
        MET,
        EvalItem(id="t-met", question="dup", answerable=False, reference_answer="x"),
        EvalItem(
            id="t-q",
            question="Q?",
            answerable=True,
            reference_answer="x",
            required_facts=[["("]],
            supporting_quotes=["not in the essay at all"],
        ),
        EvalItem(
            id="t-h", question="Q?", answerable=False, reference_answer="x", history=[{"role": "bot", "content": "hi"}]
        ),
    ]
    problems = " | ".join(validate_dataset(bad, ESSAY_TEXT))
    for expected in ["duplicate id", "not verbatim", "bad pattern", "role (user/assistant)"]:
        assert expected in problems


def test_loader_reports_missing_fields(tmp_path: Path):
    path = tmp_path / "qa.jsonl"
    path.write_text('{"id": "x", "question": "q"}\nnot json\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="line 1: answerable: Field required.*line 2: not JSON"):
        load_dataset(path)


def test_a_bad_field_is_named_with_its_line(tmp_path: Path):
    path = tmp_path / "qa.jsonl"
    good = {"id": "a", "question": "q", "answerable": False, "reference_answer": "r"}
    lines = [good, good | {"id": "b", "split": "tset"}, good | {"id": "c", "required_facts": "Moon"}, good | {"x": 1}]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_dataset(path)
    message = str(caught.value)
    assert "line 2: split:" in message and "line 3: required_facts:" in message and "line 4: x:" in message
    assert "line 1" not in message


def test_the_shipped_json_schema_is_the_one_the_loader_validates_with():
    from importlib import resources

    from assistant.evals.dataset import SCHEMA, item_schema

    shipped = json.loads(resources.files("assistant.evals").joinpath("data", SCHEMA).read_text(encoding="utf-8"))
    assert shipped == item_schema(), "regenerate evals/data/item.schema.json from EvalItem"


def run(settings, *replies, items=(MET, WAR), drop=()):
    return run_eval(
        list(items),
        settings,
        llm=fake_llm(*replies),
        embeddings=HashingEmbeddings(),
        verifier=StubVerifier(drop=drop),
        progress=False,
    )


def test_a_good_run_scores_and_passes(settings):
    report = run(
        settings, "They met in Singapore, Hanoi, and in the Demilitarized Zone [16].", "The essay does not say."
    )
    met, war = report["items"]
    assert met["passed"] and met["facts_found"] == 3 and met["citations"]["valid"] == 1.0
    assert (
        met["citations"]["supports_quote"] == 1.0 and met["groundedness"] == 1.0 and met["sentence_holds_quote"] == 1.0
    )
    assert war["passed"] and war["declined"]
    agg = report["aggregate"]
    assert agg["answerable_accuracy"] == 1.0 and agg["decline_recall"] == 1.0 and agg["decline_precision"] == 1.0
    assert "closest_holds_quote" not in met and agg["declined_closest_holds_quote"] is None
    assert report["meta"]["dataset"]["version"] and report["meta"]["model"] == "local"
    assert "| t-met | dev | pass |" in markdown_report(report)


def test_wrong_declines_and_answered_unanswerables_fail(settings):
    answered = (
        "If a summit takes place in late October, Trump might sign a declaration to officially end the Korean War."
    )
    report = run(settings, "The essay does not say.", answered)
    met, war = report["items"]
    assert not met["passed"] and met["declined"]
    assert not war["passed"] and not war["declined"]
    agg = report["aggregate"]
    assert agg["wrongly_declined"] == 1.0 and agg["decline_recall"] == 0.0 and agg["decline_precision"] == 0.0
    assert met["closest_holds_quote"] == 1.0 and agg["declined_closest_holds_quote"] == 1.0  # where to look, offered


def test_the_final_answer_is_scored_after_the_grounding_gate(settings):
    report = run(
        settings,
        "They met in Singapore, Hanoi, and in the Demilitarized Zone [16].",
        "The Korean War began on June 25, 1950.",
        drop=["1950"],
    )
    war = report["items"][1]
    assert war["grounded"] is False and war["answer"] == "I could not find that in this essay." and war["passed"]
    assert war["raw"] == "The Korean War began on June 25, 1950."  # the model's own text, kept for a replay


class _ByQuestion(BaseChatModel):
    """Answers each question with its own reply, slowly, whatever order concurrent items reach it in; ``most``
    records how many calls were in flight at once."""

    replies: dict[str, str]
    calls: dict[str, int] = {"now": 0, "most": 0}

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        with _LOCK:
            self.calls["now"] += 1
            self.calls["most"] = max(self.calls["most"], self.calls["now"])
        time.sleep(0.1)  # long enough for the items to overlap
        with _LOCK:
            self.calls["now"] -= 1
        reply = next(r for q, r in self.replies.items() if q in str(messages[-1].content))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(reply))])

    @property
    def _llm_type(self) -> str:
        return "by-question"


def test_items_answered_at_once_are_reported_in_order_each_with_its_own_model_text(settings):
    items = [
        MET.model_copy(update={"id": f"met-{n}", "question": f"Where have Trump and Kim met ({n})?"}) for n in "abc"
    ]
    items += [
        WAR.model_copy(update={"id": f"war-{n}", "question": f"When did the Korean War start ({n})?"}) for n in "ab"
    ]
    replies = {i.question: f"They met in Singapore ({i.id}) [16]." for i in items if i.answerable}
    replies |= {i.question: f"It started in 1950 ({i.id})." for i in items if not i.answerable}
    reports, most = [], []
    for concurrency in (1, 3):
        llm = _ByQuestion(replies=replies, calls={"now": 0, "most": 0})
        reports.append(
            run_eval(
                items,
                settings,
                llm=llm,
                embeddings=HashingEmbeddings(),
                verifier=StubVerifier(drop=["1950"]),
                progress=False,
                concurrency=concurrency,
            )
        )
        most.append(llm.calls["most"])
    one, many = ([(r["id"], r["raw"], r["answer"], r["passed"]) for r in report["items"]] for report in reports)
    assert most == [1, 3] and reports[1]["meta"]["concurrency"] == 3
    assert one == many and [r[0] for r in many] == [i.id for i in items]
    assert all(raw == replies[item.question] for item, (_, raw, *_) in zip(items, many, strict=True))
    assert reports[1]["aggregate"]["passed"] == reports[0]["aggregate"]["passed"]


def test_a_crash_is_recorded_and_fails_the_gate(settings):
    baseline = make_baseline(
        run(settings, "They met in Singapore, Hanoi, and in the Demilitarized Zone [16].", "The essay does not say.")
    )
    crashed = run(
        settings, "They met in Singapore, Hanoi, and in the Demilitarized Zone [16]."
    )  # no reply left for item 2
    assert "crashed" in crashed["items"][1]
    assert any("crashed" in f for f in check(crashed, baseline))


def test_cli_eval_writes_reports_and_gates(monkeypatch, tmp_path: Path, capsys):
    import assistant.assistant as module
    from assistant.cli import main

    dataset = tmp_path / "qa.jsonl"
    dataset.write_text("\n".join(json.dumps(i.__dict__) for i in (MET, WAR)) + "\n", encoding="utf-8")
    replies = ["They met in Singapore, Hanoi, and in the Demilitarized Zone [16].", "The essay does not say."]
    monkeypatch.setattr(module, "make_embeddings", lambda *args: HashingEmbeddings())
    monkeypatch.setattr(module, "make_chat_model", lambda s: fake_llm(*replies))
    monkeypatch.setattr(module, "MeaningVerifier", lambda *args, **kwargs: StubVerifier())
    args = ["eval", "--dataset", str(dataset), "--out", str(tmp_path / "out"), "--baseline", str(tmp_path / "b.json")]
    assert main([*args, "--update-baseline"]) == 0
    assert (tmp_path / "out" / "eval.json").is_file() and (tmp_path / "out" / "eval.md").is_file()
    assert "answerable correct" in capsys.readouterr().out
    assert main([*args, "--check"]) == 0

    replies[:] = ["The essay does not say.", "The essay does not say."]  # the answerable item regresses
    assert main([*args, "--check"]) == 1
    err = capsys.readouterr().err
    assert "REGRESSION: required item 't-met' regressed" in err


def _cli_eval(monkeypatch, tmp_path: Path, items, replies):
    import assistant.assistant as module
    from assistant.cli import main

    dataset = tmp_path / "qa.jsonl"
    dataset.write_text("\n".join(json.dumps(i.__dict__) for i in items) + "\n", encoding="utf-8")
    monkeypatch.setattr(module, "make_embeddings", lambda *args: HashingEmbeddings())
    monkeypatch.setattr(module, "make_chat_model", lambda s: fake_llm(*replies))
    monkeypatch.setattr(module, "MeaningVerifier", lambda *args, **kwargs: StubVerifier())
    return lambda *flags: main(["eval", "--dataset", str(dataset), "--out", str(tmp_path / "out"), *flags])


def test_cli_eval_refuses_an_invalid_dataset_before_running(monkeypatch, tmp_path: Path, capsys):
    duplicate = EvalItem(id="t-met", question="Again?", answerable=False, reference_answer="x")
    run_cli = _cli_eval(monkeypatch, tmp_path, (MET, duplicate), [])
    assert run_cli() == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the dataset is invalid") and "'t-met': duplicate id" in err, err
    assert not (tmp_path / "out").exists()


def test_cli_eval_refuses_a_baseline_from_part_of_the_dataset_or_without_a_path(monkeypatch, tmp_path: Path, capsys):
    run_cli = _cli_eval(monkeypatch, tmp_path, (MET, WAR), ["The essay does not say."] * 2)
    baseline = tmp_path / "b.json"
    assert run_cli("--limit", "1", "--baseline", str(baseline), "--update-baseline") == 2
    out, err = capsys.readouterr()
    assert err.endswith("error: a baseline must cover every item; drop --limit\n")
    assert not baseline.exists() and not (tmp_path / "out").exists(), "refused before answering anything"
    assert run_cli("--update-baseline") == 2
    assert capsys.readouterr().err.endswith("error: --update-baseline needs --baseline PATH to write to\n")


def test_cli_eval_reports_a_malformed_dataset_without_a_traceback(monkeypatch, tmp_path: Path, capsys):
    run_cli = _cli_eval(monkeypatch, tmp_path, (MET,), [])
    (tmp_path / "qa.jsonl").write_text('{"id": "x"}\n', encoding="utf-8")
    assert run_cli() == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_cli_eval_compares_configurations(monkeypatch, tmp_path: Path, capsys):
    run_cli = _cli_eval(monkeypatch, tmp_path, (WAR,), ["The essay does not say."] * 2)
    assert run_cli("--compare", "k=2", "k=4,temperature=0.5") == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "compare-k_2.json",
        "compare-k_2.md",
        "compare-k_4_temperature_0_5.json",
        "compare-k_4_temperature_0_5.md",
    ]
    reports = {
        name: json.loads((tmp_path / "out" / f"compare-{name}.json").read_text(encoding="utf-8"))
        for name in ("k_2", "k_4_temperature_0_5")
    }
    assert reports["k_2"]["meta"]["settings"]["k"] == 2 and reports["k_4_temperature_0_5"]["meta"]["settings"]["k"] == 4
    assert "k=2" in capsys.readouterr().out
    assert run_cli("--compare", "nonsense=1") == 2
    assert "expected KEY=VALUE pairs" in capsys.readouterr().err


def test_the_check_defaults_to_the_bundled_baseline():
    from assistant.evals.runner import default_baseline_path, gate

    path = default_baseline_path()
    baseline = json.loads(path.read_text(encoding="utf-8"))
    assert path.name == "baseline.json" and set(baseline["items"]) <= {i.id for i in load_dataset()}
    assert any("missing from the run" in f for f in gate({"items": [], "aggregate": baseline["aggregate"]}, path))


OWN = Path(__file__).resolve().parents[1] / "fixtures"


def test_eval_on_the_users_own_documents_indexes_only_those(settings):
    from assistant.evals.runner import load_corpus, load_items

    corpus = load_corpus([OWN / "own-corpus"])
    assert sorted(d.id for d in corpus) == ["harbor-ferry", "river-bridge"]
    items = load_items(OWN / "own-corpus.jsonl", corpus=corpus)
    assert len(items) == 10
    replies = ["The council voted in March [2]."] + ["I can only answer questions about this essay."] * 9
    report = run_eval(
        items[:2],
        settings,
        llm=fake_llm(*replies),
        embeddings=HashingEmbeddings(),
        verifier=StubVerifier(),
        progress=False,
        documents=[OWN / "own-corpus"],
    )
    assert [d["id"] for d in report["meta"]["documents"]] == ["harbor-ferry", "river-bridge"]
    first = report["items"][0]
    assert first["passed"] and first["sources"][0]["doc_id"] in {"harbor-ferry", "river-bridge"}
    assert first["retrieval"]["hit"] == 1.0  # quote spans are found in the user's documents, not the essay


def test_quotes_are_checked_against_the_documents_of_the_run():
    from assistant.evals.runner import InvalidDataset, load_corpus, load_items

    with pytest.raises(InvalidDataset, match="not verbatim"):
        load_items(OWN / "own-corpus.jsonl")  # against the bundled essay
    with pytest.raises(InvalidDataset, match="not verbatim"):
        load_items(None, corpus=load_corpus([OWN / "own-corpus"]))  # the bundled items against the user's files


def test_cli_eval_with_a_missing_document_is_an_error_line(monkeypatch, tmp_path: Path, capsys):
    run_cli = _cli_eval(monkeypatch, tmp_path, (WAR,), [])
    assert run_cli("--documents", str(tmp_path / "nowhere.md")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and f"{tmp_path / 'nowhere.md'}: no such file" in err, err


def test_cli_eval_gates_the_users_own_corpus(monkeypatch, tmp_path: Path, capsys):
    import assistant.assistant as module
    from assistant.cli import main

    lines = (OWN / "own-corpus.jsonl").read_text(encoding="utf-8").splitlines()
    dataset = tmp_path / "mine.jsonl"
    dataset.write_text("\n".join([lines[0], lines[8]]) + "\n", encoding="utf-8")  # own-01 (required), own-09
    replies = ["The council voted in March [2].", "The documents do not say."]
    monkeypatch.setattr(module, "make_embeddings", lambda *args: HashingEmbeddings())
    monkeypatch.setattr(module, "make_chat_model", lambda s: fake_llm(*replies))
    monkeypatch.setattr(module, "MeaningVerifier", lambda *args, **kwargs: StubVerifier())
    flags = ["--dataset", str(dataset), "--documents", str(OWN / "own-corpus"), "--out", str(tmp_path / "out")]
    args = ["eval", *flags, "--baseline", str(tmp_path / "mine-baseline.json")]
    assert main([*args, "--update-baseline"]) == 0
    assert main([*args, "--check"]) == 0
    replies[:] = ["The documents do not say.", "The documents do not say."]  # the answer regresses
    assert main([*args, "--check"]) == 1
    assert "REGRESSION: required item 'own-01' regressed" in capsys.readouterr().err


def test_a_test_item_may_not_repeat_a_dev_question():
    dev = EvalItem(id="d", question="Who won?", answerable=False, reference_answer="x")
    test = EvalItem(id="t", question="who won? ", answerable=False, reference_answer="x", split="test")
    assert validate_dataset([dev, test], ESSAY_TEXT) == ["item 't': repeats 'd''s question in the other split"]
    assert (
        validate_dataset(
            [dev, EvalItem(id="d2", question="Who won?", answerable=False, reference_answer="y")], ESSAY_TEXT
        )
        == []
    )


def test_every_item_is_answered_by_the_model_even_a_repeated_question(settings):
    from fakes import PromptRecorder

    recorder = PromptRecorder()
    again = WAR.model_copy(update={"id": "t-war-again"})
    run_eval(
        [WAR, again],
        settings,
        llm=fake_llm("The essay does not say.", "The essay does not say.", recorder=recorder),
        embeddings=HashingEmbeddings(),
        verifier=StubVerifier(),
        progress=False,
    )
    assert len(recorder.calls) == 2


def test_the_pointing_reply_is_kept_apart_from_the_answer_for_a_replay(settings):
    report = run_eval(
        [MET],
        settings,
        llm=fake_llm("They met in Singapore, Hanoi, and in the Demilitarized Zone [16].", '{"sentences": [16]}'),
        embeddings=HashingEmbeddings(),
        verifier=StubVerifier(points=True),
        progress=False,
    )
    (met,) = report["items"]
    assert met["raw"] == "They met in Singapore, Hanoi, and in the Demilitarized Zone [16]."
    assert met["raw_pointer"] == '{"sentences": [16]}'


def test_a_false_premise_item_must_not_be_marked_answerable_and_must_hold_its_correction():
    """Scored as declined-or-corrected, never as an answerable item: marked answerable, the run used to crash after
    every item had been answered, losing the results."""
    premise = {"question": "Why did they meet four times?", "reference_answer": "Three.", "tags": ["false-premise"]}
    marked = EvalItem(id="p1", answerable=True, required_facts=[["three"]], supporting_quotes=["three"], **premise)
    bare = EvalItem(id="p2", answerable=False, **premise | {"question": "Why four?"})
    good = EvalItem(id="p3", answerable=False, required_facts=[["three"]], **premise | {"question": "Why 4?"})
    problems = validate_dataset([marked, bare, good], ESSAY_TEXT)
    assert [p.split(":")[0] for p in problems] == ["item 'p1'", "item 'p2'"], problems
    assert "answerable: false, with the correction's facts" in problems[0]


def _stopping_llm(*replies: str):
    """Streams ``replies``, then stops the run as Ctrl-C would."""

    def messages():
        yield from (AIMessage(r) for r in replies)
        raise KeyboardInterrupt

    return GenericFakeChatModel(messages=messages())


PORT = MET.model_copy(update={"id": "t-port", "question": "Which harbour did the fleet leave from?"})
HANDS = [
    "They met in Singapore, Hanoi, and in the Demilitarized Zone [16].",
    "The essay does not say.",
    "The essay does not say.",
]


def test_a_stopped_run_keeps_its_answers_and_a_resumed_one_answers_only_the_rest(settings, tmp_path: Path):
    journal = tmp_path / "out" / "eval.partial.jsonl"
    items = [MET, WAR, PORT]

    def go(llm, **kwargs):
        return run_eval(
            items, settings, llm=llm, embeddings=HashingEmbeddings(), verifier=StubVerifier(), progress=False, **kwargs
        )

    with pytest.raises(KeyboardInterrupt):
        go(_stopping_llm(HANDS[0]), journal=journal)
    kept = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert [r.get("id") for r in kept[1:]] == ["t-met"] and "run" in kept[0]

    with pytest.raises(ResumeRefused, match="--resume"):  # starting over would throw the kept answers away
        go(fake_llm(*HANDS), journal=journal)
    journal.write_text(journal.read_text(encoding="utf-8") + '{"id": "t-war", "ans', encoding="utf-8")  # torn write
    report = go(_stopping_llm(*HANDS[1:]), journal=journal, resume=True)  # a third call would stop it again
    assert [r["id"] for r in report["items"]] == ["t-met", "t-war", "t-port"]
    assert [r["raw"] for r in report["items"]] == HANDS
    assert report["aggregate"]["passed"] == 2  # the harbour question is answerable and was declined


def test_a_journal_of_another_run_is_never_resumed(settings, tmp_path: Path):
    journal = tmp_path / "eval.partial.jsonl"
    common = {"llm": fake_llm(*HANDS), "embeddings": HashingEmbeddings(), "verifier": StubVerifier()}
    with pytest.raises(KeyboardInterrupt):
        run_eval(
            [MET, WAR],
            settings,
            llm=_stopping_llm(HANDS[0]),
            embeddings=HashingEmbeddings(),
            verifier=StubVerifier(),
            progress=False,
            journal=journal,
        )
    with pytest.raises(ResumeRefused, match="settings changed"):
        run_eval(
            [MET, WAR],
            settings.model_copy(update={"k": settings.k + 1}),
            progress=False,
            journal=journal,
            resume=True,
            **common,
        )
    journal.write_text("not a journal\n", encoding="utf-8")
    with pytest.raises(ResumeRefused, match="not an eval journal"):
        run_eval([MET, WAR], settings, progress=False, journal=journal, resume=True, **common)


def test_cli_eval_says_how_to_go_on_after_a_stop_and_removes_the_journal_when_done(monkeypatch, tmp_path: Path, capsys):
    import assistant.assistant as module

    models = iter([_stopping_llm(HANDS[0]), fake_llm(*HANDS[1:2])])
    run_cli = _cli_eval(monkeypatch, tmp_path, (MET, WAR), [])
    monkeypatch.setattr(module, "make_chat_model", lambda s: next(models))
    journal = tmp_path / "out" / "eval.partial.jsonl"
    assert run_cli() == 130
    assert "add --resume to go on" in capsys.readouterr().err and journal.is_file()
    assert run_cli("--resume") == 0
    assert not journal.exists() and len(json.loads((tmp_path / "out" / "eval.json").read_text())["items"]) == 2
