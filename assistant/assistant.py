"""The ``Assistant``: one object that owns the store, the retriever and the chain."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import AsyncGenerator, Generator, Iterator
from contextlib import contextmanager
from itertools import takewhile
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableGenerator, RunnablePassthrough

from assistant.answer import CLOSEST, Answer, AnswerCheck
from assistant.answer_cache import KEY_SETTINGS, AnswerCache
from assistant.chain import Chain, build_chain
from assistant.index.chroma import open_store
from assistant.index.chunking import Chunk
from assistant.index.documents import Document, DocumentError, load_document
from assistant.index.embeddings import MiniLMEmbeddings, make_embeddings
from assistant.index.indexing import IndexReport, index_paths
from assistant.index.language import language_name
from assistant.index.search import HybridRetriever, Passage
from assistant.index.store import ChunkStore, StoreInUse
from assistant.inputs import clean_question, normalise_history
from assistant.models.chat import (
    KeepsPrefix,
    describe_refused,
    describe_unreachable,
    make_chat_model,
    refused,
    unreachable,
)
from assistant.prompts import Prompts
from assistant.settings import Settings
from assistant.turn import Turn
from assistant.verification import MeaningVerifier, Options, Rule, Verifier

if TYPE_CHECKING:
    from assistant.remote.client import RemoteAssistant

log = logging.getLogger(__name__)


class Assistant:
    """Answers questions about the indexed essays, citing passages.

    ``llm`` and ``embeddings`` override the configured models (tests pass
    fakes); ``verifier`` replaces the one that decides which sentences are shown. The chat model is created on first
    use, so indexing never loads it.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        llm: BaseChatModel | None = None,
        embeddings: Embeddings | None = None,
        prompts: Prompts | None = None,
        verifier: Verifier | None = None,
    ) -> None:
        self.settings = settings or Settings()
        given = embeddings is not None
        if embeddings is None:
            embeddings = make_embeddings(self.settings.embedding, self.settings.embedding_base_url)
            embedding_name = self.settings.embedding
        else:
            embedding_name = getattr(embeddings, "name", None) or type(embeddings).__name__
        # An answering process never waits on another's lock: it answers from a snapshot; index() refuses to write.
        self._store = open_store(self.settings.store_location, embeddings, embedding_name, snapshot_if_held=True)
        # The verifier's thresholds were measured on the bundled embedding, so a remote one is not asked per sentence.
        judge = embeddings if given or embedding_name == MiniLMEmbeddings.name else MiniLMEmbeddings()
        options = Options() if self.settings.point else Options().without(Rule.POINTED)
        self._verifier = verifier or MeaningVerifier(judge, options)
        self._retriever = HybridRetriever(self._store)
        self._llm = llm
        self._prompts = prompts or Prompts.load()
        self._chain: Chain | None = None
        self._chain_lock = threading.Lock()
        self._answers = AnswerCache(self.settings.answer_cache)

    @classmethod
    def connect(
        cls, url: str | None = None, *, auth: tuple[str, str] | None = None, settings: Settings | None = None
    ) -> RemoteAssistant:
        """Answer through a running ``essay-assistant serve`` instead of loading a model here.

        The result has the same ``ask``, ``stream``, ``aask`` and ``astream``
        and returns the same ``Answer`` and ``Source`` objects. ``url`` is the
        server's address (this machine or another); without it, the server
        that ``serve`` published in the data directory is used. ``auth`` is
        the (user, password) of a server started with ``--auth`` (default:
        ``ESSAY_ASSISTANT_AUTH``). Raises ``ServerError`` when no server answers.
        """
        from assistant.remote.address import address_path, find_server
        from assistant.remote.client import RemoteAssistant, ServerError

        settings = settings or Settings()
        auth = auth or settings.login
        if url is None:
            address = find_server(settings.data_dir, auth)
            if address is None:
                raise ServerError(
                    f"no running server is published in {address_path(settings.data_dir)}; "
                    "start one with: essay-assistant serve, or pass its URL"
                )
            url = address.url
        return RemoteAssistant(url, auth=auth)

    # Index -------------------------------------------------------------

    def index(self, paths: list[Path] | None = None, *, rebuild: bool = False, progress: bool = True) -> IndexReport:
        """Index ``paths`` (files or folders), or the bundled essay when none are given."""
        if busy := self._store.read_only:  # a snapshot of a store another process holds: writing needs its lock
            raise StoreInUse(str(busy), busy.path, busy.holder)
        try:
            return index_paths(self._store, self.settings.limits, paths, rebuild=rebuild, progress=progress)
        finally:
            self._answers.clear()  # the key holds the corpus version too; this also frees the memory

    def ensure_index(self) -> None:
        """Build the default index on first use, so a new user can ask right away (in a snapshot, only in the copy)."""
        if self._store.count() == 0:
            log.info("the index is empty; indexing the bundled essay")
            index_paths(self._store, self.settings.limits, progress=False)

    def search(self, query: str, k: int | None = None) -> list[Passage]:
        """Hybrid search (dense and keyword) over the index, best first."""
        return self._retriever.search(query, k or self.settings.k)

    @property
    def verifier_options(self) -> dict | None:
        """The verifier's thresholds and rules in force, for reports; None for a verifier without options."""
        options = getattr(self._verifier, "options", None)
        return options.to_dict() if options is not None else None

    @property
    def chunk_count(self) -> int:
        return self._store.count()

    @property
    def chunks(self) -> list[Chunk]:
        """Every indexed chunk, in store order: what search ranks and the verifier reads."""
        return self._retriever.chunks

    @property
    def corpus_version(self) -> str:
        """A short hash of the indexed chunks' ids (content hashes): equal versions hold the same text."""
        ids = sorted(c.id for c in self._retriever.chunks)
        return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]

    @property
    def store(self) -> ChunkStore:
        """The Chroma store behind this assistant, for tools that check or repair it."""
        return self._store

    def documents(self) -> list[Document]:
        """The indexed documents, re-read from their files for display; stale ones are left out."""
        first_chunk: dict[str, dict] = {}
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
        """The LangChain runnable behind ``ask`` and ``stream``: question and history in; standalone, context,
        answer out.

        Its ``answer`` streams verified sentences only, as ``stream`` does.
        """
        parts = self._parts()

        def verified(inputs: Iterator[dict]) -> Iterator[str]:
            for prepared in inputs:
                turn = Turn(prepared).start(self._check(prepared))
                yield from self._generate(turn, parts, prepared)
                yield from (e for e in turn.finish() if isinstance(e, str))

        answer = RunnableGenerator(verified)
        return (parts.prepare | RunnablePassthrough.assign(answer=answer)).with_config(run_name="essay_assistant")

    @property
    def chat_model(self) -> Runnable:
        """The chat model that writes answers (loaded on first use), for benchmarks that call it directly."""
        return self._parts().llm

    def prepared_prompt(self, question: str, history: list[dict] | None = None) -> list[BaseMessage]:
        """The messages the chat model receives for ``question``: condensed, retrieved and filled in, unverified."""
        parts = self._parts()
        prepared = parts.prepare.invoke(self._inputs(question, history))
        return self._messages(parts, prepared)

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
        assert isinstance(answer, Answer)  # a stream always ends with its Answer
        return answer

    def stream(self, question: str, history: list[dict] | None = None) -> Generator[str | Answer, None, None]:
        """Yield the answer's verified text sentence by sentence, then the finished ``Answer``.

        Each sentence is held until it closes and is shown only if the
        verifier finds it in the essay, so the joined deltas are exactly
        ``Answer.text``. When the opening sentences fail, generation stops
        and the answer is the decline, with the closest passages.
        """
        turn = self._begin(question, history)  # bad input fails before a model is loaded
        if turn.hit is None:
            parts = self._parts()
            with self._remote_errors():
                prepared = parts.prepare.invoke(turn.inputs)
            yield from self._generate(turn.start(self._check(prepared)), parts, prepared)
            yield from turn.close()
            if turn.points:
                with self._pointing() as reply:
                    reply.append(parts.pointer.invoke(parts.point.invoke(prepared)).text)
                yield from turn.point("".join(reply))
        yield from turn.finish()
        turn.keep()

    def _generate(self, turn: Turn, parts: Chain, prepared: dict) -> Iterator[str]:
        with self._remote_errors():
            tokens = parts.llm.stream(self._messages(parts, prepared))
            try:
                for chunk in tokens:
                    yield from turn.feed(chunk.text)
                    if turn.stopped:
                        break
            finally:
                # Ends generation: a stop button, or opening sentences that failed. Runnable.stream is a
                # generator, typed as an Iterator.
                tokens.close()  # type: ignore[attr-defined]

    async def aask(self, question: str, history: list[dict] | None = None) -> Answer:
        answer = None
        async for event in self.astream(question, history):
            answer = event
        assert isinstance(answer, Answer)  # a stream always ends with its Answer
        return answer

    async def astream(self, question: str, history: list[dict] | None = None) -> AsyncGenerator[str | Answer, None]:
        """``stream`` for an event loop: the same turn, with the model awaited and the checks on a thread."""
        turn = self._begin(question, history)
        if turn.hit is None:
            parts = self._parts()
            with self._remote_errors():
                prepared = await parts.prepare.ainvoke(turn.inputs)
                turn.start(await asyncio.to_thread(self._check, prepared))
                tokens = parts.llm.astream(await asyncio.to_thread(self._messages, parts, prepared))
                try:
                    async for chunk in tokens:
                        for shown in await asyncio.to_thread(turn.feed, chunk.text):
                            yield shown
                        if turn.stopped:
                            break
                finally:
                    await tokens.aclose()  # type: ignore[attr-defined]  # an async generator, typed as AsyncIterator
            for shown in await asyncio.to_thread(turn.close):
                yield shown
            if turn.points:
                with self._pointing() as reply:
                    reply.append((await parts.pointer.ainvoke(await parts.point.ainvoke(prepared))).text)
                for shown in await asyncio.to_thread(turn.point, "".join(reply)):
                    yield shown
        for event in await asyncio.to_thread(turn.finish):
            yield event
        turn.keep()

    def _begin(self, question: object, history: object) -> Turn:
        """A turn for the question, answered from the cache when a first-turn question was answered before."""
        inputs = self._inputs(question, history)
        if inputs["history"] or not self._answers.size:
            return Turn(inputs)
        self.ensure_index()  # the first question builds the index: key on the corpus it is answered from
        context = self.settings.model_dump(mode="json", include=set(KEY_SETTINGS))
        context["prompts"] = repr(self._prompts)
        return Turn(inputs, self._answers, self._answers.key(inputs["question"], self._store.generation(), context))

    def _check(self, prepared: dict) -> AnswerCheck:
        return AnswerCheck(
            self._verifier,
            question=prepared["question"],
            standalone=prepared["standalone"],
            context=prepared["context"],
            sentences=prepared["sentences"],
            declined=self._prompts.declined,
            off_topic=self._prompts.off_topic,
            quoted=self._prompts.quoted,
            asked_before=tuple(m.text for m in prepared["history"] if m.type == "human"),
            closest=lambda: self.search(prepared["standalone"], CLOSEST),
            answered_in=self._prompts.answered_in.format(language=language_name(prepared["essay_language"]))
            if prepared["translated"]
            else "",
        )

    def _messages(self, parts: Chain, prepared: dict) -> list[BaseMessage]:
        """The answer prompt; with the whole corpus in it, a model that keeps prefixes loads or saves its KV state."""
        messages = parts.prompt.invoke(prepared).to_messages()
        if prepared["whole_corpus"] and isinstance(parts.llm, KeepsPrefix):
            source = parts.llm.cache_prefix(list(takewhile(lambda m: m.type == "system", messages)))
            log.debug("prompt prefix from %s", source)
        return messages

    @contextmanager
    def _pointing(self) -> Iterator[list[str]]:
        """Collects the model's reply naming the sentences that answer the question (nothing if it fails: the
        answer is shown and verified already, and stands as it is)."""
        try:
            yield []
        except Exception as exc:  # any model or transport failure; the answer stands without the pointed sentences
            log.warning("the model could not point at the sentences that answer the question: %s", exc)

    @contextmanager
    def _remote_errors(self) -> Iterator[None]:
        """A remote model that is down or refuses becomes one clear ``ModelError`` without secrets, whichever
        client reported it."""
        try:
            yield
        except Exception as exc:
            if unreachable(exc):
                raise describe_unreachable(self.settings, exc) from None
            if refused(exc):
                raise describe_refused(self.settings, exc) from None
            raise
