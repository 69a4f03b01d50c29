"""Decide whether an answer stays within its passages.

Measured on the eval questions, the default 1.5B model answers most
answerable questions well, but also answers unanswerable ones from world
knowledge ("The Korean War began on June 25, 1950") and follows some
off-topic requests (poems). A prompt alone does not stop it. An answer is
declined when it names a person, place or number found nowhere in the
context, or when none of its sentences is supported by a passage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._attribution import MIN_SUPPORT, MIN_WORDS, names_and_numbers, sentence_spans, support
from ._citations import cited_numbers
from ._retrieval import tokenize

_DECLINE = re.compile(r"essay does not (say|cover|mention|discuss)|only answer questions about", re.IGNORECASE)


def is_decline(text: str) -> bool:
    return bool(_DECLINE.search(text))


def is_grounded(text: str, passages: Iterable[str], metadata: Iterable[str] = ()) -> bool:
    """True when every name and number is in the context and some sentence is supported."""
    passage_words = [set(tokenize(p)) for p in passages]
    known = set().union(*passage_words, *(set(tokenize(m)) for m in metadata))
    supported = False
    for start, end in sentence_spans(text):
        sentence = re.sub(r"\[\d[^\]]*\]", " ", text[start:end])
        if not names_and_numbers(sentence) <= known:
            return False
        words = set(tokenize(sentence))
        if len(words) >= MIN_WORDS and (
            cited_numbers(text[start:end]) or any(support(words, pw) >= MIN_SUPPORT for pw in passage_words)
        ):
            supported = True
    return supported
