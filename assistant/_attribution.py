"""Attach the citations a small model leaves out, by word overlap.

Measured on the eval questions, the 1.5B default model answers from the
passages but often omits the ``[n]`` markers. A sentence without one is
attributed to the passage holding most of its content words, when that
passage holds at least ``MIN_SUPPORT`` of them and every name and number
in the sentence. A paraphrase, or a terse "In July.", is attributed to the
passage sharing most words with it and the question, when that passage
holds all its names and numbers and at least ``MIN_PARAPHRASE`` both of
the sentence's words and of those and the question's together. On the
eval answers this cited the supporting passage for 3 more answerable
items and a wrong one for 1. Anything weaker stays uncited rather than
getting a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ._citations import cited_numbers
from ._retrieval import tokenize

MIN_SUPPORT = 0.6
MIN_WORDS = 2
MIN_PARAPHRASE = 0.3  # 0.2 also cited a wrong passage for a paraphrase; 0.4 missed the Hobson's Choice answer
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


def add_missing_citations(text: str, passages: Sequence[tuple[int, str]], question: str = "") -> str:
    """Insert ``[n]`` before the final punctuation of each uncited, well-supported sentence.

    ``passages`` are ``(citation number, text)`` pairs, as numbered in the prompt.
    """
    vocab = [(n, set(tokenize(t))) for n, t in passages]
    asked = set(tokenize(question))
    out, cursor = [], 0
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        words = set(tokenize(sentence))
        if cited_numbers(sentence) or not words:
            continue
        names = names_and_numbers(sentence)
        candidates = [  # strict matches first, then most words shared with the sentence and question
            (support(words, pv) >= MIN_SUPPORT and len(words) >= MIN_WORDS, support(words | asked, pv), support(words, pv), n)
            for n, pv in vocab
            if names <= pv
        ]
        if not candidates:
            continue
        strict, with_question, own, number = max(candidates)
        if not strict and min(own, with_question) < MIN_PARAPHRASE:
            continue
        tail = re.search(r"[.!?][\"”’)]*\s*$", sentence)
        at = start + (tail.start() if tail else len(sentence.rstrip()))
        out.append(text[cursor:at] + f" [{number}]")
        cursor = at
    out.append(text[cursor:])
    return "".join(out)
