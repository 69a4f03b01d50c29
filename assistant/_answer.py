"""What an answer is: its text and the passages it cites."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from ._attribution import add_missing_citations
from ._citations import cited_numbers
from ._grounding import is_decline, is_grounded, is_relevant, numbers_in_place, restates_question, stems
from ._retrieval import Passage

log = logging.getLogger(__name__)

CLOSEST = 2  # passages offered with a decline


@dataclass(frozen=True)
class Source:
    """One numbered passage; ``start``/``end`` index the cleaned text of document ``doc_id``."""

    citation: int
    text: str
    doc_id: str
    title: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Answer:
    text: str
    sources: list[Source]
    question: str
    standalone_question: str
    passages: list[Source] = field(default_factory=list)  # everything the model was shown, numbered
    grounded: bool = True  # False when the model's answer was replaced because the essay does not support it
    closest: list[Source] = field(default_factory=list)  # for a decline: the best-ranked passages on the question's words

    def to_dict(self) -> dict:
        return asdict(self)


def number_passages(context: list[Passage]) -> list[Source]:
    return [
        Source(
            citation=n,
            text=p.chunk.text,
            doc_id=p.chunk.doc_id,
            title=str(p.chunk.metadata.get("title", "")),
            start=p.chunk.start,
            end=p.chunk.end,
            score=round(p.score, 6),
        )
        for n, p in enumerate(context, start=1)
    ]


def closest_passages(passages: list[Source], topic: str) -> list[Source]:
    """The best-ranked passages sharing a word with the question, so a reader can check a decline.

    The 1.5B model wrongly declines a few answerable questions (3 of 55 on
    the eval set); the passage it missed is then one click away.
    """
    asked = stems(topic)
    ranked = sorted(passages, key=lambda s: -s.score)
    return [s for s in ranked if stems(s.text) & asked][:CLOSEST]


def make_answer(
    text: str, *, question: str, standalone: str, context: list[Passage], declined: str, asked_before: tuple[str, ...] = ()
) -> Answer:
    """Decline an ungrounded answer, attach missing citations, keep those naming a passage shown."""
    passages = number_passages(context)
    text = text.strip()
    metadata = {str(p.chunk.metadata.get(k, "")) for p in context for k in ("title", "author", "author_role", "publisher")}
    texts = [s.text for s in passages]
    topic = " ".join((question, standalone, *asked_before))
    grounded = is_decline(text) or (
        is_grounded(text, texts, metadata)
        and is_relevant(text, topic, texts, metadata)
        and numbers_in_place(text, topic, texts)
        and not restates_question(text, question)
    )
    if not grounded:
        log.info("declined an answer the passages do not support: %r", text)
        text = declined
    if is_decline(text):
        closest = closest_passages(passages, topic)
    else:
        closest = []
        text = add_missing_citations(text, [(s.citation, s.text) for s in passages], question=topic)
    by_number = {s.citation: s for s in passages}
    sources = [by_number[n] for n in cited_numbers(text) if n in by_number]
    return Answer(text, sources, question, standalone, passages, grounded, closest)
