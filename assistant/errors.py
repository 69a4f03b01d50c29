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

    Each subclass names a ``code`` of its own. The API sends it and the
    client rebuilds the class from it, so a code stays the same when a
    class is renamed or moved.
    """

    code: ClassVar[str]
    exit_code: ClassVar[int] = 2  # the CLI's "the command could not run; the message says why"
    http_status: ClassVar[int] = 500
    headline: ClassVar[str] = ""  # leads the message where its context is missing (the web UI)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("code")
        if not isinstance(code, str) or not code:
            raise TypeError(f"{cls.__name__} must declare a code of its own")
        if code in _BY_CODE:
            raise TypeError(f"{cls.__name__}: the code {code!r} is already {_BY_CODE[code].__name__}'s")
        _BY_CODE[code] = cls


def error_class(code: object) -> type[EssayAssistantError] | None:
    """The class that sends ``code``; None for a code this version does not know (or no code at all)."""
    return _BY_CODE.get(code) if isinstance(code, str) else None


def error_classes() -> list[type[EssayAssistantError]]:
    return list(_BY_CODE.values())


# What the caller sent cannot be used ------------------------------------------


class InvalidInput(EssayAssistantError, ValueError):
    """The question or history cannot be used; the message tells the user what to change."""

    code = "invalid_input"
    http_status = 422


class DocumentError(EssayAssistantError, ValueError):
    """A file that cannot be indexed, with the reason in plain words."""

    code = "invalid_document"
    http_status = 422


class DatasetError(EssayAssistantError, ValueError):
    """The dataset is malformed; the message lists every problem found."""

    code = "invalid_dataset"
    http_status = 422


class InvalidDataset(DatasetError):
    """The dataset reads, but running it would mean nothing (see ``validate_dataset``); the message lists why."""

    code = "unusable_dataset"


class BaselineRefused(EssayAssistantError, ValueError):
    """This run must not become the baseline; the message says what to change."""

    code = "baseline_refused"
    http_status = 409


# What answering needs cannot be used --------------------------------------------


class ModelError(EssayAssistantError, RuntimeError):
    """The configured model cannot be used; the message says how to fix it."""

    code = "model_unavailable"
    http_status = 503
    headline = "The model is not available"


class ModelFileError(ModelError):
    """The model file cannot be produced; the message names the fix.

    A ``ModelError`` so that a caller (or a remote client) catching that
    one catches a broken model file too.
    """

    code = "model_file_unavailable"


class EngineError(ModelError):
    """The embedded llama.cpp server could not start or stopped answering."""

    code = "engine_failed"


class StoreError(EssayAssistantError, RuntimeError):
    """The vector store cannot be used as configured; the message says how to fix it."""

    code = "store_unavailable"
    http_status = 503


class StoreInUse(StoreError):
    """Another process holds the embedded store: it alone may write to it.

    ``path`` and ``holder`` are known where the lock was tried; an error
    rebuilt from its message alone (by the remote client, or unpickled)
    has neither.
    """

    code = "store_in_use"

    def __init__(self, message: str, path: Path | None = None, holder: str = "another process") -> None:
        super().__init__(message)
        self.path = path
        self.holder = holder


# The server behind a RemoteAssistant ----------------------------------------------


class ServerError(EssayAssistantError, RuntimeError):
    """The server cannot be reached, refused the login, or failed; the message says which and what to do."""

    code = "server_failed"
    http_status = 500


class LoginRefused(ServerError):
    """The server requires a login (``serve --auth``) and this client sent none or a wrong one."""

    code = "login_refused"
    http_status = 401
