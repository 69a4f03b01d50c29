"""Turn a scraped essay file into clean text plus metadata.

Offsets of chunks and citations refer to ``Document.text``, so cleaning
only ever drops whole lines and trailing whitespace: every sentence of the
body stays byte-for-byte as in the source.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from assistant.errors import DocumentError

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown")
DEFAULT_ESSAY = "another-us-north-korea-summit.txt"
_LEARN_MORE = re.compile(r"^Learn more about (?P<name>.+?)\.?$")
_MD_HEADING = re.compile(r"^#{1,6}\s+")


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    title: str
    source: str
    author: str | None = None
    author_role: str | None = None
    publisher: str | None = None

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def metadata(self) -> dict[str, str]:
        """Flat metadata for the vector store (Chroma rejects None values)."""
        return {
            "doc_id": self.id,
            "title": self.title,
            "source": self.source,
            "author": self.author or "",
            "author_role": self.author_role or "",
            "publisher": self.publisher or "",
        }


def default_essay_path() -> Path:
    return Path(str(resources.files("assistant.index").joinpath("corpus", DEFAULT_ESSAY)))


def doc_id_for(path: Path) -> str:
    """Stable across edits of the file, so a changed essay replaces its old chunks."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
    return slug or "document"


def load_document(path: Path, max_bytes: int | None = None) -> Document:
    """Read a UTF-8 text file; ``max_bytes`` refuses a huge file before reading it into memory."""
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{path}: unsupported file type {path.suffix!r}; index .txt or .md files")
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise DocumentError(
                f"{path}: is {size / 2**20:,.1f} MB; the limit is {max_bytes / 2**20:,.1f} MB "
                "(ESSAY_ASSISTANT_MAX_FILE_MB). Split it, or raise the limit"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DocumentError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DocumentError(f"{path}: is a directory; pass the files inside it") from None
    except PermissionError:
        raise DocumentError(f"{path}: cannot be read (permission denied)") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError(f"{path}: is UTF-16 encoded; re-save the file as UTF-8")
    if b"\x00" in raw:
        raise DocumentError(f"{path}: looks binary (contains NUL bytes); index plain text files only")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8") from None
    return parse_document(text, doc_id=doc_id_for(path), source=str(path))


def parse_document(raw: str, *, doc_id: str, source: str) -> Document:
    """Split a scraped page into header metadata and the cleaned body.

    The scraped header looks like: title, "Learn more about NAME.", the
    name repeated, the author's role, the publisher, then the body.
    Files without such a header keep all their text.
    """
    lines = [line.rstrip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if not nonblank:
        raise DocumentError(f"{source}: the file is empty")

    first = nonblank[0]
    title = _MD_HEADING.sub("", lines[first]).strip()
    author = role = publisher = None
    drop: set[int] = set()

    match = next(
        (_LEARN_MORE.match(lines[i].strip()) for i in nonblank[1:4] if _LEARN_MORE.match(lines[i].strip())), None
    )
    if match:
        author = match.group("name").strip()
        header: list[int] = []
        for i in range(first + 1, len(lines)):
            if not lines[i].strip():
                if header:
                    break
                continue
            header.append(i)
        drop.update(header)
        rest = [
            lines[i].strip() for i in header if not _LEARN_MORE.match(lines[i].strip()) and lines[i].strip() != author
        ]
        role = rest[0] if rest else None
        publisher = rest[1] if len(rest) > 1 else None

    paragraphs: list[str] = []
    current: list[str] = []
    for i, line in enumerate(lines):
        if i in drop or not line.strip():
            if current:
                paragraphs.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        paragraphs.append("\n".join(current))

    text = "\n\n".join(paragraphs)
    if len(paragraphs) < 2 and len(text) < 40:
        raise DocumentError(f"{source}: has no body text to index")
    return Document(
        id=doc_id, text=text, title=title, source=source, author=author, author_role=role, publisher=publisher
    )
