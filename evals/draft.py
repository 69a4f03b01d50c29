"""Draft eval items from a document, for a person to review before they gate anything.

The local model writes a question for a sentence of the document (or one
the document cannot answer); the sentence itself is the supporting quote,
so every quote is verbatim by construction, and the required facts are
the sentence's names and numbers that the model's answer repeats. Each
item is marked ``draft`` until a person accepts it (deletes the flag).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.prompts import ChatPromptTemplate
from tqdm import tqdm

from assistant.evals.dataset import EvalItem
from assistant.evals.metrics import names_and_numbers, stems
from assistant.index.documents import Document
from assistant.index.sentences import essay_sentences
from assistant.prompts import read_prompt

log = logging.getLogger(__name__)
_JSON = re.compile(r"\{.*\}", re.DOTALL)
# What kind of question a sentence invites, by its words: a reason, a number, a person, or a plain fact.
KINDS = [
    ("why", re.compile(r"\b(because|since|so that|means)\b", re.IGNORECASE), "ask why, answered by its reason."),
    ("number", re.compile(r"\d"), "ask for the number, amount or date it gives."),
    ("who-said-what", re.compile(r"\b(says?|said|suggests?|argues?|announced|wrote)\b"), "ask who said what."),
    ("fact", re.compile(r"."), "ask for the fact it states."),
]
DUPLICATE = 0.6  # share of shared question stems above which a draft repeats an item


class _Chunk:
    def __init__(self, doc: Document) -> None:
        self.doc_id, self.start, self.end, self.text = doc.id, 0, len(doc.text), doc.text


def _json(reply) -> dict:
    match = _JSON.search(reply.text if hasattr(reply, "text") else str(reply))
    try:
        data = json.loads(match.group()) if match else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def draft_items(llm: BaseChatModel, doc: Document, count: int = 12, *, progress: bool = True) -> list[EvalItem]:
    """Up to ``count`` draft items from ``doc``: one question per sentence picked evenly across it, and one in
    five that the document cannot answer."""
    sentences = [s for s in essay_sentences([_Chunk(doc)]) if len(stems(s.text)) >= 6]
    item_prompt = ChatPromptTemplate.from_messages([("human", read_prompt("draft_item"))]) | llm
    none_prompt = ChatPromptTemplate.from_messages([("human", read_prompt("draft_unanswerable"))]) | llm
    unanswerable = max(1, count // 5)
    step = max(1, len(sentences) // max(1, count - unanswerable))
    picked = sentences[::step][: count - unanswerable]
    items: list[EvalItem] = []
    bar = tqdm(total=len(picked) + unanswerable, desc="Drafting", unit="item", disable=not progress)
    for n, sentence in enumerate(picked, start=1):
        kind, _, ask = next(k for k in KINDS if k[1].search(sentence.text))
        at = sentences.index(sentence)
        context = " ".join(s.text for s in sentences[max(0, at - 1) : at + 2])
        reply = _json(
            item_prompt.invoke({"kind": ask, "title": doc.title, "context": context, "sentence": sentence.text})
        )
        bar.update()
        question, answer = str(reply.get("question", "")).strip(), str(reply.get("answer", "")).strip()
        if not question or not answer:
            log.info("no draft for sentence %d: the model's reply was not the JSON asked for", n)
            continue
        facts = sorted(names_and_numbers(sentence.text) & stems(answer)) or sorted(stems(answer) & stems(sentence.text))
        items.append(
            EvalItem(
                id=f"draft-{doc.id}-{n:02d}",
                question=question,
                answerable=True,
                reference_answer=answer,
                required_facts=[[re.escape(f)] for f in facts[:2]],
                supporting_quotes=[sentence.text],
                tags=[kind, "draft"],
                draft=True,
            )
        )
    for n in range(1, unanswerable + 1):
        reply = _json(none_prompt.invoke({"title": doc.title, "context": " ".join(s.text for s in sentences)}))
        bar.update()
        if question := str(reply.get("question", "")).strip():
            items.append(
                EvalItem(
                    id=f"draft-{doc.id}-none-{n:02d}",
                    question=question,
                    answerable=False,
                    reference_answer="The document does not say.",
                    tags=["near-miss", "draft"],
                    draft=True,
                )
            )
    bar.close()
    return items


def duplicates(drafts: Sequence[EvalItem], existing: Sequence[EvalItem]) -> list[str]:
    """Ids of drafts whose question shares most of its stems with an existing item's."""
    seen = [stems(i.question) for i in existing]
    out = []
    for d in drafts:
        words = stems(d.question)
        if words and any(len(words & s) / len(words | s) >= DUPLICATE for s in seen if s):
            out.append(d.id)
    return out
