"""The web UI's behaviour as plain functions, on the fake chat model."""

import json
import re

import pytest
from fakes import collect

from assistant.ui.app import answer_messages, chat, example_questions, history_for_model
from assistant.ui.feedback import FeedbackLog, feedback_to_cases
from assistant.ui.rendering import SOURCES_TITLE, essay_html, link_citations, sources_markdown, unlink_citations


@pytest.fixture
def ui_bot(make_assistant):
    def make(*replies):
        bot = make_assistant(*replies)
        bot.ensure_index()
        return bot, bot.documents()[0]

    return make


def test_chat_streams_then_ends_with_answer_sources_and_highlighted_essay(ui_bot):
    bot, doc = ui_bot(
        "They met in Singapore, Hanoi, and in the Demilitarized Zone [16]. Kim Yo Jong is his younger sister."
    )
    outputs = collect(chat(bot, "Where have Trump and Kim held their meetings?", [], doc))
    partials, (messages, essay) = outputs[:-1], outputs[-1]
    assert [p for p, _ in partials] == [  # the held sentence shows as being checked
        '<em class="checking">(checking against the essay…)</em>',
        'They met in Singapore, Hanoi, and in the Demilitarized Zone <a href="#cite-1" class="cite-link">[1]</a>. '
        '<em class="checking">(checking against the essay…)</em>',
        'They met in Singapore, Hanoi, and in the Demilitarized Zone <a href="#cite-1" class="cite-link">[1]</a>. '
        'Kim Yo Jong is his younger sister <a href="#cite-2" class="cite-link">[2]</a>. '
        '<em class="checking">(checking against the essay…)</em>',
    ]
    answer, sources = messages
    assert answer["content"].endswith('<a href="#cite-2" class="cite-link">[2]</a>.')
    assert sources["metadata"]["title"] == SOURCES_TITLE
    assert "<strong>The president has met with Kim three times already, in Singapore, Hanoi" in sources["content"]
    cited = re.search(
        r'<span id="cite-1" class="cite-anchor"></span><mark class="cited" data-cites="1"[^>]*>([^<]*)</mark>', essay
    )
    assert cited.group(1).startswith("The president has met with Kim three times")  # the sentence, not the passage
    assert '<span class="passage" data-cites="1">' in essay  # the rest of its passage, lightly shaded


@pytest.mark.parametrize(
    "message, expected",
    [("   ", "question is empty"), ("why " * 700, "limit is 2,000")],
)
def test_bad_questions_become_readable_messages(ui_bot, message, expected):
    bot, doc = ui_bot("unused")
    *_, (reply, essay) = collect(chat(bot, message, [], doc))
    assert reply["content"].startswith("**Cannot answer.**") and expected in reply["content"]
    assert "Traceback" not in reply["content"] and "<mark" not in essay


def test_a_failing_model_becomes_a_readable_message(make_assistant):
    bot = make_assistant()  # no replies: the fake raises when called
    bot.ensure_index()
    *_, (reply, _) = collect(chat(bot, "Whose sister is Kim Yo Jong?", [], bot.documents()[0]))
    assert reply["content"] == "**Cannot answer.** Something went wrong while answering. Please try again."


def test_history_from_the_ui_is_normalised_for_the_model(ui_bot):
    history = [
        {"role": "user", "content": "Where have they met?"},
        *answer_messages_for("They met in Hanoi [2]."),
        {"role": "user", "content": [{"type": "text", "text": "And when?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": 'In <a href="#cite-1" class="cite-link">[1]</a>.'}]},
    ]
    cleaned = history_for_model(history)
    assert cleaned == [
        {"role": "user", "content": "Where have they met?"},
        {"role": "assistant", "content": "They met in Hanoi [2]."},
        {"role": "user", "content": "And when?"},
        {"role": "assistant", "content": "In [1]."},  # Gradio 6 blocks, links unwrapped
    ]


def answer_messages_for(text):
    from assistant.answer import Answer

    return answer_messages(Answer(text, [], "q", "q"))


