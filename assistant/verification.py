"""Decide, sentence by sentence, whether the essay supports what the model wrote.

The default 1.5B model reads the essay well but judges support poorly: it
declines questions the essay answers in plain words, and answers world-
knowledge bait ("The capital of France is Paris") whatever the prompt
says. So the model only answers, and a verifier decides what is shown.

``MeaningVerifier`` is the default: deterministic, offline and a few
milliseconds a sentence. It compares the meaning of an answer sentence
with each essay sentence through the bundled sentence embedding, and
then demands what embeddings blur: every name and number of the sentence
in the one or two supporting essay sentences, the same polarity (a "not"
on one side only), and a link to what was asked. Its thresholds were
measured on the eval set (see docs and ``benchmarks/results``).

A stronger checker (an NLI or fact-checking model) can replace it by
implementing ``Verifier``; none of HHEM, MiniCheck or AlignScore ships
its weights in a PyPI package today, so none can be the offline default.
"""

from __future__ import annotations

import functools
import operator
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.text import is_negation, names_and_numbers, sentence_spans, stems, strip_citations, tokenize

SUPPORT = 0.62  # cosine between an answer sentence and its essay sentence(s); measured on the eval set
COVERED = 0.8  # or this share of its content words in them
FEW_WORDS = 0.34  # a clause sharing less than this share of its words with the evidence ...
CLOSE = 0.75  # ... must be this close in meaning: "more time to address any potential concerns" is not "worry"
TERSE = 4  # content words below which a claim is judged together with its question
# Cosine between the question and the answer sentence or its evidence; summaries of the essay measured 0.15-0.3.
RELEVANT = 0.20
NEAR = 2  # sentences either side of the evidence where the question's names must be
PAIR_GAP = 1  # two essay sentences support a claim together only when at most this many sentences apart
_ACRONYM = re.compile(r"\b(?:[A-Z]\.\s?){2,}|\b[A-Z]{2,}\b")
_PHRASE = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+")
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)
_YES = re.compile(r"^\W*yes\b", re.IGNORECASE)


def restates_question(text: str, question: str) -> bool:
    """True when the answer's words are all the question's: "X was held in X" says nothing."""
    words = stems(text)
    return len(words) >= 2 and words <= stems(question) and not _YES_NO.match(text)


@dataclass(frozen=True)
class EssaySentence:
    """One sentence of an indexed document; ``start``/``end`` index the document's cleaned text.

    The byline (author, role, publisher) is an essay sentence too, with an
    empty span, so "Who wrote it?" has something to cite.
    """

    doc_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Verdict:
    supported: bool
    evidence: tuple[EssaySentence, ...]  # the one or two essay sentences that support the claim, best first
    score: float
    reason: str  # why not, for logs and the eval report; "" when supported


class Verifier(Protocol):
    """Judges one answer sentence against the essay sentences the model was shown."""

    def check(self, claim: str, *, question: str, essay: Sequence[EssaySentence]) -> Verdict: ...

    def nearest(self, text: str, essay: Sequence[EssaySentence]) -> int:
        """The index of the essay sentence nearest ``text``: what a decline points to."""
        ...


def _spelled_out(claim: str, acronyms: set[str]) -> set[str]:
    """Stems of phrases such as "United States" whose initials are an acronym in the evidence ("U.S.")."""
    found: set[str] = set()
    for phrase in _PHRASE.findall(claim):
        parts = phrase.split()
        for i in range(len(parts) - 1):
            if "".join(p[0] for p in parts[i:]) in acronyms:
                found |= stems(" ".join(parts[i:]))
                break
    return found


def missing_names(claim: str, evidence: str) -> frozenset[str]:
    """Names and numbers of ``claim`` that ``evidence`` does not hold: what a hallucination usually adds."""
    names = stems(" ".join(names_and_numbers(claim)))
    return names - stems(evidence) - _spelled_out(claim, _acronyms(evidence))


def _acronyms(text: str) -> set[str]:
    return {re.sub(r"[.\s]", "", a) for a in _ACRONYM.findall(text)}


