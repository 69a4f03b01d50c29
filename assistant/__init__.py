"""essay-assistant: answers questions about an essay, grounded in its text, with citations.

The public API is what this module exports; every module may change without notice.

Names are imported on first use, so a command that only talks to a
running server (``essay-assistant ask`` while ``serve`` runs) starts
without loading Chroma, LangChain or a model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.answer import Answer, Source
    from assistant.assistant import Assistant
    from assistant.errors import DocumentError, InvalidInput, ModelError, ModelFileError, ServerError, StoreError
    from assistant.index.documents import Document
    from assistant.index.indexing import IndexReport
    from assistant.remote.client import RemoteAssistant
    from assistant.settings import Settings

_WHERE = {
    "Answer": "assistant.answer",
    "Assistant": "assistant.assistant",
    "Document": "assistant.index.documents",
    "DocumentError": "assistant.errors",
    "IndexReport": "assistant.index.indexing",
    "InvalidInput": "assistant.errors",
    "ModelError": "assistant.errors",
    "ModelFileError": "assistant.errors",
    "RemoteAssistant": "assistant.remote.client",
    "ServerError": "assistant.errors",
    "Settings": "assistant.settings",
    "Source": "assistant.answer",
    "StoreError": "assistant.errors",
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
