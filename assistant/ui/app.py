"""The Gradio web UI: a streaming chat beside the essay, with clickable citations.

``chat`` is the whole behaviour behind the ``/chat`` endpoint and is a
plain async generator, so it is unit-tested without a browser.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from importlib import resources

from assistant.answer import Answer
from assistant.assistant import Assistant
from assistant.errors import EssayAssistantError, InvalidInput
from assistant.evals.dataset import load_dataset
from assistant.index.documents import Document
from assistant.inputs import content_text
from assistant.ui.feedback import FeedbackLog
from assistant.ui.rendering import (
    SOURCES_TITLE,
    checking,
    essay_html,
    link_citations,
    sources_markdown,
    unlink_citations,
)

# Analytics off before Gradio is imported: no traffic leaves the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
import gradio as gr  # noqa: E402  (after the setting above; a module import so event annotations resolve)

log = logging.getLogger(__name__)


def _static(name: str) -> str:
    return resources.files("assistant.ui").joinpath("static", name).read_text(encoding="utf-8")


CSS = _static("app.css")
JS_HEAD = f"<script>\n{_static('app.js')}</script>\n"


class WarmUp:
    """Reads the essay into the loaded model and answers once, in the background, so the page never freezes."""

    def __init__(self, bot: Assistant) -> None:
        self._bot = bot
        self._started = time.perf_counter()  # "Ready" counts from here: serve() makes it before loading the model
        self.status = "Reading the essay into the model (a few seconds on first start)..."
        self.ready = threading.Event()
        self.error: str | None = None

    def start(self) -> WarmUp:
        threading.Thread(target=self._run, name="warm-up", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            self._bot.ask("What is the essay about?")
            self.status = f"Ready. The model loaded in {time.perf_counter() - self._started:.0f} s."
        except Exception as exc:  # the page must say what went wrong, not hang
            if not isinstance(exc, EssayAssistantError):  # its message is the whole story; others need the trace
                log.exception("warm-up failed")
            self.error = str(exc)
            self.status = f"The model could not be loaded: {exc}"
        finally:
            self.ready.set()


def history_for_model(history: list[dict]) -> list[dict]:
    """Drop the UI's own Sources messages and citation links before the model sees the history.

    Anything not shaped like a chat message is passed on untouched, so the
    API's input check rejects it with the same message everywhere.
    """
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise InvalidInput('History must be a list of {"role": ..., "content": ...} messages.')
    out = []
    for message in history:
        if not isinstance(message, dict) or "role" not in message:
            out.append(message)
            continue
        if (message.get("metadata") or {}).get("title") == SOURCES_TITLE:
            continue
        content = unlink_citations(content_text(message.get("content")))
        out.append({"role": message.get("role"), "content": content})
    return out


async def chat(
    bot: Assistant, message: str, history: list[dict], document: Document | None, feedback: FeedbackLog | None = None
) -> AsyncIterator[tuple]:
    """Stream one answer's verified sentences: (chat messages, essay HTML) pairs, ending with the answer and its
    sources.

    Async so that Stop cancels at once: a sentence is shown only once checked, and a sync generator would hold
    the cancel (and the model slot) until the next one closed; here the model's token stream is awaited and
    closed."""
    title, text = (document.title, document.text) if document else ("", "")
    plain = essay_html(title, text) if document else ""
    try:
        partial = ""
        yield checking(partial), plain  # each sentence is held until the verifier passes it
        async for event in bot.astream(message, history_for_model(history)):
            if isinstance(event, str):
                partial += event
                yield checking(partial), plain
            else:
                messages = answer_messages(event)
                if feedback:
                    feedback.remember(messages[0]["content"], event)
                yield messages, essay_html(title, text, _sources_in(event, document))
    except EssayAssistantError as exc:
        yield _notice(f"{exc.headline}: {exc}" if exc.headline else str(exc)), plain
    except Exception:
        log.exception("answering %r failed", message[:200] if isinstance(message, str) else message)
        yield _notice("Something went wrong while answering. Please try again."), plain


def _notice(text: str) -> dict:
    return {"role": "assistant", "content": f"**Cannot answer.** {text}"}


def _sources_in(answer: Answer, document: Document | None) -> list:
    return [s for s in answer.sources or answer.closest if document and s.doc_id == document.id]


def answer_messages(answer: Answer) -> list[dict]:
    return [
        {"role": "assistant", "content": link_citations(answer.text)},
        {
            "role": "assistant",
            "content": sources_markdown(answer),
            "metadata": {"title": SOURCES_TITLE, "status": "done"},
        },
    ]


def example_questions(limit: int = 6) -> list[str]:
    items = [i for i in load_dataset() if i.answerable and not i.history and "summary" not in i.tags]
    return [i.question for i in items[:: max(1, len(items) // limit)]][:limit]


def build_app(bot: Assistant, warm: WarmUp | None = None) -> gr.Blocks:
    docs = bot.documents()
    document = docs[0] if docs else None
    feedback = FeedbackLog(
        bot.settings.data_dir / "feedback.jsonl",
        bot.settings.model_dump(
            mode="json", include={"model", "embedding", "k", "chunk_size", "chunk_overlap", "context_budget"}
        ),
    )
    byline = ", ".join(x for x in (document.author, document.author_role, document.publisher) if x) if document else ""
    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )

    with gr.Blocks(title="essay-assistant", analytics_enabled=False) as app:
        gr.Markdown(
            f"## {document.title if document else 'essay-assistant'}\n{byline}\n\n"
            "Answers come only from this essay, with numbered citations. "
            "When it finds nothing in the essay for a question, it says so."
        )
        status = gr.Markdown((lambda: warm.status) if warm else "Ready.", elem_id="model-status")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    height=520, buttons=["copy"], feedback_options=("Like", "Dislike"), elem_id="chatbot", label="Chat"
                )
                essay = gr.HTML(
                    essay_html(document.title, document.text) if document else "", render=False, elem_id="essay"
                )

                async def respond(message: str, history: list[dict]):
                    async for update in chat(bot, message, history, document, feedback):
                        yield update

                gr.ChatInterface(
                    respond,
                    chatbot=chatbot,
                    textbox=gr.Textbox(
                        placeholder="Ask about the essay...",
                        max_length=bot.settings.max_question_chars,
                        submit_btn=True,
                        stop_btn=True,
                    ),
                    additional_outputs=[essay],
                    examples=example_questions(),
                    api_name="chat",
                    # One answer per model slot; the rest wait, seeing their place.
                    concurrency_limit=bot.settings.slots,
                    show_progress="full",
                    fill_height=False,
                    analytics_enabled=False,
                )
            with gr.Column(scale=2, min_width=320):
                essay.render()

        def on_like(history: list[dict], data: gr.LikeData) -> None:
            at = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
            question = next((m.get("content") for m in reversed(history[:at]) if m.get("role") == "user"), "")
            feedback.record(content_text(history[at].get("content", "")), content_text(question), data.liked)

        chatbot.like(on_like, [chatbot], None, api_visibility="undocumented")

        if warm:
            timer = gr.Timer(1.0)

            def poll():
                return warm.status, gr.Timer(active=not warm.ready.is_set())

            timer.tick(poll, None, [status, timer], api_visibility="undocumented", queue=False)

    app.queue(default_concurrency_limit=bot.settings.slots, max_size=100)
    app.launch_kwargs = {"theme": theme, "css": CSS, "head": JS_HEAD}
    return app


def serve(bot: Assistant, host: str, port: int, auth: tuple[str, str] | None, *, block: bool = True):
    from assistant.remote.api import api_routes

    warm = WarmUp(bot)
    # Before the page is served: llama.cpp holds the GIL while it reads the weights (1.8 s on a quiet machine),
    # which froze this process's web server, and gradio's start-up check and clients' health checks timed out.
    bot.chat_model  # noqa: B018  (loads it; a remote model only makes its client)
    app = build_app(bot, warm)
    app.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        share=False,
        prevent_thread_lock=True,
        quiet=True,
        show_error=False,
        app_kwargs={"routes": api_routes(bot, auth)},  # the JSON API for the CLI and Assistant.connect (see _api)
        **app.launch_kwargs,  # type: ignore[attr-defined]  # set by build_app; Blocks does not declare it
    )
    warm.start()  # after launch(), whose check gives up if the page takes over 3 s to answer
    if block:
        app.block_thread()
    return app