def test_follow_up_reaches_the_model_with_clean_history(make_assistant):
    from fakes import PromptRecorder

    recorder = PromptRecorder()
    bot = make_assistant(
        "Moon Jae-in proposed another summit [1].", "Moon Jae-in proposed it in July [1].", recorder=recorder
    )
    bot.ensure_index()
    doc = bot.documents()[0]
    *_, (first, _) = collect(chat(bot, "Who proposed another summit?", [], doc))
    history = [{"role": "user", "content": "Who proposed another summit?"}, *first]
    *_, (second, _) = collect(chat(bot, "When did he put that forward?", history, doc))
    sent = recorder.calls[-1]
    assert [m.type for m in sent] == ["system", "human", "ai", "human"]
    assert sent[2].content == "Moon Jae-in proposed another summit [1]."  # links stripped, Sources dropped
    assert "July" in second[0]["content"]


def test_citation_links_round_trip():
    text = "In Hanoi [2] and Singapore [10]."
    assert unlink_citations(link_citations(text)) == text


def test_essay_html_escapes_and_marks_overlapping_spans():
    from assistant.answer import Source

    text = "A <b>bold</b> claim. Second sentence. Third."
    sources = [
        Source(1, "", "d", "t", 0, 37, 1.0, "Second sentence.", 21, 37),
        Source(2, "", "d", "t", 0, 20, 1.0, "", 0, 20),
    ]
    out = essay_html("T & co", text, sources)
    assert "&lt;b&gt;bold&lt;/b&gt;" in out and "T &amp; co" in out
    assert '<mark class="cited" data-cites="2" title="cited as [2]">A &lt;b&gt;bold&lt;/b&gt; claim.</mark>' in out
    assert '<mark class="cited" data-cites="1" title="cited as [1]">Second sentence.</mark>' in out
    assert '<span class="passage" data-cites="1"> </span>' in out  # passage 1 between its sentence and passage 2
    assert out.index('id="cite-2"') < out.index('id="cite-1"')  # anchors sit at the cited sentences


def test_feedback_is_logged_with_sources_and_becomes_eval_cases(ui_bot, tmp_path):
    bot, doc = ui_bot("They met in Singapore, Hanoi, and in the Demilitarized Zone [16].")
    log = FeedbackLog(tmp_path / "feedback.jsonl", {"model": "local", "k": 4})
    *_, (messages, _) = collect(chat(bot, "Where have Trump and Kim held their meetings?", [], doc, log))
    log.record(messages[0]["content"], "Where have Trump and Kim held their meetings?", True)
    log.record(messages[0]["content"], "Where have Trump and Kim held their meetings?", False)
    lines = [json.loads(x) for x in (tmp_path / "feedback.jsonl").read_text().splitlines()]
    assert [x["liked"] for x in lines] == [True, False]
    assert lines[0]["answer"] == "They met in Singapore, Hanoi, and in the Demilitarized Zone [1]."
    assert lines[0]["sources"][0]["citation"] == 1 and lines[0]["settings"] == {"model": "local", "k": 4}

    (case,) = feedback_to_cases(tmp_path / "feedback.jsonl")
    assert case["question"] == "Where have Trump and Kim held their meetings?" and case["answerable"] is True
    assert case["reference_answer"] == "They met in Singapore, Hanoi, and in the Demilitarized Zone."
    assert case["supporting_quotes"] == [
        "The president has met with Kim three times already, in Singapore, Hanoi, "
        "and in the Demilitarized Zone that separates the two Koreas."
    ]
    assert all(q in doc.text for q in case["supporting_quotes"])  # verbatim, so the eval validator accepts them


def test_examples_come_from_the_reference_questions():
    from assistant.evals.dataset import load_dataset

    questions = {i.question for i in load_dataset() if i.answerable}
    examples = example_questions()
    assert 3 <= len(examples) <= 6 and set(examples) <= questions


def test_sources_markdown_without_sources():
    from assistant.answer import Answer

    assert "No passage" in sources_markdown(Answer("The essay does not say.", [], "q", "q"))


