"""What the benchmark compares the assistant with, on the same model and embeddings.

- ``raw``: the messages the assistant would send, prepared before the
  clock starts, straight to llama.cpp; the difference is the assistant's
  overhead (retrieval, prompt, checks, LangChain).
- ``tutorial``: LangChain's classic RAG tutorial recipe: 1000/200-character
  chunks, the 4 nearest by embedding, the "rlm/rag-prompt" wording, no
  history, no citations, no grounding check.
- ``whole_essay``: the whole essay in a plain prompt, no retrieval, no
  citations, no grounding check.

The other arms are functions from (question, history) to streamed text.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator

import httpx
from langchain_core.documents import Document as LCDocument
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_text_splitters import RecursiveCharacterTextSplitter
from pydantic import SecretStr

from assistant import Assistant
from assistant.index.documents import default_essay_path, load_document
from assistant.models.chat import OPENAI_ROLES, LocalChatModel

Arm = Callable[[str, list[dict]], Iterator[str]]

# hub.pull("rlm/rag-prompt"), as the tutorial uses it
RAG_PROMPT = (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved context to answer "
    "the question. If you don't know the answer, just say that you don't know. Use three sentences maximum and keep "
    "the answer concise.\nQuestion: {question} \nContext: {context} \nAnswer:"
)
WHOLE_ESSAY_PROMPT = (
    "Answer the question using only the essay below. If the essay does not say, reply: The essay does not say."
    "\n\nEssay:\n{essay}"
)


@functools.cache
def _server(base_url: str, api_key: str) -> httpx.Client:
    """One client per server, kept open across questions as the engine's own is, so connecting is not timed."""
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=httpx.Timeout(600, connect=10)
    )


def raw_stream(llm: LocalChatModel, messages, max_tokens: int | None = None) -> Iterator[str]:
    """The assistant's prepared messages, straight to llama.cpp's server: no retrieval, no checks, no LangChain."""
    payload = [{"role": OPENAI_ROLES.get(m.type, "user"), "content": m.text} for m in messages]
    body = {
        "messages": payload,
        "stream": True,
        "temperature": llm.temperature,
        "max_tokens": max_tokens or llm.max_tokens,
    }
    key = llm.openai_api_key
    assert llm.openai_api_base and isinstance(key, SecretStr)  # the local model is made with the engine's URL and key
    server = _server(llm.openai_api_base, key.get_secret_value())
    with server.stream("POST", "/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            choices = json.loads(line[6:]).get("choices") or [{}]
            if delta := (choices[0].get("delta") or {}).get("content"):
                yield delta


def forget_question(bot: Assistant, llm: LocalChatModel) -> None:
    """Leave a throwaway question after the cached essay prefix, so the next question is read in full."""
    for _ in raw_stream(llm, bot.prepared_prompt("?"), max_tokens=1):
        pass


def _history(history: list[dict]) -> list:
    return [HumanMessage(m["content"]) if m["role"] == "user" else AIMessage(m["content"]) for m in history]


def tutorial_arm(llm: LocalChatModel, embeddings) -> Arm:
    essay = load_document(default_essay_path())
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_text(essay.text)
    store = InMemoryVectorStore.from_documents([LCDocument(t) for t in splits], embeddings)

    def run(question: str, history: list[dict]) -> Iterator[str]:
        context = "\n\n".join(d.page_content for d in store.similarity_search(question, k=4))
        for chunk in llm.stream([HumanMessage(RAG_PROMPT.format(question=question, context=context))]):
            yield chunk.text

    return run


def whole_essay_arm(llm: LocalChatModel) -> Arm:
    system = SystemMessage(WHOLE_ESSAY_PROMPT.format(essay=load_document(default_essay_path()).text))

    def run(question: str, history: list[dict]) -> Iterator[str]:
        for chunk in llm.stream([system, *_history(history), HumanMessage(question)]):
            yield chunk.text

    return run
