"""The JSON API beside the chat UI, so the CLI and Python clients share the server's model.

Routes, all under ``/api`` on the same port as the UI:

``GET /api/health``
    ``{"status": "ok", "api": 1, "pid": ..., "corpus_version": ..., "chunks": ...}``.
``POST /api/ask``
    Body ``{"question": "...", "history": [{"role": "user"|"assistant", "content": "..."}]}``
    (``history`` optional). Returns ``Answer.to_dict()``.
``POST /api/stream``
    Same body. Returns NDJSON, one object a line: ``{"delta": "..."}`` for each
    piece of text ``Assistant.stream`` yields, then ``{"answer": {...}}``; an
    error after the first line arrives as ``{"error": KIND, "message": ...}``.

Errors are ``{"error": KIND, "message": ...}`` with status 422 for a bad
question or history (the same message as the Python API), 401 without the
login of a server started with ``--auth`` (HTTP Basic), 503 when the model
or store cannot be used, 500 otherwise.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.routing import BaseRoute

from assistant.answer import Answer
from assistant.assistant import Assistant
from assistant.index.store import StoreError
from assistant.inputs import InvalidInput
from assistant.models.chat import ModelError
from assistant.models.model_file import ModelFileError

log = logging.getLogger(__name__)
API_VERSION = 1
_UNAVAILABLE = (ModelError, ModelFileError, StoreError)


def api_routes(bot: Assistant, auth: tuple[str, str] | None = None) -> list[BaseRoute]:
    """The ``/api`` routes for ``bot``; with ``auth``, every route requires that login (HTTP Basic)."""
    router = APIRouter(prefix="/api")

    @router.get("/health")
    def health(request: Request):
        if denied := _check_login(request, auth):
            return denied
        return {
            "status": "ok",
            "api": API_VERSION,
            "pid": os.getpid(),
            "corpus_version": bot.corpus_version,
            "chunks": bot.chunk_count,
        }

    @router.post("/ask")
    def ask(request: Request, payload: Annotated[Any, Body()] = None):
        if denied := _check_login(request, auth):
            return denied
        try:
            question, history = _parse(payload)
            return JSONResponse(bot.ask(question, history).to_dict())
        except Exception as exc:  # noqa: BLE001  (every failure becomes a status and a message)
            return _error_response(exc)

    @router.post("/stream")
    def stream(request: Request, payload: Annotated[Any, Body()] = None):
        if denied := _check_login(request, auth):
            return denied
        try:
            question, history = _parse(payload)
            events = bot.stream(question, history)
            first = next(events)  # bad input and an unusable model fail here, before the 200 is sent
        except Exception as exc:  # noqa: BLE001
            return _error_response(exc)
        return StreamingResponse(_lines(first, events), media_type="application/x-ndjson")

    return list(router.routes)


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
    if isinstance(exc, InvalidInput):
        return 422, {"error": "InvalidInput", "message": str(exc)}
    if isinstance(exc, _UNAVAILABLE):
        return 503, {"error": type(exc).__name__, "message": str(exc)}
    log.exception("answering through the API failed")
    return 500, {"error": "InternalError", "message": "Something went wrong while answering. Please try again."}


def _error_response(exc: Exception) -> JSONResponse:
    status, body = _error(exc)
    return JSONResponse(body, status_code=status)


def _check_login(request: Request, auth: tuple[str, str] | None) -> JSONResponse | None:
    """None when no login is required or the request carries it; else a 401 asking for HTTP Basic."""
    if auth is None:
        return None
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        sep = ""
    if scheme.lower() == "basic" and sep:
        # Compare both parts every time, in constant time, so timing does not tell which part was wrong.
        ok_user = secrets.compare_digest(user.encode(), auth[0].encode())
        ok_password = secrets.compare_digest(password.encode(), auth[1].encode())
        if ok_user and ok_password:
            return None
    return JSONResponse(
        {
            "error": "Unauthorized",
            "message": "This server requires a login (HTTP Basic, the USER:PASS given to --auth).",
        },
        status_code=401,
        headers={"WWW-Authenticate": 'Basic realm="essay-assistant"'},
    )
