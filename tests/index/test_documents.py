from pathlib import Path

import pytest
from fakes import ESSAY

from assistant import DocumentError
from assistant.index.documents import default_essay_path, load_document, parse_document


def test_essay_header_becomes_metadata():
    doc = load_document(ESSAY)
    assert doc.id == "another-us-north-korea-summit"
    assert doc.title == "Another U.S. - North Korea Summit is a Win for North Korea"
    assert doc.author == "Joseph Kim"
    assert doc.author_role == "Program Manager, Global Policy and Expert-in-Residence"
    assert doc.publisher == "George W. Bush Institute"


def test_boilerplate_is_dropped_and_body_kept_verbatim():
    doc = load_document(ESSAY)
    assert "Learn more about" not in doc.text
    assert "Joseph Kim\nJoseph Kim" not in doc.text
    assert "George W. Bush Institute\n" not in doc.text
    raw_lines = ESSAY.read_text(encoding="utf-8").splitlines()
    body = [line.rstrip() for line in raw_lines[8:] if line.strip()]
    assert body, "the essay has a body"
    for line in body:
        assert line in doc.text  # every body paragraph survives byte for byte (NBSPs included)
    assert doc.text.startswith(doc.title + "\n\n")


def test_bundled_essay_ships_with_the_package():
    assert default_essay_path().read_bytes() == ESSAY.read_bytes()


def test_plain_markdown_file_without_header(tmp_path: Path):
    path = tmp_path / "My Notes.md"
    path.write_text("# Notes on tides\n\nThe moon pulls the sea.\n\nTwice a day the water rises.\n", encoding="utf-8")
    doc = load_document(path)
    assert doc.id == "my-notes"
    assert doc.title == "Notes on tides"
    assert doc.author is None
    assert "The moon pulls the sea." in doc.text


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n \t\n", "empty"),
        ("binary.txt", b"\x00\x01\x02PK\x03\x04" * 50, "binary"),
        ("latin1.txt", "Caf\u00e9 au lait, tr\u00e8s bien.\n\nMore text here.".encode("latin-1"), "UTF-8"),
        ("slides.pdf", b"%PDF-1.7", "unsupported"),
        ("utf16.txt", "Title\n\nSome text in UTF-16.\n\nMore.".encode("utf-16"), "UTF-16.*re-save"),
        ("late-nul.txt", b"Title\n\n" + b"Plain text. " * 1000 + b"\x00tail", "binary"),
    ],
)
def test_bad_files_get_clear_errors(tmp_path: Path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=message):
        load_document(path)


def test_missing_file(tmp_path: Path):
    with pytest.raises(DocumentError, match="no such file"):
        load_document(tmp_path / "nope.txt")


def test_crlf_line_endings_are_normalised():
    doc = parse_document("Title\r\n\r\nFirst paragraph here.\r\n\r\nSecond paragraph here.\r\n", doc_id="d", source="s")
    assert doc.text == "Title\n\nFirst paragraph here.\n\nSecond paragraph here."
