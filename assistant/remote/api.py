"""The JSON API beside the chat UI, so the CLI and Python clients share the server's model.

Routes, all under ``/api`` on the same port as the UI:

``GET /api/health``
    ``{"status": "ok", "api": 2, "pid": ..., "corpus_version": ..., "chunks": ...}``.
``POST /api/ask``
    Body ``{"question": "...", "history": [{"role": "user"|"assistant", "content": "..."}]}``
    (``history`` optional). Returns ``Answer.to_dict()``.
``POST /api/stream``
    Same body. Returns NDJSON, one object a line: ``{"delta": "..."}`` for each
    piece of text ``Assistant.stream`` yields, then ``{"answer": {...}}``; an
    error after the first line arrives as ``{"error": CODE, "message": ...}``.

Errors are ``{"error": CODE, "message": ...}``: each ``EssayAssistantError``
sends its own ``code`` and ``http_status`` (see ``assistant.errors``), e.g.
422 ``invalid_input`` for a bad question or history (the same message as the
Python API), 503 ``model_unavailable`` when the model cannot be used, 401
``login_refused`` without the login of a server started with ``--auth``
(HTTP Basic), and 500 ``server_failed`` for anything unexpected.
"""

# No ``from __future__ import annotations``: FastAPI evaluates the routes' annotations, and ``login`` in them is
# local to ``api_routes``.
import json
import logging
import os
import secrets
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from starlette.routing import BaseRoute

from assistant.answer import Answer
from assistant.assistant import Assistant
from assistant.errors import EssayAssistantError, InvalidInput, LoginRefused, ServerError

log = logging.getLogger(__name__)
API_VERSION = 2  # 2: errors carry a stable code, not a Python type name
_BASIC = HTTPBasic(realm="essay-assistant", auto_error=False)
_CHALLENGE = _BASIC.make_authenticate_headers()


def _no_login() -> None:
    """A server without ``--auth`` reads no Authorization header, so a stray or malformed one is not refused."""


def api_routes(bot: Assistant, auth: tuple[str, str] | None = None) -> list[BaseRoute]:
    """The ``/api`` routes for ``bot``; with ``auth``, every route requires that login (HTTP Basic)."""
    router = APIRouter(prefix="/api")
    login = Depends(_BASIC if auth else _no_login)

    @router.get("/health")
    def health(credentials: Annotated[HTTPBasicCredentials | None, login]):
        return _respond(
            credentials,
            auth,
            lambda: {
                "status": "ok",
                "api": API_VERSION,
                "pid": os.getpid(),
                "corpus_version": bot.corpus_version,
                "chunks": bot.chunk_count,
            },
        )

    @router.post("/ask")
    def ask(credentials: Annotated[HTTPBasicCredentials | None, login], payload: Annotated[Any, Body()] = None):
        return _respond(credentials, auth, lambda: JSONResponse(bot.ask(*_parse(payload)).to_dict()))

    @router.post("/stream")
    def stream(credentials: Annotated[HTTPBasicCredentials | None, login], payload: Annotated[Any, Body()] = None):
        def start() -> StreamingResponse:
            events = bot.stream(*_parse(payload))
            first = next(events)  # bad input and an unusable model fail here, before the 200 is sent
            return StreamingResponse(_lines(first, events), media_type="application/x-ndjson")

        return _respond(credentials, auth, start)

    return list(router.routes)


def _respond(credentials: HTTPBasicCredentials | None, auth: tuple[str, str] | None, answer: Callable[[], Any]) -> Any:
    """``answer()`` for a caller with the login; any failure, the login's included, becomes its error response."""
    try:
        _check_login(credentials, auth)
        return answer()
    except Exception as exc:  # noqa: BLE001  (every failure becomes a status and a message)
        return _error_response(exc)


def _lines(first: str | Answer, events: Iterator[str | Answer]) -> Iterator[str]:
    """NDJSON lines; a client that disconnects closes ``events``, which stops the generation."""
    try:
        yield _line(first)
        for event in events:
            yield _line(event)
    except Exception as exc:  # noqa: BLE001
        _, body = _error(exc)
        yield json.dumps(body, ensure_ascii=False) + "\n"
    finally:
        events.close()  # type: ignore[attr-defined]


def _line(event: str | Answer) -> str:
    body = {"delta": event} if isinstance(event, str) else {"answer": event.to_dict()}
    return json.dumps(body, ensure_ascii=False) + "\n"


def _parse(payload: Any) -> tuple[Any, Any]:
    if not isinstance(payload, dict):
        raise InvalidInput('Send a JSON object: {"question": "...", "history": [{"role": ..., "content": ...}]}.')
    return payload.get("question"), payload.get("history")


def _error(exc: Exception) -> tuple[int, dict]:
    """The status and body an error is sent as; an error of no known kind is logged and hidden behind a 500."""
    if not isinstance(exc, EssayAssistantError):
        log.exception("answering through the API failed")
        exc = ServerError("Something went wrong while answering. Please try again.")
    return exc.http_status, {"error": exc.code, "message": str(exc)}


def _error_response(exc: Exception) -> JSONResponse:
    status, body = _error(exc)
    # A 401 must name the scheme to use (RFC 9110), so browsers and curl ask for the login.
    return JSONResponse(body, status_code=status, headers=_CHALLENGE if status == 401 else None)


def _check_login(credentials: HTTPBasicCredentials | None, auth: tuple[str, str] | None) -> None:
    """Raise ``LoginRefused`` unless no login is required or ``credentials`` are that login."""
    if auth is None:
        return
    if credentials is not None:
        # Compare both parts every time, in constant time, so timing does not tell which part was wrong.
        ok_user = secrets.compare_digest(credentials.username.encode(), auth[0].encode())
        ok_password = secrets.compare_digest(credentials.password.encode(), auth[1].encode())
        if ok_user and ok_password:
            return
    raise LoginRefused(
        "This server requires a login and refused this one: send the USER:PASS given to serve --auth "
        "(HTTP Basic; auth=(user, password) for Assistant.connect, ESSAY_ASSISTANT_AUTH=USER:PASS for the CLI)."
    )
