"""The LCEL chain: condense a follow-up, retrieve, answer with citations.

Input: ``{"question": str, "history": list[BaseMessage]}``.
``prepare`` adds ``whole_corpus``, ``standalone``, ``essay_language`` (an
ISO 639-1 code, or None when unsure), ``translated`` (the question in the
essay's language, or "" when it is in it), ``context`` (the
retrieved passages, a list of ``Passage``) and ``sentences`` (their
sentences, once each, in document order); ``prompt`` builds the answer
messages, in which the sentences are numbered from 1
and cited by number. The assistant streams the model itself and verifies each
sentence before it is shown (``assistant.answer.AnswerCheck``).

When the whole corpus fits the context budget, every sentence goes into
the prompt in document order. The long part of the prompt is then identical
for every question, so llama.cpp reuses its KV cache and only reads the
question. Larger corpora get the top k passages from hybrid search, found
with the follow-up condensed into a standalone question. A question in
another language than the essay's is translated into the essay's, and
answered in it: the check reads no other language.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda, RunnablePassthrough

from assistant.index.language import EXCERPT_CHARS, in_another_language, language_name, language_of
from assistant.index.search import HybridRetriever, Passage
from assistant.index.sentences import EssaySentence, byline, essay_sentences, numbered
from assistant.models.chat import count_tokens, pointer_model
from assistant.prompts import Prompts
from assistant.settings import Settings


def corpus_fits(llm: BaseChatModel, retriever: HybridRetriever, settings: Settings) -> bool:
    return count_tokens(llm, "\n".join(c.text for c in retriever.chunks)) <= settings.context_budget


def corpus_excerpt(retriever: HybridRetriever) -> str:
    """The corpus's opening words: what its language is told from."""
    return " ".join(c.text for c in retriever.chunks[:3])[:EXCERPT_CHARS]


def select_context(retriever: HybridRetriever, query: str, settings: Settings, whole_corpus: bool) -> list[Passage]:
    if whole_corpus:
        chunks = retriever.chunks
        ranked = {p.chunk.id: p for p in retriever.search(query, len(chunks))}
        return [ranked.get(c.id) or Passage(c, 0.0) for c in chunks]
    return retriever.search(query, settings.k)


PROMPT_OVERHEAD_TOKENS = 600  # the prompt files' own words and the chat template's tokens, rounded up


def fit_history(llm: BaseChatModel, history: list[BaseMessage], settings: Settings, fixed: int) -> list[BaseMessage]:
    """Drop the oldest turns until the prompt (``fixed`` tokens without them) and the longest answer fit the
    model's context window, so a long conversation is trimmed rather than failing with a context overflow."""
    budget = settings.n_ctx - settings.max_answer_tokens - fixed
    kept: list[BaseMessage] = []
    for message in reversed(history):
        budget -= count_tokens(llm, message.text)
        if budget < 0:
            break
        kept.append(message)
    kept.reverse()
    while kept and kept[0].type != "human":  # start with a user turn, as chat templates expect
        kept.pop(0)
    return kept


def context_sentences(context: list[Passage]) -> list[EssaySentence]:
    """The passages' sentences, once each, each document's byline first: what the model reads and cites."""
    bylines = {p.chunk.doc_id: byline(p.chunk.metadata) for p in context}
    return essay_sentences([p.chunk for p in context], bylines)


def format_sentences(sentences: list[EssaySentence], context: list[Passage]) -> str:
    titles = {p.chunk.doc_id: str(p.chunk.metadata.get("title", p.chunk.doc_id)) for p in context}
    return numbered(sentences, titles)


def describe_documents(context: list[Passage]) -> str:
    seen: dict[str, str] = {}
    for p in context:
        m = p.chunk.metadata
        byline = ", ".join(x for x in (m.get("author_role"), m.get("publisher")) if x)
        author = f" by {m['author']}" + (f" ({byline})" if byline else "") if m.get("author") else ""
        seen.setdefault(p.chunk.doc_id, f'"{m.get("title", p.chunk.doc_id)}"{author}')
    return "; ".join(seen.values())


def format_conversation(history: list[BaseMessage]) -> str:
    names = {"human": "User", "ai": "Assistant"}
    return "\n".join(f"{names.get(m.type, m.type)}: {m.text}" for m in history)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0].strip('"') if lines else ""


@dataclass(frozen=True)
class Chain:
    """The pieces a caller that streams drives itself.

    ``prepare`` adds ``standalone`` and ``context``; ``prompt`` builds the
    answer messages; ``llm`` streams the answer; ``point`` and ``pointer``
    then ask which sentences answer the question. Streaming the model
    directly makes closing the stream (a stop button) stop generation at the
    next token: inside a streamed LCEL sequence, LangChain drains the rest
    of the model's output for tracing before the close returns (measured:
    20 s to stop a long answer).
    """

    prepare: Runnable
    prompt: Runnable
    llm: Runnable
    point: Runnable  # the messages that ask which sentences answer the question
    pointer: Runnable  # the model, bound to reply with sentence numbers only


def build_chain(llm: BaseChatModel, retriever: HybridRetriever, prompts: Prompts, settings: Settings) -> Chain:
    condense = (
        RunnablePassthrough.assign(conversation=lambda x: format_conversation(x["history"]))
        | prompts.condense
        | llm
        | StrOutputParser()
        | RunnableLambda(_first_line)
    )
    # Condensing only matters when retrieval decides what the model sees. With the
    # whole corpus in the prompt the model reads the history itself, and skipping
    # the extra call keeps llama.cpp's cached prompt prefix (a cold re-read costs ~20 s).
    standalone = RunnableBranch(
        (lambda x: bool(x["history"]) and not x["whole_corpus"], condense),
        lambda x: x["question"],
    )
    # Search, the check and the model's answer read the question in the essay's language: the check reads no other.
    translate: Runnable = (
        RunnableLambda(lambda x: {"question": x["standalone"], "language": language_name(x["essay_language"])})
        | prompts.translate
        | llm
        | StrOutputParser()
        | RunnableLambda(_first_line)
    )
    translated = RunnableBranch(
        (lambda x: in_another_language(x["standalone"], x["essay_language"]), translate),
        lambda _: "",
    )

    def answer_inputs(x: dict) -> dict:
        sentences = format_sentences(x["sentences"], x["context"])
        # Counted apart: the numbered essay is the same for every question, so the local model counts it once.
        fixed = count_tokens(llm, sentences) + count_tokens(llm, x["question"]) + PROMPT_OVERHEAD_TOKENS
        return {
            "documents": describe_documents(x["context"]),
            "sentences": sentences,
            "history": fit_history(llm, x["history"], settings, fixed),
            "question": x["translated"] or x["question"],
        }

    prompt = RunnableLambda(answer_inputs) | prompts.answer
    point = RunnableLambda(answer_inputs) | prompts.point
    prepare = (
        RunnablePassthrough.assign(whole_corpus=lambda _: corpus_fits(llm, retriever, settings))
        .assign(standalone=standalone)
        .assign(standalone=lambda x: x["standalone"] or x["question"])  # an empty rewrite falls back
        .assign(essay_language=lambda _: language_of(corpus_excerpt(retriever)))
        .assign(translated=translated)
        .assign(standalone=lambda x: x["translated"] or x["standalone"])
        .assign(context=lambda x: select_context(retriever, x["standalone"], settings, x["whole_corpus"]))
        .assign(sentences=lambda x: context_sentences(x["context"]))
    )
    return Chain(prepare=prepare, prompt=prompt, llm=llm, point=point, pointer=pointer_model(llm))
