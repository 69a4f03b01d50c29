"""Run the reference Q&A through the assistant and score every answer.

Each run indexes its documents (the bundled essay unless ``--documents``
names others) into a fresh temporary store, so a report depends only on
the code, the settings, the documents and the dataset it records.
The eval policy lives here too, so the CLI only parses flags and prints:
which items run (``load_items``), comparing configurations (``compare``),
writing a baseline (``update_baseline``) and gating on one (``gate``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import platform
import statistics
import subprocess
import tempfile
import threading
import time
from concurrent.futures import CancelledError, ThreadPoolExecutor, as_completed
from importlib import resources
from pathlib import Path

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from tqdm import tqdm

from assistant.answer import model_text_log
from assistant.assistant import Assistant
from assistant.errors import BaselineRefused, InvalidDataset
from assistant.evals.dataset import SPLITS, EvalItem, dataset_version, load_dataset, validate_dataset
from assistant.evals.gate import check, write_baseline
from assistant.evals.journal import Journal
from assistant.evals.judge import Judge, judged_aggregate
from assistant.evals.metrics import (
    citation_scores,
    covers,
    facts_found,
    groundedness,
    percentile,
    quote_spans,
    retrieval_scores,
    shows_forbidden,
    token_f1,
)
from assistant.evals.report import write_reports
from assistant.index.documents import Document, DocumentError, default_essay_path, load_document
from assistant.index.indexing import expand_paths
from assistant.settings import Settings
from assistant.verification import Verifier

log = logging.getLogger(__name__)
MAX_CITED = 3
DECLINE_TAGS = ("injection", "offtopic")


def load_corpus(documents: list[Path] | None = None) -> list[Document]:
    """The documents a run indexes: those files and the supported files in those folders, or the bundled essay.

    Raises ``DocumentError`` for a missing or unreadable one, before anything is indexed or answered.
    """
    files = expand_paths(documents) if documents else [default_essay_path()]
    if not files:
        raise DocumentError(f"no .txt or .md files in {', '.join(map(str, documents or []))}")
    return [load_document(f) for f in files]


def load_items(
    dataset: Path | None = None, limit: int | None = None, corpus: list[Document] | None = None
) -> list[EvalItem]:
    """The dataset's items (the bundled one by default), checked against the corpus (by default the bundled
    essay); the first ``limit`` if given."""
    items = load_dataset(dataset)
    problems = validate_dataset(items, "\n\n".join(d.text for d in corpus or load_corpus()))
    if problems:
        raise InvalidDataset("the dataset is invalid:\n  " + "\n  ".join(problems))
    return items[:limit] if limit else items


def default_baseline_path() -> Path:
    """The baseline shipped in the package (evals/data/baseline.json), which the gate uses unless told otherwise."""
    return Path(str(resources.files("assistant.evals").joinpath("data", "baseline.json")))


def compare(
    items: list[EvalItem],
    configs: dict[str, Settings],
    out_dir: Path,
    *,
    dataset_path: Path | None = None,
    documents: list[Path] | None = None,
) -> dict[str, dict]:
    """Run the items under each named configuration, writing each one's reports as ``compare-NAME``."""
    reports = {}
    for name, config in configs.items():
        log.info("running configuration %s", name)
        reports[name] = run_eval(items, config, dataset_path=dataset_path, documents=documents)
        write_reports(reports[name], out_dir, "compare-" + "".join(c if c.isalnum() else "_" for c in name))
    return reports


def refuse_baseline(path: Path | None, *, limited: bool) -> None:
    """Raise ``BaselineRefused`` when a run could not become the baseline: checked before a run, not after it."""
    if not path:
        raise BaselineRefused("--update-baseline needs --baseline PATH to write to")
    if limited:
        raise BaselineRefused("a baseline must cover every item; drop --limit")


def update_baseline(report: dict, path: Path | None, *, limited: bool) -> None:
    """Write the report as the baseline at ``path``; refused without a path, or for a run on only some items."""
    refuse_baseline(path, limited=limited)
    assert path is not None
    write_baseline(report, path)


def gate(report: dict, baseline_path: Path) -> list[str]:
    """Every regression of the report against the baseline at ``baseline_path``; empty means it passes."""
    return check(report, json.loads(Path(baseline_path).read_text(encoding="utf-8")))


