"""Attach the citations a small model leaves out, by word overlap.

Measured on the eval questions, the 1.5B default model answers from the
passages but often omits the ``[n]`` markers. A sentence without one is
attributed to the passage holding most of its content words, when that
passage holds at least ``MIN_SUPPORT`` of them and every name and number
in the sentence; otherwise it stays uncited rather than getting a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ._citations import cited_numbers
from ._retrieval import tokenize

MIN_SUPPORT = 0.6
MIN_WORDS = 2
# A sentence ends at . ! or ? (plus closing quotes and any citations right after) before
# whitespace and a capital, or at the end. Initials are not ends: "U.S.", "U. S.", "Harry J. Kazianis".
_END = re.compile(
    r"(?<![A-Z]\.[A-Z])(?<!\s[A-Z])(?<!^[A-Z])[.!?][\"”’)]*(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*(?=\s+[A-Z\"“(]|\s*$)|\n"
)
_NAME_OR_NUMBER = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w’'-]*|\$?\d[\d.,]*")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; ``end`` points just past its terminal punctuation."""
    spans, start = [], 0
    for match in _END.finditer(text):
        end = match.start() if match.group() == "\n" else match.end()
        if text[start:end].strip():
            spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def support(words: set[str], passage_words: set[str]) -> float:
    return len(words & passage_words) / len(words) if words else 0.0


def names_and_numbers(sentence: str) -> set[str]:
    """Capitalised words (not sentence-initial) and numbers: what a hallucination usually adds.

    Acronyms are left out: "DMZ" is a fair way to say "Demilitarized Zone".
    """
    found = (m for m in _NAME_OR_NUMBER.findall(sentence.strip()) if not (m.isupper() and len(m) > 1))
    return {t for m in found for t in tokenize(m)}


def add_missing_citations(text: str, passages: Sequence[tuple[int, str]]) -> str:
    """Insert ``[n]`` before the final punctuation of each uncited, well-supported sentence.

    ``passages`` are ``(citation number, text)`` pairs, as numbered in the prompt.
    """
    vocab = [(n, set(tokenize(t))) for n, t in passages]
    out, cursor = [], 0
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        words = set(tokenize(sentence))
        if cited_numbers(sentence) or len(words) < MIN_WORDS or not vocab:
            continue
        number, best = max(((n, support(words, pv)) for n, pv in vocab), key=lambda x: x[1])
        if best < MIN_SUPPORT or not names_and_numbers(sentence) <= dict(vocab)[number]:
            continue
        tail = re.search(r"[.!?][\"”’)]*\s*$", sentence)
        at = start + (tail.start() if tail else len(sentence.rstrip()))
        out.append(text[cursor:at] + f" [{number}]")
        cursor = at
    out.append(text[cursor:])
    return "".join(out)
