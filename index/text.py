"""Words, stems, sentences and citation markers: the text handling every other module shares.

Tokens drop stopwords and keep whole numbers ("2.6", "$2.6", "2018");
stems come from the Snowball stemmer, so "Olympics" meets "Olympic".
"""

from __future__ import annotations

import functools
import re
import threading

import snowballstemmer

_TOKEN = re.compile(r"\$?\d+(?:[.,]\d+)*%?|[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_STOPWORDS = frozenset(
    "a an and are as at be but by did do does for from had has have he her his how i if in into is it its "
    "me my of on or our she so than that the their them then there these they this to was we were what "
    "when where which who whom why will with would you your".split()
)
# A sentence ends at . ! or ? (plus closing quotes and any citations right after) before
# whitespace and a capital, or at the end. Initials are not ends: "U.S.", "U. S.", "Harry J. Kazianis".
SENTENCE_END = re.compile(
    r"(?<![A-Z]\.[A-Z])(?<!\s[A-Z])(?<!^[A-Z])[.!?][\"”’)]*(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*(?=\s+[A-Z\"“(]|\s*$)|\n"
)
_NAME_OR_NUMBER = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w’'-]*|\$?\d[\d.,]*")
# [2], [1, 3], [1][3], [1; 3], and "[Passage 2]" which small models sometimes write.
_MARKER = re.compile(r"\[(?:passages?\s*)?(\d+(?:\s*[,;]\s*(?:passages?\s*)?\d+)*)\]", re.IGNORECASE)
_ANY_MARKER = re.compile(r"\[\d[^\]]*\]")  # looser: also "[1-3]", for text checks that only drop markers
_NEGATIONS = frozenset({"not", "no", "never", "nor", "cannot"})
_stemmer = snowballstemmer.stemmer("english")
_stem_lock = threading.Lock()  # a Snowball stemmer keeps state between calls


def tokenize(text: str) -> list[str]:
    """Lowercased words and whole numbers ("2.6", "$2.6", "2018"); apostrophe suffixes dropped."""
    tokens = []
    for tok in _TOKEN.findall(text.lower()):
        tok = re.sub(r"['’]s$", "", tok).lstrip("$")
        if tok and tok not in _STOPWORDS:
            tokens.append(tok)
    return tokens


@functools.lru_cache(maxsize=16384)
def stems(text: str) -> frozenset[str]:
    """Snowball stems of the content words, citation markers left out; every negation is "not"
    ("cannot" is the essay's "can't"). Cached: the verifier stems the same essay sentences for every claim."""
    words = ["not" if is_negation(w) else w for w in tokenize(strip_citations(text))]
    with _stem_lock:
        return frozenset(_stemmer.stemWords(words))


def is_negation(word: str) -> bool:
    """A lowercased word that says no: "not", "never", "cannot", or any "n't" form."""
    return word in _NEGATIONS or word.endswith(("n't", "n’t"))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; ``end`` points just past its terminal punctuation."""
    spans, start = [], 0
    for match in SENTENCE_END.finditer(text):
        end = match.start() if match.group() == "\n" else match.end()
        if text[start:end].strip():
            spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def names_and_numbers(sentence: str) -> set[str]:
    """Capitalised words (not sentence-initial) and numbers: what a hallucination usually adds.

    Acronyms are left out: "DMZ" is a fair way to say "Demilitarized Zone".
    """
    found = (m for m in _NAME_OR_NUMBER.findall(sentence.strip()) if not (m.isupper() and len(m) > 1))
    return {t for m in found for t in tokenize(m)}


def strip_citations(text: str) -> str:
    """The text with every bracketed number replaced by a space, for word-level checks."""
    return _ANY_MARKER.sub(" ", text)


def cited_numbers(text: str) -> list[int]:
    """Citation numbers in order of first appearance, without repeats."""
    seen: dict[int, None] = {}
    for match in _MARKER.finditer(text):
        for number in re.findall(r"\d+", match.group(1)):
            seen.setdefault(int(number), None)
    return list(seen)