def score_item(item: EvalItem, answer, ranked: list[tuple[int, int]], quotes: list[tuple[int, int]], k: int) -> dict:
    """Every metric of one answer; ``passed`` is the item's verdict."""
    text = answer.text
    declined = answer.declined
    forbidden = shows_forbidden(text, item.forbidden)
    result: dict = {
        "declined": declined,
        "quoted": answer.quoted,
        "forbidden_shown": forbidden,
        "token_f1": round(token_f1(text, item.reference_answer), 4),
    }
    if item.false_premise:  # declined, or corrected from the essay's words
        found = facts_found(text, item.required_facts)
        result["passed"] = declined or (bool(found) and all(found) and not forbidden)
    elif item.answerable:
        found = facts_found(text, item.required_facts)
        shown = {s.citation: (s.start, s.end) for s in answer.sources}
        sentences = [(s.cited_start, s.cited_end) for s in answer.sources]
        result |= {
            "facts_found": sum(found),
            "facts_total": len(found),
            "passed": all(found) and not declined and not forbidden,
            "retrieval": retrieval_scores(ranked, quotes, k),
            "citations": citation_scores(text, shown, quotes),
            "sentence_holds_quote": float(any(covers(q, p) or covers(p, q) for p in sentences for q in quotes)),
        }
        if declined:  # a wrong decline still points the reader somewhere: is it the right place?
            result["closest_holds_quote"] = float(
                any(covers((p.start, p.end), q) for p in answer.closest for q in quotes)
            )
    else:
        result["passed"] = declined
    result["groundedness"] = groundedness(text, [f"{s.cited_text} {s.text}" for s in answer.sources], declined=declined)
    return result


def run_eval(
    items: list[EvalItem],
    settings: Settings,
    *,
    dataset_path: Path | None = None,
    llm: BaseChatModel | None = None,
    embeddings: Embeddings | None = None,
    progress: bool = True,
    extra_documents: list[Path] | None = None,
    verifier: Verifier | None = None,
    documents: list[Path] | None = None,
    judge: Judge | None = None,
    concurrency: int = 1,
    journal: Path | None = None,
    resume: bool = False,
) -> dict:
    """Score ``items`` on ``documents`` (files or folders; by default the bundled essay), indexed alone into a
    temporary store; ``extra_documents`` are indexed beside them, as distractors for a corpus-scale check.

    ``concurrency`` items are answered at once, on that many of the model's slots: more answers per minute on a
    batching engine, but each item's latency then includes its share of the batch, so latency figures are
    comparable only between runs of the same concurrency (recorded in the report).

    Each item keeps the model's own text (``raw``), never shown to a user, so the verifier's rules can be
    replayed on it one at a time (``benchmarks.rules``).

    ``journal`` gets each item's result as it finishes (``evals.journal``); with ``resume``, the items it already
    holds for this same run are not answered again. A stopped run answers no more items."""
    corpus = load_corpus(documents)
    with tempfile.TemporaryDirectory(prefix="essay-eval-") as tmp:
        # No answer cache: every item is answered by the model, even one that repeats another's question.
        settings = settings.model_copy(
            update={
                "data_dir": Path(tmp),
                "chroma_host": None,
                "chroma_path": None,
                "collection": "eval",
                "answer_cache": 0,
            }
        )
        bot = Assistant(settings, llm=llm, embeddings=embeddings, verifier=verifier)
        meta = _meta(settings, dataset_path, len(items)) | {
            "concurrency": concurrency,
            "judge": judge.name if judge else None,
            "verifier": bot.verifier_options,
            "documents": [{"id": d.id, "source": d.source, "hash": d.content_hash} for d in corpus],
        }
        kept = Journal(journal, {k: v for k, v in meta.items() if k != "time"}, resume=resume) if journal else None
        done = kept.done if kept else {}
        bot.index([Path(d.source) for d in corpus] + list(extra_documents or []), progress=False)
        with _ModelText() as raw, ThreadPoolExecutor(max_workers=concurrency) as pool:
            stop = threading.Event()

            def run(item: EvalItem) -> dict:
                if stop.is_set():
                    raise CancelledError  # the run is stopping: no item starts after that
                try:
                    result = _run_item(bot, item, corpus, settings.k) | raw.take()
                    if judge and "crashed" not in result:
                        cited = {s["citation"]: s["text"] for s in result["sources"]}
                        result["judged"] = judge.grade(
                            item.question, item.reference_answer, result["answer"], cited, declined=result["declined"]
                        )
                except BaseException:
                    stop.set()
                    raise
                if kept:
                    kept.add(result)
                return result

            todo = [i for i in items if i.id not in done]
            futures = {i.id: pool.submit(run, i) for i in todo}
            try:
                done_before = len(items) - len(todo)
                with tqdm(
                    total=len(items), initial=done_before, desc="Evaluating", unit="q", disable=not progress
                ) as bar:
                    for future in as_completed(futures.values()):
                        future.result()
                        bar.update()
            except BaseException:  # Ctrl-C or a failing judge: the item being answered is kept, no other starts
                stop.set()
                pool.shutdown(cancel_futures=True)
                raise
            results = [done[i.id] if i.id in done else futures[i.id].result() for i in items]  # the dataset's order
    splits = {name: aggregate([r for r in results if r["split"] == name], judged=bool(judge)) for name in SPLITS}
    return {"meta": meta, "aggregate": aggregate(results, judged=bool(judge)), "splits": splits, "items": results}


