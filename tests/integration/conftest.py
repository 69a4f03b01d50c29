"""Integration tests: the real bundled model and embedding, real Chroma (embedded and server)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from real import real_settings

from assistant import Assistant


def pytest_collection_modifyitems(items):
    """Everything in this folder is an integration test: the folder sets the marker, not each file."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def bot(tmp_path_factory) -> Assistant:
    assistant = Assistant(real_settings(tmp_path_factory.mktemp("embedded")))
    assistant.ensure_index()
    return assistant


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """(host, port) of a Chroma server: the one CI started, or one started here from the pip package."""
    if os.environ.get("ESSAY_ASSISTANT_TEST_CHROMA_PORT"):
        yield "127.0.0.1", int(os.environ["ESSAY_ASSISTANT_TEST_CHROMA_PORT"])
        return
    chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = _free_port()
    log = open(tmp_path_factory.mktemp("chroma-log") / "server.log", "wb")
    proc = subprocess.Popen(
        [
            chroma,
            "run",
            "--path",
            str(tmp_path_factory.mktemp("chroma-server")),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ | {"ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail(f"Chroma server did not start on port {port}")
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def app_url(bot):
    """The web UI on a free loopback port, served in this process on the warm session model."""
    from assistant.ui.app import serve

    port = _free_port()
    app = serve(bot, "127.0.0.1", port, None, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def wait_for_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not come up within {timeout:.0f} s")


# llama.cpp's server from the xllamacpp wheel, alone in a process, as a remote llama-server would be.
SERVE_MODEL = """
import sys, threading, xllamacpp
p = xllamacpp.CommonParams()
p.model.path, p.port, p.n_ctx, p.n_parallel = sys.argv[1], int(sys.argv[2]), 4096, 1
p.hostnames, p.model_alias, p.ui, p.verbosity = ["127.0.0.1"], {"qwen"}, False, 0
server = xllamacpp.Server(p)
print(server.listening_address, flush=True)
threading.Event().wait()
"""


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """llama.cpp's own OpenAI-compatible server on loopback, in another process, serving the bundled GGUF."""
    from assistant import Settings
    from assistant.models.model_file import ensure_model_file

    model = ensure_model_file(Settings().cache_dir)
    port = _free_port()
    log = open(tmp_path_factory.mktemp("llama-log") / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_MODEL, str(model), str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v1/models", 180, proc)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
