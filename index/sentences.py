"""The unit the model cites and the verifier checks: an indexed document's sentences, whole and numbered.

Chunks are for search; sentences are for answering. The prompt numbers
each sentence once, in document order, and an answer cites those numbers,
so a citation maps to an exact span of the document, as ``cited_text``
does in Anthropic's Citations API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from assistant.index.text import sentence_spans, tokenize


@dataclass(frozen=True)
class EssaySentence:
    """One sentence of an indexed document; ``start``/``end`` index the document's cleaned text.

    The byline (author, role, publisher) is an essay sentence too, so "Who
    wrote it?" has something to cite; it is built from metadata, so it says
    so (``is_byline``) and its span is empty.
    """

    doc_id: str
    start: int
    end: int
    text: str
    is_byline: bool = False
    paragraph: int = 0  # where its paragraph starts: sentences of two paragraphs are never quoted as one


def byline(metadata: Mapping) -> str:
    """A document's header as a sentence, so "Who wrote it?" can be verified and cited."""
    if not metadata.get("author"):
        return ""
    role = f", {metadata['author_role']}" if metadata.get("author_role") else ""
    publisher = f", and published by {metadata['publisher']}" if metadata.get("publisher") else ""
    title = metadata.get("title", "")
    return f'The essay "{title}" was written by its author {metadata["author"]}{role}{publisher}.'


def essay_sentences(chunks: Sequence, bylines: Mapping[str, str] | None = None) -> list[EssaySentence]:
    """The sentences of the documents the chunks come from, once each, whole even where a chunk boundary cut one.

    ``chunks`` have ``doc_id``, ``start``, ``end`` and ``text``; overlapping
    chunks are stitched back into each document's covered text first.
    ``bylines`` maps a doc_id to its byline sentence, which comes first.
    """
    covered: dict[str, dict[int, str]] = {}
    for c in chunks:
        chars = covered.setdefault(c.doc_id, {})
        for offset, ch in enumerate(c.text):
            chars.setdefault(c.start + offset, ch)
    out: list[EssaySentence] = []
    for doc_id, chars in covered.items():
        if bylines and bylines.get(doc_id):
            out.append(EssaySentence(doc_id, 0, 0, bylines[doc_id], is_byline=True))
        for run_start, run in _runs(chars):
            for a, b in sentence_spans(run):
                text = run[a:b].strip()
                if tokenize(text):
                    lead = len(run[a:b]) - len(run[a:b].lstrip())
                    start = run_start + a + lead
                    gap = run.rfind("\n\n", 0, a + lead)  # the blank line before the sentence's paragraph
                    paragraph = run_start + (gap + 2 if gap >= 0 else 0)
                    out.append(EssaySentence(doc_id, start, start + len(text), text, paragraph=paragraph))
    return out


def numbered(sentences: Sequence[EssaySentence], titles: Mapping[str, str] | None = None) -> str:
    """The sentences as the model reads them: ``[n] text``, from 1; a document's title heads its sentences
    when there are several documents."""
    lines = []
    doc = None
    for n, s in enumerate(sentences, start=1):
        if titles and len(titles) > 1 and s.doc_id != doc:
            lines.append(f"\n{titles.get(s.doc_id, s.doc_id)}:")
        doc = s.doc_id
        lines.append(f"[{n}] {' '.join(s.text.split())}")  # one line each: no breaks, no non-breaking spaces
    return "\n".join(lines).strip()


def _runs(chars: dict[int, str]) -> list[tuple[int, str]]:
    """Contiguous stretches of known characters, as (start, text)."""
    runs: list[tuple[int, str]] = []
    start = prev = 0
    buf: list[str] = []
    for pos in sorted(chars):
        if buf and pos != prev + 1:
            runs.append((start, "".join(buf)))
            buf = []
        if not buf:
            start = pos
        buf.append(chars[pos])
        prev = pos
    if buf:
        runs.append((start, "".join(buf)))
    return runs