def negated(text: str) -> bool:
    return any(is_negation(w) for w in re.findall(r"[\w']+", text.lower().replace("’", "'")))


class MeaningVerifier:
    """Meaning (embedding similarity, or the share of the claim's words) plus names, numbers, negation and relevance."""

    def __init__(
        self, embeddings: Embeddings, *, support: float = SUPPORT, covered: float = COVERED, relevant: float = RELEVANT
    ) -> None:
        self._embeddings = embeddings
        self.support = support
        self.covered = covered
        self.relevant = relevant
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, cached by text: the essay's sentences are embedded once per process."""
        with self._lock:
            new = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if new:
            vectors = np.asarray(self._embeddings.embed_documents(new), dtype=np.float32)
            vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
            with self._lock:
                self._vectors.update(zip(new, vectors, strict=True))
        with self._lock:
            return np.stack([self._vectors[t] for t in texts])

    def similarity(self, text: str, evidence: Sequence[str]) -> float:
        """Best cosine between ``text`` and any clause window of ``evidence``.

        An essay sentence usually says more than the answer sentence it
        supports ("Harry J. Kazianis, a contributor to The American
        Conservative, says ..."); comparing with its comma-separated windows
        measures whether the claim is inside it, not whether they are alike.
        """
        windows = [w for e in evidence for w in _windows(e)]
        vectors = self._embed([text, *windows])
        return float((vectors[1:] @ vectors[0]).max())

    def nearest(self, text: str, essay: Sequence[EssaySentence]) -> int:
        vectors = self._embed([text, *(s.text for s in essay)])
        return int((vectors[1:] @ vectors[0]).argmax())

    def check(self, claim: str, *, question: str, essay: Sequence[EssaySentence]) -> Verdict:
        claim = " ".join(strip_citations(claim).split())
        words = stems(claim)
        if not essay or not words:
            return Verdict(False, (), 0.0, "no essay sentence to compare" if words else "no content")
        if _YES.match(claim) and not negated(claim):
            on_question = essay[self.nearest(question, essay)]
            if negated(on_question.text):  # "Yes, it would help him win" against "it will not help the president"
                return Verdict(False, (on_question,), 0.0, "a yes where the essay's sentence on the question says no")
        # A terse answer ("In July.") carries its meaning with the question.
        texts = [s.text for s in essay]
        vectors = self._embed([claim, f"{question} {claim}", *texts])
        rough = (vectors[2:] @ vectors[:2].T).max(axis=1) + np.array(
            [len(words & stems(t)) / len(words) for t in texts]
        )
        names = stems(" ".join(names_and_numbers(claim)))
        naming = np.array([len(names & stems(t)) for t in texts])  # "John Bolton and Harry J. Kazianis": two sentences
        order = list(
            dict.fromkeys(
                int(i) for i in [*np.argsort(-rough, kind="stable")[:4], *np.argsort(-naming, kind="stable")[:2]]
            )
        )
        options = [(i,) for i in order] + [
            (min(i, j), max(i, j))
            for i in order
            for j in range(max(0, i - PAIR_GAP), min(len(essay), i + PAIR_GAP + 1))
            if j != i and essay[j].doc_id == essay[i].doc_id
        ]
        judged = [self._judge(claim, words, question, tuple(essay[i] for i in option), essay) for option in options]
        return max(judged, key=lambda v: (v.supported, not v.reason.startswith("meaning"), v.score))

    def _judge(
        self,
        claim: str,
        words: frozenset[str],
        question: str,
        evidence: tuple[EssaySentence, ...],
        essay: Sequence[EssaySentence],
    ) -> Verdict:
        text = " ".join(s.text for s in evidence)
        byline = _byline_of(evidence, essay)
        held = stems(text)
        covered = len(words & held) / len(words)
        similar = self.similarity(claim, [s.text for s in evidence])
        if len(words) < TERSE:  # "In July." means something only with its question
            similar = max(similar, self.similarity(f"{question} {claim}", [text]))
        score = max(similar, covered)
        # Words that only restate the question or the byline are not what the claim adds:
        # "The essay cites John Bolton and Harry J. Kazianis as two commentators about ..."
        given = stems(f"{question} {byline}") | _spelled_out(claim, _acronyms(byline))
        if len(added := words - given) >= 2:
            score = max(score, len(added & held) / len(added))
        if similar < self.support and score < self.covered:
            return Verdict(
                False, evidence, score, f"meaning too far from the essay ({similar:.2f}, {covered:.2f} of words)"
            )
        named = f"{text} {byline}"
        if (missing := missing_names(claim, named)) and (missing := missing - _lent_names(evidence, essay)):
            return Verdict(
                False, evidence, score, f"names or numbers not in the essay sentence: {', '.join(sorted(missing))}"
            )
        if negated(claim) != negated(text):
            return Verdict(False, evidence, score, "negation differs from the essay sentence")
        if unsupported := self._unsupported_part(claim, given, [s.text for s in evidence]):
            return Verdict(False, evidence, score, f"a part is not in the essay sentence: {unsupported!r}")
        if len(words) < TERSE and covered < self.covered:  # the question alone carries "PWNED" to any sentence
            return Verdict(False, evidence, score, "a terse answer whose words are not in the essay sentence")
        related = self.similarity(question, [claim, text])
        if related < self.relevant:
            return Verdict(False, evidence, score, f"not about the question ({related:.2f})")
        asked = stems(" ".join(names_and_numbers(question))) - stems(byline)
        if asked and not asked & _around(evidence, essay):
            return Verdict(False, evidence, score, f"none of {', '.join(sorted(asked))} is where the evidence is")
        return Verdict(True, evidence, score, "")

    def _unsupported_part(self, claim: str, given: frozenset[str], evidence: list[str]) -> str:
        """The first clause that adds something the evidence does not hold, or "".

        A sentence can match its evidence as a whole while one clause is
        invented: "A late-October summit would be different for Trump
        because it would occur later in the campaign season" restates the
        question, then gives a reason the essay does not. Clauses that only
        restate the question (or the byline: ``given``), or are a word or two, are not judged.
        """
        evidence_words = stems(" ".join(evidence))
        for part in _CLAUSE.split(claim):
            words = stems(part) - given
            if len(words) < 2:
                continue
            covered = len(words & evidence_words) / len(words)
            if covered < self.covered and self.similarity(part, evidence) < (
                self.support if covered >= FEW_WORDS else CLOSE
            ):
                return part.strip()
        return ""