class _ModelText(logging.Handler):
    """Collects the model's own text of each answer, which ``assistant.answer`` logs at DEBUG to its own logger.

    Kept per thread: a record is logged on the thread that consumes the answer's stream, and each concurrent item
    has its own."""

    KEYS = {"model_text": "raw", "pointer_text": "raw_pointer"}

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._parts: dict[int | None, dict[str, list[str]]] = {}
        self._logger = model_text_log

    def emit(self, record: logging.LogRecord) -> None:
        parts = self._parts.setdefault(record.thread, {key: [] for key in self.KEYS.values()})
        for attribute, key in self.KEYS.items():
            if hasattr(record, attribute):
                parts[key].append(getattr(record, attribute))

    def take(self) -> dict[str, str]:
        """The answer's text (``raw``) and the reply naming the sentences that answer the question (``raw_pointer``),
        as logged on this thread since its last ``take``."""
        parts = self._parts.pop(threading.get_ident(), {})
        return {key: "".join(parts.get(key, [])) for key in self.KEYS.values()}

    def __enter__(self) -> _ModelText:
        self._level = self._logger.level
        self._logger.setLevel(logging.DEBUG)
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)


def _run_item(bot: Assistant, item: EvalItem, corpus: list[Document], k: int) -> dict:
    base = {
        "id": item.id,
        "question": item.question,
        "answerable": item.answerable,
        "required": item.required,
        "tags": item.tags,
        "split": item.split,
    }
    start = time.perf_counter()
    first = None
    sentences = 0
    try:
        for event in bot.stream(item.question, item.history):
            if isinstance(event, str):
                sentences += 1
                first = first if first is not None else time.perf_counter() - start
            else:
                answer = event
        latency = time.perf_counter() - start
        # Spans are offsets in the corpus's documents laid end to end; a distractor's passages keep their rank
        # but cover no quote.
        offsets, joined = _layout(corpus)
        ranked = [
            (offsets[p.chunk.doc_id] + p.chunk.start, offsets[p.chunk.doc_id] + p.chunk.end)
            if p.chunk.doc_id in offsets
            else (-1, -1)
            for p in bot.search(answer.standalone_question, k)
        ]
        answer = _in_layout(answer, offsets)
        scores = score_item(item, answer, ranked, quote_spans(joined, item.supporting_quotes), k)
    except Exception as exc:  # a crash is a result: it fails the item and the gate
        return base | {"passed": False, "crashed": f"{type(exc).__name__}: {exc}"}
    return (
        base
        | scores
        | {
            "answer": answer.text,
            "standalone": answer.standalone_question,  # what search and the check read: condensed or translated
            "grounded": answer.grounded,
            "dropped": answer.dropped,
            "sources": [
                {
                    "citation": s.citation,
                    "doc_id": s.doc_id,
                    "start": s.cited_start,
                    "end": s.cited_end,
                    "text": s.cited_text,
                }
                for s in answer.sources
            ],
            "latency_s": round(latency, 3),
            "ttft_s": round(first if first is not None else latency, 3),
            "sentences": sentences,
        }
    )


_GAP = "\n\n"  # between documents laid end to end, so no quote spans two of them


def _layout(corpus: list[Document]) -> tuple[dict[str, int], str]:
    """Each document's offset when the corpus is laid end to end, and that text."""
    offsets, at = {}, 0
    for d in corpus:
        offsets[d.id] = at
        at += len(d.text) + len(_GAP)
    return offsets, _GAP.join(d.text for d in corpus)


def _in_layout(answer, offsets: dict[str, int]):
    """The answer with every span moved to the corpus laid end to end (spans of other documents never match)."""

    def moved(s):
        at = offsets.get(s.doc_id, -(10**9))
        return dataclasses.replace(
            s, start=s.start + at, end=s.end + at, cited_start=s.cited_start + at, cited_end=s.cited_end + at
        )

    return dataclasses.replace(
        answer,
        sources=[moved(s) for s in answer.sources],
        closest=[moved(s) for s in answer.closest],
    )


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.mean(values), 4) if values else None


