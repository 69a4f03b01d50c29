"""One error hierarchy: each error is declared once and comes out the same through the CLI, the API and its client."""

import asyncio
import importlib
import logging
import pickle
import re
from pathlib import Path

import httpx
import pytest
from fakes import collect
from fastapi import FastAPI

from assistant.cli import main
from assistant.errors import EssayAssistantError, LoginRefused, ServerError, error_class, error_classes
from assistant.remote.api import api_routes
from assistant.remote.client import RemoteAssistant

ERRORS = error_classes()
MESSAGE = "Fix this: the message, with ü and a [1]."


def test_every_error_has_its_own_code_an_exit_code_and_an_http_status():
    codes = [cls.code for cls in ERRORS]
    assert len(set(codes)) == len(codes)
    for cls in ERRORS:
        assert cls.code != cls.__name__ and error_class(cls.code) is cls
        assert cls.exit_code not in (0, 1)  # 1 is a failed check (eval --check, index skipping files)
        assert 400 <= cls.http_status < 600


def test_an_error_without_a_code_of_its_own_or_with_a_taken_one_is_refused():
    with pytest.raises(TypeError, match="'code'"):

        class Nameless(EssayAssistantError):
            pass

    with pytest.raises(TypeError, match="already InvalidInput's"):

        class Twin(EssayAssistantError, code="invalid_input"):
            pass

    assert error_class("invalid_input").__name__ == "InvalidInput" and error_class(None) is None


@pytest.mark.parametrize(
    "module, name, old_base",
    [
        ("assistant.inputs", "InvalidInput", ValueError),
        ("assistant.index.documents", "DocumentError", ValueError),
        ("assistant.evals.dataset", "DatasetError", ValueError),
        ("assistant.evals.runner", "BaselineRefused", ValueError),
        ("assistant.models.chat", "ModelError", RuntimeError),
        ("assistant.models.model_file", "ModelFileError", RuntimeError),
        ("assistant.models.engine", "EngineError", RuntimeError),
        ("assistant.index.store", "StoreInUse", RuntimeError),
        ("assistant.remote.client", "LoginRefused", RuntimeError),
    ],
)
def test_old_imports_and_old_except_clauses_still_catch_them(module, name, old_base):
    cls = getattr(importlib.import_module(module), name)
    assert error_class(cls.code) is cls
    with pytest.raises(old_base):
        raise cls(MESSAGE)


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_can_be_rebuilt_from_its_message(cls):
    """As the client and pickle (a worker process's error) rebuild it."""
    back = pickle.loads(pickle.dumps(cls(MESSAGE)))
    assert type(back) is cls and str(back) == MESSAGE


# The API and its client -----------------------------------------------------------


class FailingBot:
    """Stands in for the served Assistant: it streams ``before``, then raises ``error``."""

    corpus_version = "abc"
    chunk_count = 1

    def __init__(self, error: Exception, before: tuple[str, ...] = ()) -> None:
        self.error, self.before = error, before

    def ask(self, question, history=None):
        raise self.error

    def stream(self, question, history=None):
        yield from self.before
        raise self.error

    async def astream(self, question, history=None):
        for delta in self.before:
            yield delta
        raise self.error


def _remote(bot, auth=None, login=None) -> RemoteAssistant:
    app = FastAPI(routes=api_routes(bot, auth))
    return RemoteAssistant("http://testserver", auth=login, async_transport=httpx.ASGITransport(app=app))


def _raised(call) -> Exception:
    with pytest.raises(Exception) as caught:
        asyncio.run(call)
    return caught.value


async def _streamed(remote: RemoteAssistant) -> list:
    return [event async for event in remote.astream("Who?")]


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_an_error_raised_while_serving_comes_back_as_itself(cls):
    remote = _remote(FailingBot(cls(MESSAGE)))
    for call in (remote.aask("Who?"), _streamed(remote)):
        back = _raised(call)
        assert type(back) is cls and str(back) == MESSAGE


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_an_error_after_the_answer_began_comes_back_as_itself(cls):
    """The 200 is sent with the first delta, so the error travels as the stream's last line."""
    remote = _remote(FailingBot(cls(MESSAGE), before=("They met ",)))
    events = []

    async def collect():
        async for event in remote.astream("Who?"):
            events.append(event)

    back = _raised(collect())
    assert events == ["They met "] and type(back) is cls and str(back) == MESSAGE


def test_the_api_sends_the_status_and_code_of_the_class():
    app = FastAPI(routes=api_routes(FailingBot(LoginRefused(MESSAGE))))

    async def post():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            return await http.post("/api/ask", json={"question": "Who?"})

    response = asyncio.run(post())
    assert response.status_code == LoginRefused.http_status
    assert response.json() == {"error": LoginRefused.code, "message": MESSAGE}
    assert response.headers["www-authenticate"] == 'Basic realm="essay-assistant"'


def test_an_unexpected_failure_is_logged_and_sent_as_a_server_error_without_its_details(caplog):
    remote = _remote(FailingBot(KeyError("internal detail")))
    with caplog.at_level(logging.ERROR):
        back = _raised(remote.aask("Who?"))
    assert type(back) is ServerError and str(back) == "Something went wrong while answering. Please try again."
    assert "internal detail" in caplog.text


@pytest.mark.parametrize(
    "login", [None, ("reader", "wrong"), ("other", "s3cret")], ids=["none", "wrong password", "wrong user"]
)
def test_a_refused_login_comes_back_as_login_refused(login):
    remote = _remote(FailingBot(AssertionError("answered without the login")), ("reader", "s3cret"), login)
    back = _raised(remote.aask("Who?"))
    assert type(back) is LoginRefused and "requires a login" in str(back)


def test_a_malformed_login_header_is_refused_by_a_server_with_a_login_and_ignored_by_one_without():
    """FastAPI's HTTPBasic answers that one itself, without a code: the client knows the 401."""

    async def health(auth):
        app = FastAPI(routes=api_routes(FailingBot(AssertionError("unused")), auth))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            return await http.get("/api/health", headers={"Authorization": "Basic not-base64!"})

    refused = asyncio.run(health(("reader", "s3cret")))
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == 'Basic realm="essay-assistant"'
    assert asyncio.run(health(None)).json()["status"] == "ok"


# The CLI ----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_the_cli_exits_with_the_code_of_the_error_and_prints_its_message(cls, monkeypatch, tmp_path, capsys):
    def fail(args, settings):
        raise cls(MESSAGE)

    monkeypatch.setitem(main.__globals__["_COMMANDS"], "index", fail)
    assert main(["index", "--data-dir", str(tmp_path)]) == cls.exit_code
    err = capsys.readouterr().err
    assert err.startswith(f"error: {MESSAGE}") and "Traceback" not in err, err


# The web UI -------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_the_ui_shows_the_message_of_the_error(cls, caplog):
    from assistant.ui.app import chat

    *_, (reply, _) = collect(chat(FailingBot(cls(MESSAGE)), "Who?", [], None))
    assert reply["content"].startswith("**Cannot answer.** ") and reply["content"].endswith(MESSAGE)
    assert "Traceback" not in caplog.text


# The docs ---------------------------------------------------------------------------


def test_the_api_page_lists_every_error_as_declared():
    page = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| (\d+) \| (\d+) \|$", page, flags=re.MULTILINE)
    assert rows == [(c.__name__, c.code, str(c.http_status), str(c.exit_code)) for c in ERRORS]
