"""Turn answers and documents into the HTML and Markdown the web UI shows.

Kept apart from the Gradio wiring so it can be tested as plain functions.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Sequence

from assistant.answer import Answer, Source

_MARKER = re.compile(r"\[(\d+)\]")
_LINK = re.compile(r'<a [^>]*href="#cite-(\d+)"[^>]*>\[\d+\]</a>')
SOURCES_TITLE = "Sources"
CHECKING = "checking against the essay…"


def link_citations(text: str) -> str:
    """``[3]`` becomes a link that scrolls the essay panel to the sentence cited as 3."""
    return _MARKER.sub(lambda m: f'<a href="#cite-{m.group(1)}" class="cite-link">[{m.group(1)}]</a>', text)


def unlink_citations(text: str) -> str:
    return _LINK.sub(lambda m: f"[{m.group(1)}]", text)


def checking(partial: str) -> str:
    """The verified text so far, marked as still being checked: the next sentence is held until it passes."""
    return f'{link_citations(partial)} <em class="checking">({CHECKING})</em>'.strip()


def cited_span(source: Source) -> tuple[int, int]:
    """The cited sentence's span within ``source.text``; the whole passage when it lies outside (the byline)."""
    a, b = source.cited_start - source.start, source.cited_end - source.start
    return (a, b) if 0 <= a < b <= len(source.text) else (0, 0)


def sources_markdown(answer: Answer) -> str:
    """Each passage with its number, the cited sentence in bold inside it."""
    parts = []
    for s in answer.shown_sources:
        a, b = cited_span(s)
        link = f'<a href="#cite-{s.citation}" class="cite-link">[{s.citation}]</a>'
        if a == b and s.cited_text:  # the byline: not a span of the text
            parts.append(f"{link} <strong>{html.escape(s.cited_text)}</strong>")
            continue
        before, span, after = (html.escape(" ".join(x.split())) for x in (s.text[:a], s.text[a:b], s.text[b:]))
        parts.append(f"{link} {before} <strong>{span}</strong> {after}".replace("  ", " ").strip())
    if not parts:
        return "No passage of the essay supports an answer to this question."
    if not answer.sources:
        parts.insert(0, "The essay does not answer this directly. The closest passages:")
    return "\n\n".join(parts)


def essay_html(title: str, text: str, sources: Sequence[Source] = ()) -> str:
    """The document with each cited sentence marked strongly inside its lightly shaded passage.

    ``#cite-n`` anchors the sentence cited as ``n``, so a click on ``[n]`` scrolls to it.
    """
    cited = sorted({(s.cited_start, s.cited_end, s.citation) for s in sources if s.cited_end > s.cited_start})
    shaded = sorted({(s.start, s.end, s.citation) for s in sources})
    anchors: dict[int, list[int]] = {}
    for s in sources:
        anchors.setdefault(s.cited_start if s.cited_end > s.cited_start else s.start, []).append(s.citation)
    points = sorted({0, len(text)} | {p for a, b, _ in cited + shaded for p in (a, b)} | set(anchors))
    out: list[str] = []
    for a, b in itertools.pairwise(points):
        out.extend(f'<span id="cite-{n}" class="cite-anchor"></span>' for n in sorted(set(anchors.get(a, []))))
        piece = html.escape(text[a:b])
        strong = [n for s, e, n in cited if s <= a and b <= e]
        light = [n for s, e, n in shaded if s <= a and b <= e]
        if strong:
            label = " ".join(str(n) for n in strong)
            out.append(f'<mark class="cited" data-cites="{label}" title="cited as [{label}]">{piece}</mark>')
        elif light:
            out.append(f'<span class="passage" data-cites="{" ".join(str(n) for n in light)}">{piece}</span>')
        else:
            out.append(piece)
    return f'<div class="essay" aria-label="{html.escape(title)}"><div class="essay-text">{"".join(out)}</div></div>'
