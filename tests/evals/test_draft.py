"""Drafting eval items from a document, on a fake chat model: quotes verbatim, drafts marked, never a gate."""

import itertools
import json
from pathlib import Path

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.evals.dataset import load_dataset, validate_dataset
from assistant.evals.draft import draft_items, duplicates
from assistant.index.documents import load_document

FERRY = Path(__file__).resolve().parents[1] / "fixtures" / "own-corpus" / "harbor-ferry.md"


def model(*replies):
    return GenericFakeChatModel(messages=itertools.cycle([AIMessage(r) for r in replies]))


def test_drafts_quote_the_document_verbatim_and_are_marked():
    doc = load_document(FERRY)
    reply = json.dumps({"question": "How many riders does the ferry carry?", "answer": "About 1,800 riders."})
    drafts = draft_items(model(reply), doc, count=5, progress=False)
    assert drafts and all(d.draft and "draft" in d.tags for d in drafts)
    answerable = [d for d in drafts if d.answerable]
    assert answerable and all(q in doc.text for d in answerable for q in d.supporting_quotes)
    # The riders' sentence gets its number as a required fact; a sentence the answer does not repeat gets none,
    # and the validator says so: not valid as written.
    riders = next(d for d in answerable if "1,800" in d.supporting_quotes[0])
    assert validate_dataset([riders], doc.text) == [] and ["1,800"] in riders.required_facts
    assert any("need required_facts" in p for p in validate_dataset(drafts, doc.text))
    assert any(not d.answerable for d in drafts)  # one in five the document cannot answer


def test_a_reply_that_is_not_json_drafts_nothing_for_that_sentence():
    drafts = draft_items(model("Sure! Here is a question."), load_document(FERRY), count=5, progress=False)
    assert drafts == []


def test_a_draft_that_repeats_a_bundled_item_is_found():
    existing = load_dataset()
    doc = load_document(FERRY)
    again = json.dumps({"question": existing[0].question, "answer": "x"})
    drafts = draft_items(model(again), doc, count=2, progress=False)
    assert duplicates(drafts, existing) == [d.id for d in drafts]


def test_drafts_never_gate(monkeypatch, tmp_path: Path, capsys):
    import assistant.assistant as module
    from assistant.cli import main

    monkeypatch.setattr("assistant.models.chat.make_chat_model", lambda s: model('{"question": "Q?", "answer": "A"}'))
    out = tmp_path / "draft.jsonl"
    assert main(["eval", "draft", str(FERRY), "--out", str(out), "--count", "3"]) == 0
    printed = capsys.readouterr().out
    assert "valid as written" in printed and "human read" in printed
    assert main(["eval", "draft", str(FERRY), "--out", str(out)]) == 2  # never overwrites
    assert "exists" in capsys.readouterr().err
    monkeypatch.setattr(module, "make_chat_model", lambda s: model("x"))
    args = ["eval", "--dataset", str(out), "--documents", str(FERRY), "--check", "--out", str(tmp_path / "r")]
    assert main(args) == 2
    assert "drafts" in capsys.readouterr().err
