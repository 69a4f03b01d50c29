"""A client of a running ``essay-assistant serve``: the same ask/stream/aask/astream, the same ``Answer``.

It speaks the JSON API in ``_api`` over HTTP, so it works for a server on
this machine or another host, and loads no model, store or embedding.
Answers are rebuilt by pydantic from the dataclasses' own annotations, so
fields added to ``Answer`` or ``Source`` come through without changes here.
An error comes back as the class its ``code`` names (see ``assistant.errors``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter

from assistant.answer import Answer
from assistant.errors import LoginRefused, ServerError, error_class

T = TypeVar("T")

DEFAULT_TIMEOUT = 600.0  # seconds to wait for an answer; a busy server queues questions


class RemoteAssistant:
    """Answers questions through a running server, e.g. ``Assistant.connect("http://127.0.0.1:7860")``.

    ``auth`` is the (user, password) of a server started with ``--auth``.
    Raises the errors ``Assistant`` raises (``InvalidInput``, ``ModelError``, ...)
    with the server's messages, and ``ServerError`` when the server itself cannot be used.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: tuple[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._options: dict[str, Any] = {
            "base_url": self.url,
            "auth": httpx.BasicAuth(*auth) if auth else None,
            "timeout": httpx.Timeout(timeout, connect=10.0),
            "trust_env": False,  # a proxy from the environment must not see the questions or the login
            # Plain http never does TLS (and redirects are not followed): skip loading the CA bundle,
            # 0.1-0.3 s a client.
            "verify": self.url.startswith("https:"),
        }
        self._http = httpx.Client(transport=transport, **self._options)
        self._async_transport = async_transport

    def __repr__(self) -> str:
        return f"RemoteAssistant({self.url!r})"

    def __enter__(self) -> RemoteAssistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def health(self) -> dict:
        """The server's status: ``pid``, ``corpus_version`` (a hash of the indexed text) and ``chunks``."""
        with self._errors():
            response = self._http.get("/api/health")
        _raise_for(response, self.url)
        return response.json()

    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        with self._errors():
            response = self._http.post("/api/ask", json=_body(question, history))
        _raise_for(response, self.url)
        return answer_from_dict(response.json())

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[str | Answer]:
        """Yield the answer's text as the server streams it, then the finished ``Answer``."""
        events = _Events(self.url)
        with self._errors(), self._http.stream("POST", "/api/stream", json=_body(question, history)) as response:
            if response.is_error:
                response.read()
                _raise_for(response, self.url)
            for line in response.iter_lines():
                yield from events.read(line)
                if events.done:
                    return
        raise events.ended_early()

    async def aask(self, question: str, history: list[dict] | None = None) -> Answer:
        async with self._async_client() as client, self._errors():
            response = await client.post("/api/ask", json=_body(question, history))
        _raise_for(response, self.url)
        return answer_from_dict(response.json())

    async def astream(self, question: str, history: list[dict] | None = None) -> AsyncIterator[str | Answer]:
        events = _Events(self.url)
        async with self._async_client() as client, self._errors():
            async with client.stream("POST", "/api/stream", json=_body(question, history)) as response:
                if response.is_error:
                    await response.aread()
                    _raise_for(response, self.url)
                async for line in response.aiter_lines():
                    for event in events.read(line):
                        yield event
                    if events.done:
                        return
        raise events.ended_early()

    def _async_client(self) -> httpx.AsyncClient:
        # One per call: an AsyncClient's connections belong to the event loop that opened them.
        return httpx.AsyncClient(transport=self._async_transport, **self._options)

    def _errors(self):
        return _TransportErrors(self.url)


class _TransportErrors:
    """Turn httpx's connection and timeout errors into one ``ServerError`` naming the server."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, httpx.TimeoutException):
            raise ServerError(f"the server at {self.url} did not answer in time ({type(exc).__name__})") from None
        if isinstance(exc, httpx.TransportError):
            raise ServerError(f"cannot reach the server at {self.url} ({type(exc).__name__}: {exc})") from None
        return False

    async def __aenter__(self):
        return self

    async def __aexit__(self, kind, exc, tb):
        return self.__exit__(kind, exc, tb)


def _body(question: str, history: list[dict] | None) -> dict:
    return {"question": question, "history": history or []}


class _Events:
    """The streamed lines as events, without IO, for both ``stream`` and ``astream``: text, then one ``Answer``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.done = False

    def read(self, line: str) -> list[str | Answer]:
        if self.done or not line.strip():
            return []
        event = _event(json.loads(line), self.url)
        self.done = isinstance(event, Answer)
        return [event]

    def ended_early(self) -> ServerError:
        return ServerError(f"the server at {self.url} ended the answer early; try again")


def _event(body: dict, url: str) -> str | Answer:
    if "delta" in body:
        return body["delta"]
    if "answer" in body:
        return answer_from_dict(body["answer"])
    raise _error_from(body, url, 500)


def _raise_for(response: httpx.Response, url: str) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    raise _error_from(body if isinstance(body, dict) else {}, url, response.status_code)


def _error_from(body: dict, url: str, status: int) -> Exception:
    """The exception the server's error stands for: the class its code names, so the same as ``Assistant`` raises."""
    message = str(body.get("message") or body.get("detail") or "")
    if cls := error_class(body.get("error")):
        return cls(message)
    # No code of ours: a proxy, FastAPI itself (a malformed login), or not this API at all.
    if status == 401:
        return LoginRefused(
            f"the server at {url} requires a login and refused this one: pass auth=(user, password) to "
            "Assistant.connect, or set ESSAY_ASSISTANT_AUTH=USER:PASS for the CLI"
        )
    if status == 404:
        return ServerError(f"{url} is not an essay-assistant server with a JSON API (404 for /api)")
    return ServerError(f"the server at {url} failed (HTTP {status}): {message or 'no message'}")


# Answers from JSON ----------------------------------------------------------


def answer_from_dict(data: dict) -> Answer:
    """An ``Answer`` (with ``Source`` objects) from ``Answer.to_dict()``; keys a newer server adds are dropped."""
    return dataclass_from(Answer, data)


def dataclass_from(cls: type[T], data: dict) -> T:
    return TypeAdapter(cls).validate_python(data)  # built per answer: a few ms beside seconds of answering
