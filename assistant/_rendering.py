"""Turn answers and documents into the HTML and Markdown the web UI shows.

Kept apart from the Gradio wiring so it can be tested as plain functions.
"""

from __future__ import annotations

import html
import re

from ._answer import Answer, Source
from ._attribution import sentence_spans, support
from ._retrieval import tokenize

_MARKER = re.compile(r"\[(\d+)\]")
_LINK = re.compile(r'<a [^>]*href="#cite-(\d+)"[^>]*>\[\d+\]</a>')
SOURCES_TITLE = "Sources"


def link_citations(text: str) -> str:
    """``[3]`` becomes a link that scrolls the essay panel to passage 3."""
    return _MARKER.sub(lambda m: f'<a href="#cite-{m.group(1)}" class="cite-link">[{m.group(1)}]</a>', text)


def unlink_citations(text: str) -> str:
    return _LINK.sub(lambda m: f"[{m.group(1)}]", text)


def supporting_sentence(passage: str, answer: str) -> tuple[int, int]:
    """The span of the passage sentence that shares the most words with the answer."""
    words = set(tokenize(answer))
    spans = sentence_spans(passage) or [(0, len(passage))]
    return max(spans, key=lambda sp: support(set(tokenize(passage[sp[0] : sp[1]])) or {""}, words))


def passages_to_show(answer: Answer) -> list[tuple[Source, tuple[int, int]]]:
    """The cited passages, or a decline's closest ones, each with the span of the sentence to stress.

    That sentence is the one nearest the answer, or for a decline the one nearest the question.
    """
    against = answer.text if answer.sources else f"{answer.question} {answer.standalone_question}"
    return [(s, supporting_sentence(s.text, against)) for s in answer.sources or answer.closest]


def sources_markdown(answer: Answer) -> str:
    """Each passage from ``passages_to_show`` with its number and its stressed sentence in bold."""
    parts = []
    for s, (a, b) in passages_to_show(answer):
        before, span, after = (html.escape(" ".join(x.split())) for x in (s.text[:a], s.text[a:b], s.text[b:]))
        link = f'<a href="#cite-{s.citation}" class="cite-link">[{s.citation}]</a>'
        parts.append(f"{link} {before} <strong>{span}</strong> {after}".replace("  ", " ").strip())
    if not parts:
        return "No passage of the essay supports an answer to this question."
    if not answer.sources:
        parts.insert(0, "The essay does not answer this directly. The closest passages:")
    return "\n\n".join(parts)


def essay_html(title: str, text: str, sources: list[Source] = ()) -> str:
    """The document with every cited span highlighted and anchored as ``#cite-n``."""
    spans = sorted({(s.start, s.end, s.citation) for s in sources})
    points = sorted({0, len(text)} | {p for a, b, _ in spans for p in (a, b)})
    starts: dict[int, list[int]] = {}
    for a, _, n in spans:
        starts.setdefault(a, []).append(n)
    out = []
    for a, b in zip(points, points[1:]):
        out.extend(f'<span id="cite-{n}" class="cite-anchor"></span>' for n in starts.get(a, []))
        cites = [n for s, e, n in spans if s <= a and b <= e]
        piece = html.escape(text[a:b])
        if cites:
            label = " ".join(str(n) for n in cites)
            out.append(f'<mark class="cited" data-cites="{label}" title="cited as [{label}]">{piece}</mark>')
        else:
            out.append(piece)
    return f'<div class="essay" aria-label="{html.escape(title)}"><div class="essay-text">{"".join(out)}</div></div>'
