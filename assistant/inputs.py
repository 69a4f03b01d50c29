"""Check and normalise what callers send: the question and the chat history.

Every interface (Python, CLI, UI) goes through here, so bad input gets the
same clear message everywhere instead of a traceback from deep inside.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from assistant.errors import InvalidInput

# C0/C1 control characters except tab and newline, plus lone surrogates.
_JUNK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_question(question: object, max_chars: int) -> str:
    if not isinstance(question, str):
        raise InvalidInput(f"The question must be text, not {type(question).__name__}.")
    text = unicodedata.normalize("NFC", _JUNK.sub(" ", question)).strip()
    text = re.sub(r"[ \t]{2,}", " ", text)
    if not text:
        raise InvalidInput("The question is empty. Type a question about the essay.")
    if len(text) > max_chars:
        raise InvalidInput(
            f"The question is {len(text):,} characters long; the limit is {max_chars:,}. Please shorten it."
        )
    return text


def content_text(content: object) -> str:
    """Gradio 6 sends content as a list of blocks such as ``{"type": "text", "text": ...}``."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return content_text(content.get("text", content.get("content", "")))
    if isinstance(content, Sequence):
        return "\n".join(t for t in (content_text(c) for c in content) if t)
    return ""


def normalise_history(history: object, max_messages: int) -> list[BaseMessage]:
    """Turn ``[{"role", "content"}, ...]`` (OpenAI/Gradio style) into LangChain messages, keeping the newest."""
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise InvalidInput('History must be a list of {"role": ..., "content": ...} messages.')
    messages: list[BaseMessage] = []
    for i, item in enumerate(history):
        if isinstance(item, BaseMessage):
            role, content = {"human": "user", "ai": "assistant"}.get(item.type, item.type), item.content
        elif isinstance(item, dict) and "role" in item:
            role, content = item["role"], item.get("content", "")
        else:
            raise InvalidInput(f'History item {i} is not a {{"role": ..., "content": ...}} message.')
        text = _JUNK.sub(" ", content_text(content)).strip()
        if role not in ("user", "assistant"):
            continue  # system or tool messages from other clients carry no conversation
        if text:
            messages.append(HumanMessage(text) if role == "user" else AIMessage(text))
    return messages[-max_messages:] if max_messages else []
