import itertools

import pytest
from fakes import ESSAY

from assistant.index.chunking import split_document
from assistant.index.documents import load_document, parse_document


@pytest.mark.parametrize("size, overlap", [(200, 40), (400, 80), (800, 150), (1500, 300)])
def test_every_chunk_is_its_exact_source_span(size, overlap):
    doc = load_document(ESSAY)
    chunks = split_document(doc, chunk_size=size, chunk_overlap=overlap)
    assert chunks
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert len(c.text) <= size
    # Together the chunks cover every non-space character of the document.
    covered = [False] * len(doc.text)
    for c in chunks:
        covered[c.start : c.end] = [True] * (c.end - c.start)
    assert all(covered[i] for i, ch in enumerate(doc.text) if not ch.isspace())


def test_chunks_end_at_sentence_boundaries_and_overlap():
    doc = load_document(ESSAY)
    chunks = split_document(doc, chunk_size=300, chunk_overlap=120)
    for c in chunks:
        at_paragraph_end = doc.text[c.end : c.end + 2] in ("\n\n", "")
        assert c.text[-1] in '.?!”"’)' or at_paragraph_end, c.text[-40:]
    overlapping = [a for a, b in itertools.pairwise(chunks) if b.start < a.end]
    assert overlapping, "long paragraphs split by sentence should overlap"


def test_ids_are_content_hashes():
    doc = load_document(ESSAY)
    a = split_document(doc, chunk_size=500, chunk_overlap=100)
    b = split_document(doc, chunk_size=500, chunk_overlap=100)
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)
    edited = parse_document(doc.text.replace("Hanoi", "Hanoï"), doc_id=doc.id, source="x")
    changed = split_document(edited, chunk_size=500, chunk_overlap=100)
    assert {c.id for c in changed} != {c.id for c in a}
