"""Map the ``[n]`` markers in an answer to the passages they name."""

from __future__ import annotations

import re

# [2], [1, 3], [1][3], [1; 3], and "[Passage 2]" which small models sometimes write.
_MARKER = re.compile(r"\[(?:passages?\s*)?(\d+(?:\s*[,;]\s*(?:passages?\s*)?\d+)*)\]", re.IGNORECASE)


_ANY_MARKER = re.compile(r"\[\d[^\]]*\]")  # looser: also "[1-3]", for text checks that only drop markers


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