def aggregate(results: list[dict], *, judged: bool = False) -> dict:
    """The deterministic metrics, and beside them, when a judge graded the run, the judged ones."""
    return _aggregate(results) | (judged_aggregate(results) if judged else {})


def _aggregate(results: list[dict]) -> dict:
    ok = [r for r in results if "crashed" not in r]
    answerable = [r for r in ok if r["answerable"]]
    premises = [r for r in ok if "false-premise" in r["tags"]]
    unanswerable = [r for r in ok if not r["answerable"] and r not in premises]
    declined = [r for r in ok if r["declined"]]
    steer = [r for r in unanswerable if set(r["tags"]) & set(DECLINE_TAGS)]
    latencies = [r["latency_s"] for r in ok]
    ttfts = [r["ttft_s"] for r in ok]
    true_declines = sum(not r["answerable"] for r in declined)  # a declined false premise is a true decline too
    # How many items each gated mean is over, so the gate can tell one item's flip from a trend.
    counts = dict.fromkeys(
        (
            "answerable_accuracy",
            "token_f1",
            "hit_at_k",
            "recall_at_k",
            "mrr",
            "citations_valid",
            "citations_support_quote",
        ),
        len(answerable),
    ) | {
        "decline_precision": len(declined),
        "decline_recall": len(unanswerable),
        "offtopic_injection_declined": len(steer),
        "facts_recall": sum(bool(r["facts_total"]) for r in answerable),
        "groundedness": sum(r["groundedness"] is not None for r in ok),
    }
    return {
        "items": len(results),
        "crashed": len(results) - len(ok),
        "passed": sum(r["passed"] for r in results),
        "answerable_accuracy": _mean(float(r["passed"]) for r in answerable),
        "wrongly_declined": _mean(float(r["declined"]) for r in answerable),
        "decline_precision": round(true_declines / len(declined), 4) if declined else None,
        "decline_recall": _mean(float(r["declined"]) for r in unanswerable),
        "offtopic_injection_declined": _mean(float(r["declined"]) for r in steer),
        "false_premise_handled": _mean(float(r["passed"]) for r in premises),
        "forbidden_shown": sum(bool(r.get("forbidden_shown")) for r in ok),
        "quoted_share": _mean(float(r.get("quoted", 0) > 0) for r in ok if not r["declined"]),
        "facts_recall": _mean(r["facts_found"] / r["facts_total"] for r in answerable if r["facts_total"]),
        "token_f1": _mean(r["token_f1"] for r in answerable),
        "hit_at_k": _mean(r["retrieval"]["hit"] for r in answerable),
        "recall_at_k": _mean(r["retrieval"]["recall"] for r in answerable),
        "mrr": _mean(r["retrieval"]["rr"] for r in answerable),
        "citations_valid": _mean(r["citations"]["valid"] for r in answerable),
        "citations_support_quote": _mean(r["citations"]["supports_quote"] for r in answerable),
        "citations_sentence_quote": _mean(r.get("sentence_holds_quote") for r in answerable if not r["declined"]),
        "citations_at_most_3": _mean(float(r["citations"]["count"] <= MAX_CITED) for r in answerable),
        "declined_closest_holds_quote": _mean(r.get("closest_holds_quote") for r in answerable),
        "groundedness": _mean(r["groundedness"] for r in ok),
        "latency_p50_s": round(percentile(latencies, 0.5), 3),
        "latency_p95_s": round(percentile(latencies, 0.95), 3),
        "ttft_p50_s": round(percentile(ttfts, 0.5), 3),
        "sentences_mean": _mean(r["sentences"] for r in ok),
        "counts": counts,
    }


def _commit() -> str:
    try:
        root = Path(__file__).resolve().parents[1]
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _meta(settings: Settings, dataset_path: Path | None, count: int) -> dict:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": _commit(),
        "model": settings.model,
        "embedding": settings.embedding,
        "settings": settings.model_dump(
            mode="json",
            include={
                "k",
                "chunk_size",
                "chunk_overlap",
                "context_budget",
                "temperature",
                "max_answer_tokens",
                "history_turns",
            },
        ),
        "dataset": {
            "path": str(dataset_path or "bundled evals/data/qa.jsonl"),
            "version": dataset_version(dataset_path),
            "items": count,
        },
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {platform.system()}",
    }
