"""The embedded llama.cpp server on the real model: the shared essay prefix, stopping a stream, parallel slots."""

import asyncio
import contextlib
import subprocess
import sys
import time

import httpx
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from real import real_settings

from assistant.models.engine import EngineConfig, LocalEngine
from assistant.models.model_file import ensure_model_file

SYSTEM = [
    {
        "role": "system",
        "content": "Answer from this passage only. The president has met with Kim three times already, in "
        "Singapore, Hanoi, and in the Demilitarized Zone that separates the two Koreas.",
    }
]
QUESTION = "Where have they met?"
COUNT = "Count from 1 to 300, separated by commas. Write every number."
PREDICTED = "llamacpp:tokens_predicted_total"  # tokens of the requests that ran to their end


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return str(ensure_model_file(real_settings(tmp_path_factory.mktemp("data")).cache_dir))


def _engine(model_path, slot_dir, slots=2) -> LocalEngine:
    return LocalEngine(
        EngineConfig(model_path, n_ctx=1024, slots=slots, n_threads=2, n_threads_batch=2, slot_dir=str(slot_dir))
    )


def _chat(engine: LocalEngine, max_tokens=24, **options) -> ChatOpenAI:
    return ChatOpenAI(
        model="local",
        base_url=engine.base_url,
        api_key=engine.api_key,
        temperature=0.0,
        max_tokens=max_tokens,
        max_retries=0,
        **options,
    )


def _ask(engine: LocalEngine, slot: int) -> tuple[str, int]:
    """The answer, and how many prompt tokens the slot had cached already."""
    body = {
        "messages": [*SYSTEM, {"role": "user", "content": QUESTION}],
        "max_tokens": 24,
        "temperature": 0.0,
        "id_slot": slot,
    }
    response = httpx.post(
        f"{engine.base_url}/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {engine.api_key}"},
        timeout=600,
    )
    response.raise_for_status()
    out = response.json()
    return out["choices"][0]["message"]["content"], out["timings"]["cache_n"]


def _wait_idle(engine: LocalEngine, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(s["is_processing"] for s in engine.slots()):
            return
        time.sleep(0.2)
    pytest.fail("a slot kept generating after its stream was closed")


def test_the_prefix_is_read_once_shared_by_every_slot_and_restored_by_a_new_engine(model_path, tmp_path):
    first = _engine(model_path, tmp_path)
    assert first.cache_prefix(SYSTEM) == "computed"
    assert len(list(tmp_path.glob("*.slot"))) == 1
    assert first.cache_prefix(SYSTEM) == "memory"
    expected, cached = _ask(first, 1)  # slot 1 never read the prefix: it restored slot 0's state
    assert cached > 20 and "Singapore" in expected
    first.close()

    second = _engine(model_path, tmp_path)  # a new process, as far as llama.cpp's state goes
    assert second.cache_prefix(SYSTEM) == "disk"
    for slot in (0, 1):
        answer, cached = _ask(second, slot)
        assert cached > 20 and answer == expected
    other = [{"role": "system", "content": SYSTEM[0]["content"].replace("three times", "three times, the essay says,")}]
    assert second.cache_prefix(other) == "computed" and len(list(tmp_path.glob("*.slot"))) == 2
    second.close()


def test_a_broken_prefix_file_is_read_again_not_trusted(model_path, tmp_path):
    engine = _engine(model_path, tmp_path)
    engine.cache_prefix(SYSTEM)
    expected, _ = _ask(engine, 0)
    engine.close()
    (path,) = tmp_path.glob("*.slot")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])  # truncated, as by a full disk

    fresh = _engine(model_path, tmp_path)
    assert fresh.cache_prefix(SYSTEM) == "computed"
    assert path.stat().st_size > 0
    assert _ask(fresh, 1)[0] == expected
    fresh.close()


