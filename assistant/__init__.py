"""essay-assistant: answers questions about an essay, grounded in its text, with citations.

The public API is what this module exports; everything in ``assistant._*``
may change without notice.
"""

from ._answer import Answer, Source
from ._assistant import Assistant
from ._documents import Document, DocumentError
from ._indexing import IndexReport
from ._inputs import InvalidInput
from ._llm import ModelError
from ._model_file import ModelFileError
from ._settings import Settings
from ._store import StoreError

__all__ = [
    "Answer",
    "Assistant",
    "Document",
    "DocumentError",
    "IndexReport",
    "InvalidInput",
    "ModelError",
    "ModelFileError",
    "Settings",
    "Source",
    "StoreError",
]
