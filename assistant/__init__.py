"""essay-assistant: answers questions about an essay, grounded in its text, with citations.

The public API is what this module exports; everything in ``assistant._*``
may change without notice.

Names are imported on first use, so a command that only talks to a
running server (``essay-assistant ask`` while ``serve`` runs) starts
without loading Chroma, LangChain or a model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._answer import Answer, Source
    from ._assistant import Assistant
    from ._client import RemoteAssistant, ServerError
    from ._documents import Document, DocumentError
    from ._indexing import IndexReport
    from ._inputs import InvalidInput
    from ._llm import ModelError
    from ._model_file import ModelFileError
    from ._settings import Settings
    from ._store import StoreError

_WHERE = {
    "Answer": "._answer",
    "Assistant": "._assistant",
    "Document": "._documents",
    "DocumentError": "._documents",
    "IndexReport": "._indexing",
    "InvalidInput": "._inputs",
    "ModelError": "._llm",
    "ModelFileError": "._model_file",
    "RemoteAssistant": "._client",
    "ServerError": "._client",
    "Settings": "._settings",
    "Source": "._answer",
    "StoreError": "._store",
}

__all__ = [
    "Answer",
    "Assistant",
    "Document",
    "DocumentError",
    "IndexReport",
    "InvalidInput",
    "ModelError",
    "ModelFileError",
    "RemoteAssistant",
    "ServerError",
    "Settings",
    "Source",
    "StoreError",
]
assert sorted(__all__) == sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
