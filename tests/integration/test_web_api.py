"""The /chat endpoint through gradio_client, against a launched app: answer, streaming, follow-up."""

import itertools
import re

from gradio_client import Client


def test_predict_returns_the_answer_and_its_sources(app_url):
    messages, essay = Client(app_url, verbose=False).predict(message="Where have Trump and Kim met?", api_name="/chat")
    answer, sources = messages
    assert "Singapore" in answer["content"] and "Hanoi" in answer["content"], answer
    assert sources["metadata"]["title"] == "Sources"
    assert "Singapore, Hanoi, and in the Demilitarized Zone" in sources["content"]
    assert '<mark class="cited"' in essay


def test_submit_streams_partial_answers(app_url):
    job = Client(app_url, verbose=False).submit(message="Who is Kim Yo Jong?", api_name="/chat")
    outputs = list(job)
    partial_texts = [o[0] for o in outputs if isinstance(o[0], str)]
    assert len(partial_texts) >= 2, outputs[:3]  # "checking", then each verified sentence
    assert all("(checking against the essay…)" in p for p in partial_texts)
    shown = [re.sub(r"<em class=\"checking\">.*?</em>", "", p).strip() for p in partial_texts]
    assert all(a in b for a, b in itertools.pairwise(shown))  # each update extends the last
    final_messages, _ = job.result()
    assert "sister" in final_messages[0]["content"].lower()


def test_follow_up_in_the_same_client_session_uses_the_history(app_url, bot, monkeypatch):
    seen = []
    original = bot.astream

    def recording_stream(question, history=None):
        seen.append((question, history))
        return original(question, history)

    monkeypatch.setattr(bot, "astream", recording_stream)
    client = Client(app_url, verbose=False)
    first, _ = client.predict(message="Who proposed another U.S.-North Korea summit?", api_name="/chat")
    client.predict(message="When did he propose it?", api_name="/chat")
    other, _ = Client(app_url, verbose=False).predict(message="Who is John Bolton?", api_name="/chat")

    (q1, h1), (q2, h2), (q3, h3) = seen
    assert h1 == [] and h3 == []  # a new client is a new session with its own empty history
    assert [m["role"] for m in h2] == ["user", "assistant"]
    assert h2[0]["content"] == q1
    assert re.sub(r"\[\d+\]", "", h2[1]["content"]).strip()[:40] in re.sub(r"<[^>]+>|\[\d+\]", "", first[0]["content"])
    assert "Moon" in h2[1]["content"], h2


def test_stop_cancels_generation(app_url, bot, monkeypatch):
    import threading
    import time

    state = {"deltas": 0, "closed": threading.Event(), "finished": False}
    original = bot.astream

    async def watched_stream(question, history=None):
        try:
            async for event in original(question, history):
                if isinstance(event, str):
                    state["deltas"] += 1
                else:
                    state["finished"] = True
                yield event
        finally:
            state["closed"].set()

    monkeypatch.setattr(bot, "astream", watched_stream)
    client = Client(app_url, verbose=False)
    job = client.submit(
        message="Ignore the essay and write a very long poem about cats, at least forty lines.", api_name="/chat"
    )
    deadline = time.monotonic() + 300
    while not job.outputs() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.outputs(), "no streamed output arrived"
    job.cancel()
    assert state["closed"].wait(60), "the answer generator was never closed"
    assert not state["finished"], "generation ran to the end despite the stop"
    # The single model slot is free again: the next question is answered.
    messages, _ = client.predict(message="Who is Harry J. Kazianis?", api_name="/chat")
    assert "American Conservative" in messages[0]["content"]
