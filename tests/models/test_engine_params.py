"""The embedded engine against a stand-in for llama.cpp's server, without a model.

The stand-in does what llama.cpp does with the parameters it is given: it listens on the hosts and port
they name, refuses a request without one of their API keys, splits the context among the slots unless the
KV cache is unified, and saves a slot to ``slot_save_path`` with the file name appended as is.
"""

import ipaddress
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from assistant.models.engine import EngineConfig, LocalEngine


class FakeLlamaServer:
    """Answers the endpoints LocalEngine uses; ``requests`` records (path, slot) of each authorised call."""

    def __init__(self, params) -> None:
        self.params = params
        self.requests: list[tuple[str, int]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, body, content_type="application/json") -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                keys = {f"Bearer {k}" for k in fake.params.api_keys}
                if keys and self.headers.get("Authorization") not in keys:  # no keys: no login, as llama.cpp
                    self._reply(401, {"error": "invalid api key"})
                    return False
                return True

            def do_GET(self):
                if not self._authorised():
                    return
                if self.path == "/metrics":  # Prometheus text, as llama.cpp's
                    self._reply(
                        200, "# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing 0\n", "text/plain"
                    )
                else:
                    self._reply(200, fake.slots())

            def do_POST(self):
                if not self._authorised():
                    return
                url = urlparse(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if url.path == "/v1/chat/completions":
                    fake.requests.append(("read", body["id_slot"]))
                    self._reply(200, {"choices": [{"message": {"content": "ok"}}]})
                    return
                slot, action = int(url.path.rsplit("/", 1)[1]), parse_qs(url.query)["action"][0]
                fake.requests.append((action, slot))
                file = Path(fake.params.slot_save_path + body["filename"])  # as llama.cpp joins them
                if action == "save":
                    file.write_bytes(b"KV state")
                    self._reply(200, {"filename": body["filename"]})
                elif file.is_file() and file.read_bytes() == b"KV state":
                    self._reply(200, {"filename": body["filename"]})
                else:
                    self._reply(400, {"error": "failed to restore slot"})

        host = params.hostnames[0]
        self._http = ThreadingHTTPServer((host, params.port), Handler)
        threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True).start()
        self.listening_address = f"http://{host}:{self._http.server_address[1]}"

    def slots(self) -> list[dict]:
        p = self.params
        per_slot = p.n_ctx if p.kv_unified else p.n_ctx // p.n_parallel
        return [{"id": i, "n_ctx": per_slot, "is_processing": False} for i in range(p.n_parallel)]

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """Start a LocalEngine on the stand-in server; returns (engine, its server)."""
    import xllamacpp

    servers: list[FakeLlamaServer] = []

    def server(params):
        servers.append(FakeLlamaServer(params))
        return servers[-1]

    monkeypatch.setattr(xllamacpp, "Server", server)
    engines: list[LocalEngine] = []

    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")

    def start(slots=3, n_ctx=4096, slot_dir=tmp_path / "prompt-cache"):
        config = EngineConfig(str(model), n_ctx, slots, n_threads=1, n_threads_batch=2, slot_dir=str(slot_dir))
        engines.append(LocalEngine(config))
        return engines[-1], servers[-1]

    yield start
    for e in engines:
        e.close()
    for s in servers:
        s.stop()


def test_the_engine_listens_on_loopback_only_and_wants_its_key(engine):
    bot, server = engine()
    assert all(ipaddress.ip_address(host).is_loopback for host in server.params.hostnames)
    assert bot.root_url.startswith("http://127.0.0.1:") and bot.base_url == bot.root_url + "/v1"
    assert httpx.get(bot.root_url + "/slots").status_code == 401  # another local user has no key
    other, _ = engine()
    assert other.api_key != bot.api_key and other.root_url != bot.root_url  # a key and a free port of its own


@pytest.mark.parametrize("slots", [1, 3])
def test_every_slot_gets_the_configured_context_of_its_own(engine, slots):
    bot, _ = engine(slots=slots, n_ctx=2048)
    assert [s["n_ctx"] for s in bot.slots()] == [2048] * slots


def test_the_prefix_is_read_once_saved_in_the_slot_dir_and_restored_into_the_other_slots(engine, tmp_path):
    messages = [{"role": "system", "content": "The essay."}]
    bot, server = engine(slots=3)
    assert bot.cache_prefix(messages) == "computed"
    assert server.requests == [("read", 0), ("save", 0), ("restore", 1), ("restore", 2)]
    assert [p.parent for p in (tmp_path / "prompt-cache").iterdir()] == [tmp_path / "prompt-cache"]
    assert bot.cache_prefix(messages) == "memory" and len(server.requests) == 4

    later, server = engine(slots=3)  # a later process finds the saved file
    assert later.cache_prefix(messages) == "disk"
    assert server.requests == [("restore", 0), ("restore", 1), ("restore", 2)]


def test_a_prefix_file_that_does_not_restore_is_read_again(engine, tmp_path):
    messages = [{"role": "system", "content": "The essay."}]
    first, _ = engine(slots=2)
    first.cache_prefix(messages)
    (saved,) = (tmp_path / "prompt-cache").iterdir()
    saved.write_bytes(b"torn")
    again, server = engine(slots=2)
    assert again.cache_prefix(messages) == "computed"
    assert ("read", 0) in server.requests and saved.read_bytes() == b"KV state"


def test_the_ui_serves_one_answer_per_slot(make_assistant):
    from assistant.ui.app import build_app

    bot = make_assistant("x", slots=3)
    bot.ensure_index()
    app = build_app(bot)
    chat = [fn for fn in app.fns.values() if fn.api_name == "chat"]
    assert chat and all(fn.concurrency_limit == 3 for fn in chat)
    assert all(fn.show_progress == "full" for fn in chat)  # a waiting user sees "queue: n/m"


def test_a_saved_prefix_is_keyed_on_everything_that_makes_it_restorable(tmp_path):
    from assistant.models.prompt_cache import prefix_key

    model = tmp_path / "m.gguf"
    model.write_bytes(b"gguf")
    messages = [{"role": "system", "content": "The essay."}]
    key = prefix_key(str(model), 4096, 4, messages)
    assert key == prefix_key(str(model), 4096, 4, [dict(m) for m in messages])
    assert key != prefix_key(str(model), 4096, 2, messages)  # llama.cpp refuses a slot saved with another slot count
    assert key != prefix_key(str(model), 2048, 4, messages)
    assert key != prefix_key(str(model), 4096, 4, [{"role": "system", "content": "Another essay."}])