def test_a_decline_lists_the_closest_passages_with_the_sentence_nearest_the_question():
    from assistant.answer import Answer, Source

    text = "Kim met Trump in Hanoi. Trump might sign a declaration to end the Korean War."
    passage = Source(4, text, "essay", "", 10, 10 + len(text), 0.5, text[24:], 34, 10 + len(text))
    answer = Answer(
        "The essay does not say.", [], "Which war might Trump end?", "Which war might Trump end?", closest=[passage]
    )
    markdown = sources_markdown(answer)
    assert markdown.startswith("The essay does not answer this directly. The closest passages:")
    assert '<a href="#cite-4" class="cite-link">[4]</a> Kim met Trump in Hanoi. <strong>Trump might sign' in markdown


def test_a_declined_answer_links_to_the_closest_passages_in_the_essay(ui_bot):
    bot, doc = ui_bot("The essay does not say.")
    *_, (messages, essay) = collect(chat(bot, "What war might Trump sign a declaration to end?", [], doc))
    answer, sources = messages
    n = re.search(r'href="#cite-(\d+)"', sources["content"]).group(1)
    assert "closest passages" in sources["content"] and f'id="cite-{n}"' in essay


NASTY_QUESTIONS = {
    "control characters": "Who is\x01 Kim\x1b[31m Yo Jong?\x7f",
    "NUL bytes": "Who is\x00 Kim Yo Jong?\x00",
    "lone surrogates": "Who is \ud800Kim Yo Jong?\udfff",
    "a long single token": "Whose sister is Kim Yo Jong? " + "x" * 1900,
    "non-English text": "¿Quién es Kim Yo Jong? 金与正は誰ですか? Кто такая Ким Ё Чжон?",
}


@pytest.mark.parametrize("question", NASTY_QUESTIONS.values(), ids=NASTY_QUESTIONS.keys())
def test_odd_questions_are_cleaned_and_answered(make_assistant, question):
    from fakes import PromptRecorder

    recorder = PromptRecorder()
    bot = make_assistant("Kim Yo Jong is the younger sister of Kim Jong-un [1].", recorder=recorder)
    bot.ensure_index()
    *_, (messages, _) = collect(chat(bot, question, [], bot.documents()[0]))
    assert "younger sister" in messages[0]["content"]
    sent = recorder.calls[-1][-1].content
    assert "Kim" in sent and not any(ch in sent for ch in "\x00\x01\x1b\x7f\ud800\udfff")


@pytest.mark.parametrize(
    "history, expected",
    [
        ("Who proposed it?", "History must be a list"),
        (42, "History must be a list"),
        ({"role": "user", "content": "hi"}, "History must be a list"),
        ([["Who proposed it?", "Moon Jae-in."]], "History item 0 is not"),
        ([{"content": "no role"}], "History item 0 is not"),
        ([None], "History item 0 is not"),
    ],
    ids=["a string", "a number", "one message", "old pair format", "no role", "None item"],
)
def test_a_history_of_the_wrong_shape_gets_a_clear_message(ui_bot, history, expected, caplog):
    bot, doc = ui_bot("unused")
    *_, (reply, _) = collect(chat(bot, "When did he put that forward?", history, doc))
    assert reply["content"].startswith("**Cannot answer.**") and expected in reply["content"]
    assert "Traceback" not in caplog.text


def test_the_model_loads_before_the_page_is_served_and_reads_the_essay_after(settings, embeddings, monkeypatch):
    """llama.cpp holds the GIL while it reads the weights: loaded beside a running web server, it froze it for
    seconds, and gradio's start-up check (3 s) and a client's health check (5 s) timed out."""
    import socket

    import httpx
    from fakes import StubVerifier, fake_llm

    from assistant import Assistant
    from assistant.ui.app import WarmUp, serve

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def page_answers() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
        except httpx.ConnectError:
            return False

    events = []
    monkeypatch.setattr(
        "assistant.assistant.make_chat_model", lambda s: events.append(("model", page_answers())) or fake_llm("Hi.")
    )
    monkeypatch.setattr(WarmUp, "start", lambda warm: events.append(("essay", page_answers())))
    bot = Assistant(settings, embeddings=embeddings, verifier=StubVerifier())
    bot.ensure_index()
    app = serve(bot, "127.0.0.1", port, None, block=False)
    app.close()
    assert events == [("model", False), ("essay", True)]