_CLAUSE = re.compile(r"[,;:]\s+|\s+(?:and|because|since|which|so that|while|although|whereas|but)\s+", re.IGNORECASE)


def _windows(sentence: str) -> list[str]:
    """The sentence and its runs of consecutive comma-separated clauses."""
    clauses = [c.strip() for c in re.split(r"[,;:]\s+", sentence) if c.strip()]
    runs = {
        " , ".join(clauses[i:j]).replace(" , ", ", ")
        for i in range(len(clauses))
        for j in range(i + 1, len(clauses) + 1)
    }
    return [sentence, *sorted(runs - {sentence})]


def _lent_names(evidence: Sequence[EssaySentence], essay: Sequence[EssaySentence]) -> set[str]:
    """Words the essay itself gives the evidence's names elsewhere: their full form and what stands beside it.

    The essay shortens names ("Kim" after "Kim Jong-un") and describes them
    ("North Korean leader Kim Jong-un"). A short name stands for the nearest
    full name before it, as a reader takes it, so "the president has met
    with Kim" lends "Jong-un" but not "Yo Jong": "Joseph Kim met Kim Yo Jong
    in Hanoi" stays unsupported. "The president" is a short name too. A full
    name then lends the few words around each of its mentions in the essay
    ("the sister of North Korean leader Kim Jong-un" is supported by "Kim
    Jong-un's younger sister").
    """
    runs = [(i, run) for i, s in enumerate(essay) for run in _name_runs(s.text)]
    in_names = {w for _, run in runs for w in run[2]}
    lent: set[str] = set()
    for sentence in evidence:
        here = essay.index(sentence)
        titles = [frozenset({w}) for w in stems(" ".join(_THE.findall(sentence.text))) if w in in_names]
        for short in [run[2] for run in _name_runs(sentence.text)] + titles:
            fuller = [(i, r[2]) for i, r in runs if r[2] > short]
            before = [f for f in fuller if f[0] <= here]
            after = [f for f in fuller if f[0] > here]
            name = max(before, key=_position)[1] if before else min(after, key=_position)[1] if after else short
            lent |= name
            for i, (start, end, words) in runs:
                if words == name:
                    text = essay[i].text
                    lent |= stems(" ".join(tokenize(text[:start])[-_BESIDE:] + tokenize(text[end:])[:_BESIDE]))
    return lent


