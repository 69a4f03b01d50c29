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
    from assistant.index.documents import Document, DocumentError
    from assistant.index.indexing import IndexReport
    from assistant.index.store import StoreError
    from assistant.inputs import InvalidInput
    from assistant.models.chat import ModelError
    from assistant.models.model_file import ModelFileError
    from assistant.remote.client import RemoteAssistant, ServerError
    from assistant.settings import Settings

_WHERE = {
    "Answer": "assistant.answer",
    "Assistant": "assistant.assistant",
    "Document": "assistant.index.documents",
    "DocumentError": "assistant.index.documents",
    "IndexReport": "assistant.index.indexing",
    "InvalidInput": "assistant.inputs",
    "ModelError": "assistant.models.chat",
    "ModelFileError": "assistant.models.model_file",
    "RemoteAssistant": "assistant.remote.client",
    "ServerError": "assistant.remote.client",
    "Settings": "assistant.settings",
    "Source": "assistant.answer",
    "StoreError": "assistant.index.store",
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
