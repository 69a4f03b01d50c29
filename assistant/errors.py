"""Every error the project raises on purpose, and what each one becomes at the edges.

The CLI, the JSON API, its client and the web UI read a class's ``exit_code``,
``http_status`` and ``code`` instead of keeping lists of the errors they know,
so an error is handled the same way everywhere by being declared once, here.
This module imports nothing of the project, so every layer may raise these.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

_BY_CODE: dict[str, type[EssayAssistantError]] = {}


class EssayAssistantError(Exception):
    """An error whose message is the whole story: what went wrong and what to change.

    Each subclass names a ``code`` of its own (a class keyword, with any
    other attribute it changes). The API sends the code and the client
    rebuilds the class from it, so a code stays the same when a class is
    renamed or moved.
    """

    code: ClassVar[str]
    exit_code: ClassVar[int] = 2  # the CLI's "the command could not run; the message says why"
    http_status: ClassVar[int] = 500
    headline: ClassVar[str] = ""  # leads the message where its context is missing (the web UI)

    def __init_subclass__(
        cls, *, code: str, http_status: int | None = None, exit_code: int | None = None, headline: str | None = None
    ) -> None:
        super().__init_subclass__()
        if code in _BY_CODE:
            raise TypeError(f"{cls.__name__}: the code {code!r} is already {_BY_CODE[code].__name__}'s")
        cls.code = code
        cls.http_status = cls.http_status if http_status is None else http_status
        cls.exit_code = cls.exit_code if exit_code is None else exit_code
        cls.headline = cls.headline if headline is None else headline
        _BY_CODE[code] = cls


def error_class(code: object) -> type[EssayAssistantError] | None:
    """The class that sends ``code``; None for a code this version does not know (or no code at all)."""
    return _BY_CODE.get(code) if isinstance(code, str) else None


def error_classes() -> list[type[EssayAssistantError]]:
    return list(_BY_CODE.values())


# What the caller sent cannot be used ------------------------------------------


class InvalidInput(EssayAssistantError, ValueError, code="invalid_input", http_status=422):
    """The question or history cannot be used; the message tells the user what to change."""


class DocumentError(EssayAssistantError, ValueError, code="invalid_document", http_status=422):
    """A file that cannot be indexed, with the reason in plain words."""


class DatasetError(EssayAssistantError, ValueError, code="invalid_dataset", http_status=422):
    """The dataset is malformed; the message lists every problem found."""


class InvalidDataset(DatasetError, code="unusable_dataset"):
    """The dataset reads, but running it would mean nothing (see ``validate_dataset``); the message lists why."""


class BaselineRefused(EssayAssistantError, ValueError, code="baseline_refused", http_status=409):
    """This run must not become the baseline; the message says what to change."""


class ResumeRefused(EssayAssistantError, ValueError, code="resume_refused", http_status=409):
    """An eval journal cannot be resumed, or would be overwritten; the message says what to do with it."""


# What answering needs cannot be used --------------------------------------------


class ModelError(
    EssayAssistantError, RuntimeError, code="model_unavailable", http_status=503, headline="The model is not available"
):
    """The configured model cannot be used; the message says how to fix it."""


class ModelFileError(ModelError, code="model_file_unavailable"):
    """The model file cannot be produced; the message names the fix.

    A ``ModelError`` so that a caller (or a remote client) catching that
    one catches a broken model file too.
    """


class EngineError(ModelError, code="engine_failed"):
    """The embedded llama.cpp server could not start or stopped answering."""


class StoreError(EssayAssistantError, RuntimeError, code="store_unavailable", http_status=503):
    """The vector store cannot be used as configured; the message says how to fix it."""


class StoreInUse(StoreError, code="store_in_use"):
    """Another process holds the embedded store: it alone may write to it.

    ``path`` and ``holder`` are known where the lock was tried; an error
    rebuilt from its message alone (by the remote client, or unpickled)
    has neither.
    """

    def __init__(self, message: str, path: Path | None = None, holder: str = "another process") -> None:
        super().__init__(message)
        self.path = path
        self.holder = holder


# The server behind a RemoteAssistant ----------------------------------------------


class ServerError(EssayAssistantError, RuntimeError, code="server_failed", http_status=500):
    """The server cannot be reached, refused the login, or failed; the message says which and what to do."""


class LoginRefused(ServerError, code="login_refused", http_status=401):
    """The server requires a login (``serve --auth``) and this client sent none or a wrong one."""
