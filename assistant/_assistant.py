"""The ``Assistant``: one object that owns the store, the retriever and the chain."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from itertools import takewhile
from pathlib import Path

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable

from ._answer import Answer, make_answer
from ._answer_cache import KEY_SETTINGS, AnswerCache, cached_astream, cached_stream
from ._chain import Chain, build_chain
from ._documents import Document, DocumentError, load_document
from ._embeddings import make_embeddings
from ._indexing import IndexReport, index_paths
from ._inputs import clean_question, normalise_history
from ._llm import describe_refused, describe_unreachable, make_chat_model, refused, unreachable
from ._prompts import Prompts
from ._retrieval import HybridRetriever
from ._settings import Settings
from ._store import open_store

log = logging.getLogger(__name__)


class Assistant:
    """Answers questions about the indexed essays, citing passages.

    ``llm`` and ``embeddings`` override the configured models (tests pass
    fakes). The chat model is created on first use, so indexing never
    loads it.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        llm: BaseChatModel | None = None,
        embeddings: Embeddings | None = None,
        prompts: Prompts | None = None,
    ) -> None:
        self.settings = settings or Settings()
        if embeddings is None:
            embeddings = make_embeddings(self.settings.embedding, self.settings.embedding_base_url)
            embedding_name = self.settings.embedding
        else:
            embedding_name = getattr(embeddings, "name", None) or type(embeddings).__name__
        self._store = open_store(self.settings, embeddings, embedding_name)
        self._retriever = HybridRetriever(self._store)
        self._llm = llm
        self._prompts = prompts or Prompts.load()
        self._chain: Chain | None = None
        self._chain_lock = threading.Lock()
        self._answers = AnswerCache(self.settings.answer_cache)

    # Index -------------------------------------------------------------

    def index(self, paths: list[Path] | None = None, *, rebuild: bool = False, progress: bool = True) -> IndexReport:
        """Index ``paths`` (files or folders), or the bundled essay when none are given."""
        try:
            return index_paths(self._store, self.settings, paths, rebuild=rebuild, progress=progress)
        finally:
            self._answers.clear()  # the key holds the corpus version too; this also frees the memory

    def ensure_index(self) -> None:
        """Build the default index on first use, so a new user can ask right away."""
        if self._store.count() == 0:
            log.info("the index is empty; indexing the bundled essay")
            self.index(progress=False)

    @property
    def chunk_count(self) -> int:
        return self._store.count()

    def documents(self) -> list[Document]:
        """The indexed documents, re-read from their files for display; stale ones are left out."""
        first_chunk = {}
        for chunk in self._retriever.chunks:
            first_chunk.setdefault(chunk.doc_id, chunk.metadata)
        docs = []
        for doc_id, meta in first_chunk.items():
            try:
                doc = load_document(Path(meta["source"]))
            except DocumentError as exc:
                log.warning("cannot show %s: %s", doc_id, exc)
                continue
            if doc.content_hash != meta.get("doc_hash"):
                log.warning("%s changed since it was indexed; run: essay-assistant index", meta["source"])
                continue
            docs.append(doc)
        return docs

    # Ask ---------------------------------------------------------------

    @property
    def chain(self) -> Runnable:
        """The LangChain runnable behind ``ask`` and ``stream``: question and history in; standalone, context, answer out."""
        return self._parts().full

    def _parts(self) -> Chain:
        with self._chain_lock:  # a UI warms up in the background while the first request may arrive
            if self._chain is None:
                self.ensure_index()
                self._llm = self._llm or make_chat_model(self.settings)
                self._chain = build_chain(self._llm, self._retriever, self._prompts, self.settings)
        return self._chain

    def _inputs(self, question: object, history: object) -> dict:
        return {
            "question": clean_question(question, self.settings.max_question_chars),
            "history": normalise_history(history, self.settings.history_turns),
        }

    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        *_, answer = self.stream(question, history)
        return answer

    @cached_stream
    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[str | Answer]:
        """Yield the answer's text as it is generated, then the finished ``Answer``.

        The final ``Answer.text`` can differ from the joined deltas: citations
        the model left out are attached once the whole answer is known, and an
        answer the essay does not support is replaced (``Answer.grounded``).
        """
        inputs = self._inputs(question, history)
        parts = self._parts()
        text = ""
        with self._remote_errors():
            prepared = parts.prepare.invoke(inputs)
            messages = self._keep_prefix(prepared, parts.prompt.invoke(prepared))
            for chunk in parts.llm.stream(messages):
                if delta := chunk.text:
                    text += delta
                    yield delta
        yield self._finish(prepared, text)

    async def aask(self, question: str, history: list[dict] | None = None) -> Answer:
        answer = None
        async for event in self.astream(question, history):
            answer = event
        return answer

    @cached_astream
    async def astream(self, question: str, history: list[dict] | None = None) -> AsyncIterator[str | Answer]:
        inputs = self._inputs(question, history)
        parts = self._parts()
        text = ""
        with self._remote_errors():
            prepared = await parts.prepare.ainvoke(inputs)
            messages = await asyncio.to_thread(self._keep_prefix, prepared, await parts.prompt.ainvoke(prepared))
            async for chunk in parts.llm.astream(messages):
                if delta := chunk.text:
                    text += delta
                    yield delta
        yield self._finish(prepared, text)

    def _answer_key(self, question: object, history: object) -> str | None:
        """The answer cache's key for a first-turn question; None when it must not be cached."""
        if self._answers.size <= 0 or history or not isinstance(question, str):
            return None
        self.ensure_index()  # the first question builds the index: key on the corpus it is answered from
        context = self.settings.model_dump(mode="json", include=set(KEY_SETTINGS))
        context["prompts"] = repr(self._prompts)
        return self._answers.key(question, self._store.generation(), context)

    def _keep_prefix(self, prepared: dict, prompt: PromptValue) -> list[BaseMessage]:
        """With the whole corpus in the system prompt, have a local model load or save that prefix's KV state."""
        messages = prompt.to_messages()
        cache_prefix = getattr(self._llm, "cache_prefix", None)  # only the in-process llama.cpp model has one
        if prepared["whole_corpus"] and cache_prefix:
            source = cache_prefix(list(takewhile(lambda m: m.type == "system", messages)))
            log.debug("prompt prefix from %s", source)
        return messages

    @contextmanager
    def _remote_errors(self) -> Iterator[None]:
        """A remote model that is down or refuses becomes one clear ``ModelError`` without secrets, whichever client reported it."""
        try:
            yield
        except Exception as exc:
            if unreachable(exc):
                raise describe_unreachable(self.settings, exc) from None
            if refused(exc):
                raise describe_refused(self.settings, exc) from None
            raise

    def _finish(self, prepared: dict, text: str) -> Answer:
        return make_answer(
            text,
            question=prepared["question"],
            standalone=prepared["standalone"],
            context=prepared["context"],
            declined=self._prompts.declined,
            asked_before=tuple(m.text for m in prepared["history"] if m.type == "human"),
        )
