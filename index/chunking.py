"""Split a document into overlapping passages that know where they came from.

LangChain's recursive splitter cuts at paragraphs first, then lines, then
sentence ends (found by ``text.SENTENCE_END``), then words; with ``keep_separator`` every chunk is a verbatim
substring, so its offsets can be recovered exactly and a citation can point
at a precise span of ``Document.text``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.index.documents import Document
from assistant.index.text import SENTENCE_END

# Paragraph, line, sentence end (the one splitter the prompt's numbered sentences and the verifier use), word.
_SEPARATORS = ["\n\n", "\n", SENTENCE_END.pattern, r"\s+"]


@dataclass(frozen=True)
class Chunk:
    """A piece of a document: its exact span, and the metadata the store keeps beside it once stored."""

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    index: int
    metadata: dict = field(default_factory=dict, compare=False)


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """A content hash: the same chunk always gets the same id, so re-indexing is idempotent."""
    return hashlib.sha256(f"{doc_id}\x00{start}\x00{end}\x00{text}".encode()).hexdigest()[:32]


def split_document(doc: Document, *, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    splitter = RecursiveCharacterTextSplitter(
        separators=_SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        strip_whitespace=True,
    )
    chunks: list[Chunk] = []
    cursor = 0
    for piece in splitter.split_text(doc.text):
        start = doc.text.find(piece, cursor)
        if start < 0:  # the splitter promises substrings; fail loudly if that ever changes
            raise RuntimeError(f"chunk of {doc.id} not found in its source text: {piece[:60]!r}")
        end = start + len(piece)
        chunks.append(Chunk(chunk_id(doc.id, start, end, piece), doc.id, piece, start, end, len(chunks)))
        cursor = start + 1
    return chunks