_NAME_RUN = re.compile(r"[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*")
_THE = re.compile(r"\b[Tt]he ([a-z]+)")  # "the president": a name's title used as a short name
_BESIDE = 3  # words before and after a name that describe it ("North Korean leader")
_position = operator.itemgetter(0)  # of an (essay index, name) pair


@functools.lru_cache(maxsize=4096)
def _name_runs(text: str) -> list[tuple[int, int, frozenset[str]]]:
    """(start, end, stems) of each run of capitalised words: "Kim Jong-un", "Harry J. Kazianis"."""
    return [(m.start(), m.end(), frozenset(w)) for m in _NAME_RUN.finditer(text) if (w := stems(m.group()))]


def _around(evidence: Sequence[EssaySentence], essay: Sequence[EssaySentence]) -> set[str]:
    """Stems of the evidence and the sentences near it: where the question's names must be, if it answers it.

    A true sentence about something else is not an answer: "How much did the
    Hanoi summit cost?" answered with the Olympic figure. The names asked
    about need not be in the evidence sentence itself ("Because a premature
    lifting of sanctions ..." answers "Why can't Trump lift the sanctions?"),
    but they are in the passage around it.
    """
    near: set[str] = set()
    for sentence in evidence:
        here = essay.index(sentence)
        for other in essay[max(0, here - NEAR) : here + NEAR + 1]:
            if other.doc_id == sentence.doc_id:
                near |= stems(other.text)
    return near


def _byline_of(evidence: Sequence[EssaySentence], essay: Sequence[EssaySentence]) -> str:
    """The byline of the evidence's document: its title and author stand behind every sentence in it, so their
    names need no more support ("a summit between the United States and North Korea", "Joseph Kim explains")."""
    docs = {s.doc_id for s in evidence}
    return " ".join(s.text for s in essay if s.doc_id in docs and s.start == s.end)


def essay_sentences(chunks: Sequence, byline: dict[str, str] | None = None) -> list[EssaySentence]:
    """The sentences of the documents the chunks come from, whole even where a chunk boundary cut one.

    ``chunks`` have ``doc_id``, ``start``, ``end`` and ``text``; overlapping
    chunks are stitched back into each document's covered text first.
    ``byline`` maps a doc_id to its byline sentence.
    """
    covered: dict[str, dict[int, str]] = {}
    for c in chunks:
        chars = covered.setdefault(c.doc_id, {})
        for offset, ch in enumerate(c.text):
            chars.setdefault(c.start + offset, ch)
    out: list[EssaySentence] = []
    for doc_id, chars in covered.items():
        if byline and byline.get(doc_id):
            out.append(EssaySentence(doc_id, 0, 0, byline[doc_id]))
        for run_start, run in _runs(chars):
            for a, b in sentence_spans(run):
                text = run[a:b].strip()
                if tokenize(text):
                    lead = len(run[a:b]) - len(run[a:b].lstrip())
                    out.append(EssaySentence(doc_id, run_start + a + lead, run_start + a + lead + len(text), text))
    return out


def _runs(chars: dict[int, str]) -> list[tuple[int, str]]:
    """Contiguous stretches of known characters, as (start, text)."""
    runs: list[tuple[int, str]] = []
    start = prev = 0
    buf: list[str] = []
    for pos in sorted(chars):
        if buf and pos != prev + 1:
            runs.append((start, "".join(buf)))
            buf = []
        if not buf:
            start = pos
        buf.append(chars[pos])
        prev = pos
    if buf:
        runs.append((start, "".join(buf)))
    return runs
