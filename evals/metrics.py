"""Deterministic answer and retrieval metrics: no LLM, so the same answer always scores the same.

Spans are character offsets in a document's cleaned text. A passage
*covers* a supporting quote when it holds at least half of the quote's
span, so a quote cut by a chunk boundary still counts for the chunk that
holds most of it.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

# Measures use their own text handling, never the product's heuristics, so the measure cannot move with
# the thing it measures: plain words, a crude suffix strip, sentence ends, capitalised words.
_WORD = re.compile(r"\$?\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)
# A sentence ends at a full stop, or at its citation: a quoted headline has no full stop ('“A Win” [1] “In July…').
_SENTENCE_END = re.compile(r"(?:[.!?][\"”’)]*|[\"”’)]*\s*\[\d[^\]]*\])(?:\s*\[[^\]]*\])*\s+(?=[A-Z“\"])")
_MARKERS = re.compile(r"\[\d[^\]]*\]")
_STOP = frozenset(
    "a an and are as at be but by did do does for from had has have he her his how i if in into is it its of on "
    "or she so than that the their them then there these they this to was we were what when where which who why "
    "will with would you".split()
)


def strip_citations(text: str) -> str:
    return _MARKERS.sub(" ", text)


def cited_numbers(text: str) -> list[int]:
    return list(dict.fromkeys(int(n) for m in _MARKERS.findall(text) for n in re.findall(r"\d+", m)))


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def stems(text: str) -> frozenset[str]:
    return frozenset(_stem(w) for w in _WORD.findall(strip_citations(text).lower()) if w not in _STOP)


def sentences(text: str) -> list[str]:
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start : m.end()].strip())
        start = m.end()
    return [s for s in [*out, text[start:].strip()] if s]


def names_and_numbers(sentence: str) -> frozenset[str]:
    """Capitalised words after the first, and numbers."""
    words = strip_citations(sentence).split()[1:]
    return stems(" ".join(w for w in words if w[:1].isupper() or w[:1].isdigit() or w[:2].startswith("$")))


Span = tuple[int, int]
MIN_SUPPORT = 0.6  # share of a claim's content words one cited passage must hold
MIN_WORDS = 2  # a sentence with fewer content words makes no claim


def quote_spans(text: str, quotes: Sequence[str]) -> list[Span]:
    spans = []
    for quote in quotes:
        at = text.find(quote)
        if at < 0:
            raise ValueError(f"supporting quote not found verbatim: {quote[:60]!r}")
        spans.append((at, at + len(quote)))
    return spans


def covers(passage: Span, quote: Span) -> bool:
    overlap = min(passage[1], quote[1]) - max(passage[0], quote[0])
    return overlap * 2 >= quote[1] - quote[0]


def retrieval_scores(ranked: Sequence[Span], quotes: Sequence[Span], k: int) -> dict[str, float]:
    """hit@k: some quote covered in the top k; recall@k: share of quotes covered; rr: 1/rank of the first hit."""
    top = list(ranked[:k])
    hits = [rank for rank, p in enumerate(top, start=1) if any(covers(p, q) for q in quotes)]
    covered = sum(any(covers(p, q) for p in top) for q in quotes)
    return {
        "hit": float(bool(hits)),
        "recall": covered / len(quotes) if quotes else 0.0,
        "rr": 1.0 / hits[0] if hits else 0.0,
    }


def facts_found(answer: str, required_facts: Sequence[Sequence[str]]) -> list[bool]:
    """One flag per required fact: does any of its alternative patterns match the answer?"""
    return [any(re.search(p, answer, re.IGNORECASE) for p in alternatives) for alternatives in required_facts]


def _normalise(text: str) -> list[str]:
    text = strip_citations(text.lower())
    text = "".join(" " if ch in string.punctuation or ch in "“”’‘" else ch for ch in text)
    return [w for w in text.split() if w not in ("a", "an", "the")]


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style token F1 (lowercased, punctuation, articles and citation markers removed)."""
    pred, gold = _normalise(answer), _normalise(reference)
    common = sum((Counter(pred) & Counter(gold)).values())
    if not pred or not gold or not common:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def citation_scores(answer: str, shown: dict[int, Span], quotes: Sequence[Span]) -> dict[str, float]:
    """Citations in ``answer`` against the numbered passages ``shown`` to the model.

    valid: every cited number names a shown passage. supports_quote: a cited
    passage covers a supporting quote. count: distinct passages cited.
    """
    numbers = cited_numbers(answer)
    cited = [shown[n] for n in numbers if n in shown]
    return {
        "valid": float(all(n in shown for n in numbers)),
        "supports_quote": float(any(covers(p, q) for p in cited for q in quotes)),
        "count": float(len(numbers)),
    }


def shows_forbidden(answer: str, forbidden: Sequence[str]) -> bool:
    """Does the shown answer match a pattern a wrong answer is likely to hold?"""
    return any(re.search(p, answer, re.IGNORECASE) for p in forbidden)


def groundedness(answer: str, cited_texts: Sequence[str], *, declined: bool = False) -> float | None:
    """Share of the answer's claim sentences supported by one of the passages it cites.

    A claim sentence has at least ``MIN_WORDS`` content words. It is
    supported when one cited passage holds at least ``MIN_SUPPORT`` of its
    content words and all of its names and numbers, compared by stem
    ("Olympic" is the essay's "Olympics"). ``None`` when the answer makes no
    claim (a decline). Deliberately lexical: it does not share the
    verifier's embedding, so it cannot simply agree with it.
    """
    if declined:
        return None
    passages = [stems(t) for t in cited_texts]
    claims = supported = 0
    for sentence in sentences(answer):
        sentence = strip_citations(sentence)
        words = stems(sentence)
        if len(words) < MIN_WORDS:
            continue
        claims += 1
        names = stems(" ".join(names_and_numbers(sentence)))
        if any(support(words, p) >= MIN_SUPPORT and names <= p for p in passages):
            supported += 1
    return supported / claims if claims else None


def support(words: frozenset[str], passage_words: frozenset[str]) -> float:
    return len(words & passage_words) / len(words) if words else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; ``q`` in [0, 1]."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