def test_closing_a_stream_stops_generation_and_frees_the_slot(model_path, tmp_path):
    engine = _engine(model_path, tmp_path, slots=1)
    # Past an end of text too: each request would run to all 600 tokens unless closing it stops it.
    chat = _chat(engine, max_tokens=600, extra_body={"ignore_eos": True})
    predicted = engine.metrics()[PREDICTED]
    stream = chat.stream([HumanMessage(COUNT)])
    received = [next(stream).text for _ in range(5)]
    stream.close()
    _wait_idle(engine)
    assert engine.metrics()[PREDICTED] - predicted < 100, "the closed request went on generating"
    assert "".join(received).strip()
    # The one slot serves the next request, and the counter counts a request that runs to its end.
    predicted = engine.metrics()[PREDICTED]
    assert "Singapore" in _chat(engine).invoke([SystemMessage(SYSTEM[0]["content"]), HumanMessage(QUESTION)]).text
    assert engine.metrics()[PREDICTED] > predicted

    async def cancel_midway():
        async def consume():
            async for _ in chat.astream([HumanMessage(COUNT)]):
                pass

        task = asyncio.ensure_future(consume())
        while not engine.slots()[0]["is_processing"]:
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
        task.cancel()
        # The HTTP client may end the stream rather than raise; either way the request must stop.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 120)

    predicted = engine.metrics()[PREDICTED]
    asyncio.run(cancel_midway())
    _wait_idle(engine)
    assert engine.metrics()[PREDICTED] - predicted < 300, "the cancelled request went on generating"
    engine.close()


def test_slots_answer_at_the_same_time(model_path, tmp_path):
    """Two requests on two slots overlap: the second starts before the first ends."""
    engine = _engine(model_path, tmp_path, slots=2)
    chat = _chat(engine, max_tokens=40)

    async def both():
        async def one(n):
            first = None
            async for _chunk in chat.astream([HumanMessage(f"{COUNT} ({n})")]):
                first = first or time.monotonic()
            return first, time.monotonic()

        return await asyncio.gather(one(1), one(2))

    (start_a, end_a), (start_b, end_b) = asyncio.run(both())
    assert start_b < end_a and start_a < end_b
    engine.close()


def test_the_server_listens_on_loopback_and_wants_its_key(model_path, tmp_path):
    engine = _engine(model_path, tmp_path, slots=1)
    assert engine.root_url.startswith("http://127.0.0.1:")
    assert httpx.get(engine.root_url + "/slots").status_code == 401
    assert (
        httpx.post(
            engine.base_url + "/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}
        ).status_code
        == 401
    )
    assert len(engine.slots()) == 1
    engine.close()


_CLOSE_UNDER_A_REQUEST = """
import sys, threading, time
from langchain_openai import ChatOpenAI
from assistant.models.engine import EngineConfig, LocalEngine
config = EngineConfig(sys.argv[1], n_ctx=1024, slots=1, n_threads=2, n_threads_batch=2, slot_dir=sys.argv[2])
engine = LocalEngine(config)
chat = ChatOpenAI(
    model="local", base_url=engine.base_url, api_key=engine.api_key, temperature=0.0, max_tokens=60, max_retries=0
)
answers = []
request = threading.Thread(target=lambda: answers.append(chat.invoke(sys.argv[3]).content))
request.start()
while not any(s["is_processing"] for s in engine.slots()):
    time.sleep(0.05)
engine.close()
request.join()
print("closed", answers)
"""


def test_closing_under_a_request_lets_it_finish_instead_of_hanging(model_path, tmp_path):
    """llama.cpp's server, stopped while a request runs, never returns: close waits for the request first.

    In its own process, because the hang holds the GIL and would take the test run with it.
    """
    try:
        run = subprocess.run(
            [sys.executable, "-c", _CLOSE_UNDER_A_REQUEST, model_path, str(tmp_path), COUNT],
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("closing the engine under a request in progress hung")
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("closed ['1"), run.stdout
