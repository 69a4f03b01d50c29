"""One served instance, three uses at once: the browser UI's /chat, `essay-assistant ask`, and Assistant.connect.

The server runs as a user starts it (`python -m assistant serve`) on the
configured model; the CLI runs in its own process and finds the server
through DATA_DIR/server.json. No wall-clock time is asserted.
"""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import _free_port, wait_for_http
from gradio_client import Client
from real import real_settings

from assistant import Answer, Assistant

MODEL_LOAD_TIMEOUT = 600  # seconds: the first start assembles and checks the model file


# Runs the CLI and reports its own VmHWM at exit. ru_maxrss from wait4 would also count the pages of this
# (large) test process that the forked child held before exec.
_MEASURED = (
    "import atexit, sys\n"
    "from pathlib import Path\n"
    "atexit.register(lambda: sys.stderr.write('VmHWM ' + [l for l in Path('/proc/self/status').read_text().splitlines()"
    " if l.startswith('VmHWM')][0].split()[1] + '\\n'))\n"
    "from assistant.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _cli(*args: str, data_dir: Path) -> tuple[subprocess.CompletedProcess, int]:
    """Run the CLI in its own process; return the result and the process's peak resident memory in KB."""
    run = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args, "--data-dir", str(data_dir), "-v"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    peaks = [int(line.split()[1]) for line in run.stderr.splitlines() if line.startswith("VmHWM ")]
    return run, peaks[-1] if peaks else 0


@pytest.fixture
def served(tmp_path: Path):
    """`python -m assistant serve` on a free port and its own data directory; yields (url, data_dir, process)."""
    data_dir, port = tmp_path / "data", _free_port()
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/health", MODEL_LOAD_TIMEOUT, proc)
        # serve publishes its address just after it starts listening: wait for that too, as a client would find it.
        deadline = time.monotonic() + 60
        while not (data_dir / "server.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", data_dir, proc
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def test_ui_cli_and_python_answer_at_once_from_one_served_instance(served):
    url, data_dir, server = served
    published = json.loads((data_dir / "server.json").read_text(encoding="utf-8"))
    assert published["pid"] == server.pid and published["url"] == url

    def ui():
        messages, _ = Client(url + "/", verbose=False).predict(
            message="Where have Trump and Kim met?", api_name="/chat"
        )
        return messages[0]["content"]

    def cli():
        return _cli("ask", "Who is Kim Yo Jong?", "--json", data_dir=data_dir)

    def python():
        return Assistant.connect(url).ask("Who is Harry J. Kazianis?")

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(ui), pool.submit(cli), pool.submit(python)]
        ui_text, (cli_run, cli_peak_kb), py_answer = [f.result(timeout=3 * MODEL_LOAD_TIMEOUT) for f in futures]

    # 0 errors: each use got its answer, none a failure notice.
    assert not ui_text.startswith("**Cannot answer.**") and "Singapore" in ui_text, ui_text
    assert cli_run.returncode == 0, cli_run.stderr
    assert f"asking the server at {url}" in cli_run.stderr, "the CLI answered in-process instead of using the server"
    cli_answer = json.loads(cli_run.stdout)
    assert "sister" in cli_answer["text"].lower(), cli_answer
    assert isinstance(py_answer, Answer) and "American Conservative" in py_answer.text, py_answer

    # One model in memory: the CLI process stayed a thin client (a loaded 1.5B model alone is over 1 GB resident).
    assert cli_peak_kb < 500_000, f"the CLI process peaked at {cli_peak_kb / 1024:.0f} MB"

    # Nothing corrupted: the server still answers, and after it stops the store opens with the same corpus.
    assert httpx.get(f"{url}/api/health", timeout=30).json()["corpus_version"] == published["corpus_version"]
    server.terminate()
    server.wait(timeout=60)
    assert not (data_dir / "server.json").exists()
    bot = Assistant(real_settings(data_dir))
    bot.store.check()
    assert bot.corpus_version == published["corpus_version"]
    assert not list(data_dir.glob("chroma.corrupt-*"))


def test_cli_ask_prints_the_same_through_the_server_and_locally(served):
    """--local answers from a read-only snapshot of the store the server holds, on a model of its own."""
    url, data_dir, _ = served
    through, _ = _cli("ask", "Who is Kim Yo Jong?", "--json", data_dir=data_dir)
    local, _ = _cli("ask", "Who is Kim Yo Jong?", "--json", "--local", data_dir=data_dir)
    assert through.returncode == 0 and local.returncode == 0, (through.stderr, local.stderr)
    assert f"asking the server at {url}" in through.stderr
    assert "read-only snapshot" in local.stderr and "asking the server" not in local.stderr
    served_answer, local_answer = json.loads(through.stdout), json.loads(local.stdout)
    assert served_answer.keys() == local_answer.keys()  # the same output either way
    # The snapshot retrieves exactly what the server's store does. (The text may differ by a token: a model's
    # KV cache state, restored or computed, can tip greedy decoding; the benchmark counts identical answers.)
    assert served_answer["passages"] == local_answer["passages"] and local_answer["text"]


def test_a_server_with_a_login_requires_it_from_the_cli_and_python(tmp_path: Path):
    data_dir, port = tmp_path / "data", _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=os.environ | {"ESSAY_ASSISTANT_AUTH": "reader:correct-horse"},
        stdout=open(tmp_path / "serve.log", "wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + MODEL_LOAD_TIMEOUT
        while not (data_dir / "server.json").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.5)
        assert json.loads((data_dir / "server.json").read_text())["auth"] is True
        assert "correct-horse" not in (data_dir / "server.json").read_text()
        refused, _ = _cli("ask", "Who is Kim Yo Jong?", data_dir=data_dir)
        assert refused.returncode == 2 and "requires a login" in refused.stderr
        answer = Assistant.connect(url, auth=("reader", "correct-horse")).ask("Who is Kim Yo Jong?")
        assert "sister" in answer.text.lower(), answer
    finally:
        proc.terminate()
        proc.wait(timeout=60)
