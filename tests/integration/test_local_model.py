"""The real bundled model answering from the real embedded index."""

import json
import re
import subprocess
import sys

from pytest_socket import enable_socket, socket_allow_hosts
from real import real_settings

from assistant import Answer, Assistant
from assistant.answer import is_decline
from assistant.index.documents import default_essay_path, load_document


def test_where_have_they_met_is_answered_and_cited(bot):
    answer = bot.ask("Where have Trump and Kim met?")
    text = answer.text
    assert re.search(r"Singapore", text) and re.search(r"Hanoi", text), text
    assert re.search(r"DMZ|Demilitari[sz]ed Zone", text), text
    assert any("Singapore, Hanoi, and in the Demilitarized Zone" in s.text for s in answer.sources), answer.sources
    for s in answer.sources:
        assert re.search(rf"\[{s.citation}\]", text)


def test_follow_up_uses_the_history(bot):
    history = [
        {"role": "user", "content": "Who proposed another U.S.-North Korea summit?"},
        {"role": "assistant", "content": "South Korean President Moon Jae-in proposed it [1]."},
    ]
    answer = bot.ask("When did he propose it?", history=history)
    assert re.search(r"July", answer.text), answer.text


def test_stream_delivers_verified_sentences_then_the_answer(bot):
    events = list(bot.stream("Who is Kim Yo Jong?"))
    deltas, answer = events[:-1], events[-1]
    assert isinstance(answer, Answer) and deltas and "".join(deltas) == answer.text
    assert all(re.search(r"\[\d+\][.!?\"”]*$", d) for d in deltas), deltas  # whole sentences, each cited
    assert "sister" in answer.text.lower(), answer.text


def test_index_and_ask_open_no_network_connection(tmp_path):
    """With every socket but loopback blocked, a fresh index and an answer still work: nothing phones home.

    The embedded model is llama.cpp's server on 127.0.0.1, so loopback stays open.
    """
    socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
    try:
        offline = Assistant(real_settings(tmp_path / "offline"))
        report = offline.index(progress=False)
        assert report.chunks_added > 0
        answer = offline.ask("How much did South Korea spend on the 2018 Olympics delegation?")
    finally:
        enable_socket()
    assert "2.6" in answer.text, answer.text


def test_cli_ask_json(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "--json", "--data-dir", str(tmp_path), "Who is Harry J. Kazianis?"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "American Conservative" in data["text"]
    source = data["sources"][0]
    assert {"citation", "text", "doc_id", "start", "end", "score", "cited_text", "cited_start", "cited_end"} <= set(
        source
    )
    essay = load_document(default_essay_path()).text
    assert essay[source["cited_start"] : source["cited_end"]] == source["cited_text"]
    assert "American Conservative" in source["cited_text"]


def test_a_long_conversation_does_not_overflow_the_context(bot):
    """Six long turns would need ~4,500 tokens with the essay; the oldest are trimmed instead of failing."""
    history = []
    for i in range(3):
        history += [
            {"role": "user", "content": f"Question {i}: " + "please explain the summit in detail " * 60},
            {"role": "assistant", "content": "The essay does not say."},
        ]
    answer = bot.ask("Who is Harry J. Kazianis?", history=history)
    # Answered from the essay (a contributor to The American Conservative), citing that sentence:
    # not a context-window error and not a decline.
    assert not is_decline(answer.text) and "American Conservative" in answer.text, answer.text
    assert any("American Conservative" in s.cited_text for s in answer.sources), answer.sources


def test_the_model_points_at_the_sentence_that_answers(bot):
    """The pointing request to the real model, as the answer path sends it: a reply naming essay sentences."""
    parts = bot._parts()
    prepared = parts.prepare.invoke({"question": "Who is Kim Yo Jong?", "history": []})
    reply = parts.pointer.invoke(parts.point.invoke(prepared)).text
    numbers = json.loads(reply)["sentences"]
    assert numbers and all(1 <= n <= len(prepared["sentences"]) for n in numbers), reply
    assert any("Kim Yo Jong" in prepared["sentences"][n - 1].text for n in numbers), reply
