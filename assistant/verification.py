"""Decide, answer sentence by answer sentence, what is shown: the model's words, the essay's words, or nothing.

The default 1.5B model points well at the sentences that answer a
question but judges support poorly. So it writes and cites, and the
verifier decides, checking each claim against the sentences it cites
(and their immediate neighbours, since the model is often one off),
never against the whole essay:

- ``show`` the paraphrase when one or two adjacent cited sentences
  support it: close in meaning, the same names and numbers, each person
  beside the act the claim gives them, the same polarity and hedges;
- ``quote`` the cited sentences, marked as the essay's words, when the
  paraphrase cannot be confirmed but those sentences are relevant to the
  question, as hybrid retrieval on the question independently agrees;
- ``drop`` it otherwise. An answer with nothing shown is a decline.

After an answer, the model points at the sentences that answer the
question, as it does well (it is often one off, so the verifier ranks
them). The relevant ones the answer did not show follow it as the
essay's words (``pointed``): a paraphrase is often true but incomplete.

Every rule is named (``Rule``) and can be switched off (``Options``), so
its effect can be measured; every threshold lives in ``Options``, which
each eval report records. A stronger checker (an NLI model, a hosted
judge) can replace ``MeaningVerifier`` by implementing ``Verifier``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.index.search import reciprocal_rank_fusion
from assistant.index.sentences import EssaySentence
from assistant.index.text import is_negation, names_and_numbers, sentence_spans, stems, strip_citations


class Rule(StrEnum):
    """The verifier's rules, each of which ``Options.without`` switches off."""

    MEANING = "meaning"  # the claim is close in meaning to its evidence, or made of its words
    NEW_WORDS = "new_words"  # what the claim adds to its question is said in its evidence, not only near it
    NAMES_NUMBERS = "names_numbers"  # every name and number of the claim is in its evidence, a sum of money as money
    WHO_DID_WHAT = "who_did_what"  # the people a clause names stand together in one clause of one sentence
    POLARITY = "polarity"  # a "not" on one side only is a contradiction ("not ... unless" is a "has to")
    HEDGES = "hedges"  # "might", "could", "if", "unless" are not turned into "will"
    REPEATS = "repeats"  # a sentence saying the same words over and over is a model stuck in a loop, not a claim
    RELEVANCE = "relevance"  # the evidence is among the sentences hybrid retrieval ranks best for the question
    QUESTION_NAMES = "question_names"  # the names asked about are in or near the evidence
    ASKED_KIND = "asked_kind"  # what is shown for "how many", "how much" or "when" holds a number or a time
    QUOTE = "quote"  # an unconfirmed paraphrase of relevant sentences is replaced by those sentences
    INVENTED_DETAIL = "invented_detail"  # a name or number found nowhere in the essay: the essay lacks what was asked
    POINTED = "pointed"  # the relevant sentences the model points at for the question follow the answer, quoted
    PREMISE = "premise"  # the sentence best matching a question that gives its act to someone else follows, quoted
    GIST = "gist"  # a question for the essay's summary or thesis gets its most central sentences, not the pointed ones


class Reason(StrEnum):
    """Why a claim was not shown as written: one per failed rule, plus two that need no rule."""

    NO_CONTENT = "no content"
    RESTATES_QUESTION = "restates the question"
    MEANING = "meaning too far from the cited sentences"
    NEW_WORDS = "what the claim adds to the question is not in the cited sentences"
    NAMES_NUMBERS = "a name or number is not in the cited sentences"
    WHO_DID_WHAT = "people and acts are joined differently from the essay"
    POLARITY = "negation differs from the cited sentences"
    HEDGES = "a hedge of the essay is dropped"
    REPEATS = "the sentence repeats itself"
    ASKED_KIND = "the count, amount or time asked for is not in the claim"
    RELEVANCE = "the cited sentences are not what retrieval finds for the question"
    QUESTION_NAMES = "the names asked about are not near the cited sentences"
    INVENTED = "a name or number found nowhere in the essay"


class Action(StrEnum):
    SHOW = "show"  # the model's sentence
    QUOTE = "quote"  # the essay's sentences instead
    DROP = "drop"  # nothing
    DECLINE = "decline"  # nothing, and the question is not answered: the claim made up what was asked


@dataclass(frozen=True)
class Options:
    """Every threshold of the verifier and the rules in force; set on the eval's dev split only."""

    support: float = 0.62  # cosine between a claim and a clause window of its evidence
    covered: float = 0.8  # or this share of the claim's content words in the evidence
    new: float = 0.5  # at least this share of the words a claim adds to its question are the evidence's own
    terse: int = 4  # content words below which a claim is judged together with its question
    neighbours: int = 1  # sentences either side of a cited one that may be its evidence
    nearest: int = 2  # and this many sentences nearest the claim in meaning: the model's numbers are often off
    point: float = 0.45  # a quoted sentence is this close in meaning to the claim that pointed at it
    near: int = 2  # sentences either side of the evidence where the question's names must be
    relevant_rank: int = 16  # the evidence must be among this many best sentences for the question
    quoted: int = 2  # at most this many essay sentences in one quotation
    margin: float = 0.1  # a further one not beside the best is at most this much less close to the claim
    pointed: int = 2  # of the sentences the model points at, the relevant ones closest to the question, at most
    gist: int = 5  # sentences, one per paragraph, that follow an answer to a question for the essay's gist
    rules: frozenset[Rule] = field(default_factory=lambda: frozenset(Rule))

    def without(self, *rules: Rule) -> Options:
        return dataclasses.replace(self, rules=self.rules - set(rules))

    def on(self, rule: Rule) -> bool:
        return rule in self.rules

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"rules": sorted(self.rules)}


@dataclass(frozen=True)
class Verdict:
    action: Action
    evidence: tuple[EssaySentence, ...]  # what supports a shown claim, or the sentences quoted
    score: float = 0.0
    reasons: tuple[Reason, ...] = ()  # why the claim was not shown as written; empty when it was

    @property
    def supported(self) -> bool:
        return self.action is Action.SHOW

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


class Verifier(Protocol):
    """Owns the whole decision for one answer sentence: show it, quote the essay instead, drop it, or decline."""

    def check(self, claim: str, *, question: str, cited: Sequence[int], essay: Sequence[EssaySentence]) -> Verdict: ...

    def nearest(self, text: str, essay: Sequence[EssaySentence]) -> int:
        """The index of the essay sentence nearest ``text``: what a decline points to."""
        ...

    @property
    def points(self) -> bool:
        """Whether an answer asks the model, once it is written, which sentences answer the question."""
        ...

    def pointed(
        self, question: str, numbers: Sequence[int], essay: Sequence[EssaySentence]
    ) -> tuple[EssaySentence, ...]:
        """Of the sentences the model pointed at (indices into ``essay``), those worth quoting, in essay order; and
        any sentence that corrects the question's premise, which the model need not have pointed at."""
        ...


_YES_NO = re.compile(r"^\W*(?:yes|no)\b[,.!]?\s*", re.IGNORECASE)
_CLAUSE = re.compile(r"[,;:]\s+|\s+(?:and|because|since|which|so that|while|although|whereas|but)\s+", re.IGNORECASE)
_COMMA = re.compile(r"[,;:]\s+|\s+(?:but|because|which)\s+")
_NAME_RUN = re.compile(r"\b[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*")
_HEDGES = frozenset(
    "might may could can possibly potentially perhaps maybe likely unlikely probably chance possible uncertain "
    "unclear if unless until whether would suggest suggests seems".split()
)
# What keeps a condition in a paraphrase: "will not ... unless the U.S. lifts" is "the U.S. has to lift first".
_KEEPS_CONDITION = _HEDGES | frozenset("only first must need needs require requires before depends".split())
_HAS_TO = re.compile(r"\b(?:has|have|had|needs?) to\b", re.IGNORECASE)
_MONTHS = "January February March April May June July August September October November December"
_DATES = stems(f"{_MONTHS} 0 1 2 3 4 5 6 7 8 9")
_NUMBER = r"\d[\d,.]*\d|\d"
_MONEY = re.compile(
    rf"[$€£¥₩]\s?({_NUMBER})(?:\s*(?:million|billion|thousand|trillion)\b)?|({_NUMBER})\s*(?:million|billion|thousand|trillion)?\s*(?:dollars?|euros?|pounds?|won|yen|usd)\b",
    re.IGNORECASE,
)
# What a question asks for when it opens with it ("And how many ...?"): a count, an amount or a time. Essay words
# offered in answer must hold one; a sentence on the topic that lacks it is what a near-miss question gets.
_ASKS = (
    (re.compile(r"^\W*(?:(?:and|so|but|then)\s+)?how many\b", re.IGNORECASE), "count"),
    (re.compile(r"^\W*(?:(?:and|so|but|then)\s+)?how much\b", re.IGNORECASE), "amount"),
    (
        re.compile(
            r"^\W*(?:(?:and|so|but|then)\s+)?(?:when|(?:in\s+)?(?:what|which)\s+(?:year|month|day|date))\b",
            re.IGNORECASE,
        ),
        "time",
    ),
)
_SECOND_ASK = re.compile(
    r"\?.*\w.*\?|\w\W+and\s+(?:what|why|how|who|whom|whose|where|which|when)\b", re.IGNORECASE | re.DOTALL
)
_GIST = re.compile(
    r"\b(?:summar\w*|tl;?\s?dr|gist|overview|thesis|main (?:point|argument|idea|claim|message)s?|"
    r"central (?:point|argument|idea|claim|message)s?|(?:what is|what's) (?:it|the essay|this essay) about)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")  # a year is a time, not a count
_COUNT_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty fifty hundred hundreds "
    "thousand thousands million millions billion dozen dozens several few once twice".split()
)
_TIME_WORDS = _COUNT_WORDS | frozenset(
    f"{_MONTHS.lower()} monday tuesday wednesday thursday friday saturday sunday "
    "year years month months week weeks day days later earlier ago "
    "before after since until during today yesterday tomorrow soon recently spring summer autumn fall winter".split()
)
_REPEATED = (5, 3)  # a run of this many words said this many times in one sentence
# Words that attribute a claim to the essay ("The author's main argument is that ..."): the frame, not an act.
_FRAMING = stems(
    "argue argues argued argument believe believes think thinks position view thesis central main point claim claims "
    "say says said explain explains state states describe describes write writes wrote conclude concludes"
)
_QUOTED = re.compile(r'"[^"]*"|“[^”]*”')  # the title, in the byline of ``index.sentences.byline``
_ACRONYM = re.compile(r"\b(?:[A-Z]\.\s?){2,}|\b[A-Z]{2,}\b")
_PHRASE = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+")
RRF_K = 10  # rank fusion constant for a few dozen sentences


def restates_question(text: str, question: str) -> bool:
    """True when the answer's words are all the question's: "X was held in X" says nothing."""
    words = stems(text)  # "He proposed it." for "When did he propose it?" too: one word, and the question's
    return bool(words) and words <= stems(question) and not _YES_NO.match(text)


def negations(text: str) -> int:
    """Words that say no; "unless" counts, so "will not ... unless the U.S. lifts" is a "has to lift"."""
    words = re.findall(r"[\w']+", text.lower().replace("’", "'"))
    return sum(is_negation(w) or w == "unless" for w in words)


def hedged(text: str, words: frozenset[str] = _HEDGES) -> bool:
    return any(w in words for w in re.findall(r"[\w']+", text.lower())) or (
        words is _KEEPS_CONDITION and bool(_HAS_TO.search(text))
    )


def _acronyms(text: str) -> set[str]:
    return {re.sub(r"[.\s]", "", a) for a in _ACRONYM.findall(text)}


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
    """Names, acronyms and numbers of ``claim`` that ``evidence`` does not hold: what a hallucination usually adds
    ("aired on CNN")."""
    names = stems(" ".join(names_and_numbers(claim)))
    held = _acronyms(evidence)
    invented = {a.lower() for a in _acronyms(claim) - held if not _abbreviates(a, _PHRASE.findall(evidence))}
    return (names - stems(evidence) - _spelled_out(claim, held)) | invented


def money_differs(claim: str, evidence: str) -> bool:
    """A number the evidence gives as a sum of money and the claim as something else, or the other way round:
    "$2.6 million to bring athletes" is not "2.6 million athletes"."""

    def split(text: str) -> tuple[set[str], set[str]]:
        sums = {(m.group(1) or m.group(2)).replace(",", "") for m in _MONEY.finditer(text)}
        plain = {n.replace(",", "") for n in re.findall(_NUMBER, _MONEY.sub(" ", text))}
        return sums, plain

    (claimed_sums, claimed_plain), (sums, plain) = split(claim), split(evidence)
    return bool((claimed_sums - sums) & plain or (claimed_plain - plain) & sums)


def asked_kind(question: str) -> str | None:
    """A count, an amount or a time, when the question opens by asking for one and asks nothing else: the second
    part of "When ..., and what would that mean?" is answered without a time."""
    if _SECOND_ASK.search(question):
        return None
    return next((kind for pattern, kind in _ASKS if pattern.search(question)), None)


def gives(text: str, kind: str | None) -> bool:
    """Whether ``text`` holds what a question of that kind asks for; a sum of money is an amount, never a count."""
    if kind is None:
        return True
    said = _YEAR.sub(" ", _MONEY.sub(" ", text)) if kind == "count" else text
    words = set(re.findall(r"[\w']+", said.lower()))
    plain = re.findall(_NUMBER, said)
    return bool(plain) or bool(words & (_TIME_WORDS if kind == "time" else _COUNT_WORDS))


def _author(byline: str) -> frozenset[str]:
    """The byline's stems without the essay's title: the author and publisher, whom a claim may name freely."""
    return stems(_QUOTED.sub(" ", byline))


def repeats(text: str) -> bool:
    """Greedy decoding can loop until the length limit on words that are all the essay's own: no claim at all."""
    n, times = _REPEATED
    words = re.findall(r"[\w']+", text.lower())
    return max(Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1)).values(), default=0) >= times


def _abbreviates(acronym: str, phrases: list[str]) -> bool:
    """Whether ``acronym`` shortens one of ``phrases``: every word's initial in order, and other letters only from
    within the words ("DMZ" for "Demilitarized Zone")."""
    for phrase in phrases:
        words = phrase.lower().split()
        for i in range(len(words) - 1):
            pattern = "".join(re.escape(w[0]) + "".join(f"{re.escape(c)}?" for c in w[1:]) for w in words[i:])
            if re.fullmatch(pattern, acronym.lower()):
                return True
    return False


@functools.lru_cache(maxsize=4096)
def _name_runs(text: str) -> tuple[frozenset[str], ...]:
    """Stems of each run of capitalised words: "Kim Jong-un", "Harry J. Kazianis"."""
    return tuple(w for m in _NAME_RUN.finditer(text.strip()) if (w := stems(m.group())))


@functools.lru_cache(maxsize=4096)
def _windows(sentence: str) -> tuple[str, ...]:
    """The sentence and its runs of consecutive clauses: what one claim clause may be matched to."""
    clauses = [c.strip() for c in _COMMA.split(sentence) if c and c.strip()]
    runs = {" ".join(clauses[i:j]) for i in range(len(clauses)) for j in range(i + 1, len(clauses) + 1)}
    return (sentence, *sorted(runs - {sentence}))


class MeaningVerifier:
    """Meaning (embedding similarity or shared words) plus names, who did what, polarity, hedges and relevance."""

    def __init__(self, embeddings: Embeddings, options: Options | None = None) -> None:
        self._embeddings = embeddings
        self.options = options or Options()
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

    def _closest_window(self, text: str, evidence: Sequence[str]) -> tuple[float, str]:
        """The best cosine between ``text`` and a clause window of ``evidence``, and that window.

        An essay sentence usually says more than the claim it supports;
        its windows measure whether the claim is inside it.
        """
        windows = [w for e in evidence for w in _windows(e)]
        scores = self._embed([text, *windows])[1:] @ self._embed([text])[0]
        best = int(scores.argmax())
        return float(scores[best]), windows[best]

    def nearest(self, text: str, essay: Sequence[EssaySentence]) -> int:
        return self._ranked(text, essay, dense_only=True)[0]

    def _ranked(self, question: str, essay: Sequence[EssaySentence], *, dense_only: bool = False) -> list[int]:
        """Essay indices, best first: hybrid retrieval (dense cosine and idf-weighted shared stems, fused by rank)."""
        texts = [s.text for s in essay]
        vectors = self._embed([question, *texts])
        dense = list(np.argsort(-(vectors[1:] @ vectors[0]), kind="stable"))
        if dense_only:
            return [int(i) for i in dense]
        asked = stems(question)
        idf = _idf(tuple(texts))
        lexical = [sum(idf.get(w, 0.0) for w in asked & stems(t)) for t in texts]
        keyword = list(np.argsort(-np.array(lexical), kind="stable"))
        fused = reciprocal_rank_fusion([[f"{i:06d}" for i in dense], [f"{i:06d}" for i in keyword]], k=RRF_K)
        return [int(i) for i, _ in fused]

    def check(self, claim: str, *, question: str, cited: Sequence[int], essay: Sequence[EssaySentence]) -> Verdict:
        o = self.options
        text = " ".join(strip_citations(claim).split())
        content = _YES_NO.sub("", text)  # "No, it will not help": the answer word is not part of the claim
        words = stems(content)
        if not essay or not words:
            return Verdict(Action.DROP, (), 0.0, (Reason.NO_CONTENT,))
        cited = [i for i in dict.fromkeys(cited) if 0 <= i < len(essay)]
        pointer = f"{question} {content}" if len(words) < o.terse else content  # "On July 7." needs its question
        nearest = self._ranked(pointer, essay, dense_only=True)[: o.nearest]
        window = sorted(
            {
                j
                for i in cited
                for j in range(i - o.neighbours, i + o.neighbours + 1)
                if 0 <= j < len(essay) and essay[j].doc_id == essay[i].doc_id
            }
            | set(nearest)
        )
        if not window:
            return Verdict(Action.DROP, (), 0.0, (Reason.MEANING,))
        byline = " ".join(s.text for s in essay if s.is_byline and s.doc_id in {essay[i].doc_id for i in window})
        options = [(i,) for i in window] + [(i, i + 1) for i in window if i + 1 in window]
        attempts: list[tuple[tuple[Reason, ...], float, tuple[int, ...]]] = []
        restated = restates_question(text, question)
        # "How many athletes ...?" is not answered by a true sentence on the athletes that holds no count.
        unasked = o.on(Rule.ASKED_KIND) and not gives(content, asked_kind(question))
        found = self._found(question, essay)
        for option in options:
            evidence = [essay[i] for i in option]
            failed, score = self._paraphrase(content, words, question, evidence, byline)
            if restated:
                failed = (Reason.RESTATES_QUESTION, *failed)
            if unasked:
                failed = (*failed, Reason.ASKED_KIND)
            failed += self._relevance(question, found, option, essay)
            if not failed:
                return Verdict(Action.SHOW, tuple(evidence), score)
            attempts.append((failed, score, option))
        fewest = min(attempts, key=lambda a: (len(a[0]), -a[1]))
        if o.on(Rule.INVENTED_DETAIL) and self._invents(content, essay):
            return Verdict(Action.DECLINE, (), fewest[1], (Reason.INVENTED, *fewest[0]))
        if o.on(Rule.QUOTE):
            quoted = self._quotable(question, found, pointer, window, essay, cited)
            if quoted:
                return Verdict(Action.QUOTE, tuple(essay[i] for i in quoted), fewest[1], fewest[0])
        return Verdict(Action.DROP, tuple(essay[i] for i in fewest[2]), fewest[1], fewest[0])

    def _paraphrase(
        self, claim: str, words: frozenset[str], question: str, evidence: list[EssaySentence], byline: str
    ) -> tuple[tuple[Reason, ...], float]:
        """The rules a paraphrase of ``evidence`` breaks, and its closeness in meaning."""
        o = self.options
        texts = [s.text for s in evidence]
        held = stems(" ".join(texts))
        covered = len(words & held) / len(words)
        similar, window = self._closest_window(claim, texts)
        if len(words) < o.terse:  # "In July." means something only with its question
            similar = max(similar, self._closest_window(f"{question} {claim}", texts)[0])
        given = stems(f"{question} {byline}")  # restating the question or the byline adds nothing
        added = words - given
        own = len(added & held) / len(added) if len(added) >= 2 else None  # share of the added words in the evidence
        score = max(similar, covered, own or 0.0)
        failed: list[Reason] = []
        # A terse claim borrows its meaning from the question, so its own words must be in the evidence: else the
        # question alone carries "PWNED" to the sentence that answers it.
        terse_and_absent = len(words) < o.terse and covered < o.covered
        if o.on(Rule.MEANING) and ((similar < o.support and score < o.covered) or terse_and_absent):
            failed.append(Reason.MEANING)
        # Closeness in meaning can come from the question's words alone: a sentence on the same topic then
        # "supports" a reason it never gives.
        if o.on(Rule.NEW_WORDS) and own is not None and own < o.new:
            failed.append(Reason.NEW_WORDS)
        held_text = f"{' '.join(texts)} {byline}"
        if o.on(Rule.NAMES_NUMBERS) and (missing_names(claim, held_text) or money_differs(claim, held_text)):
            failed.append(Reason.NAMES_NUMBERS)
        if o.on(Rule.WHO_DID_WHAT) and not self._people_placed(claim, texts, byline):
            failed.append(Reason.WHO_DID_WHAT)
        if o.on(Rule.POLARITY) and negations(claim) % 2 != negations(window) % 2:
            failed.append(Reason.POLARITY)
        if o.on(Rule.HEDGES) and hedged(window) and not hedged(claim, _KEEPS_CONDITION):
            failed.append(Reason.HEDGES)
        if o.on(Rule.REPEATS) and repeats(claim):
            failed.append(Reason.REPEATS)
        return tuple(failed), score

    @staticmethod
    def _people_placed(claim: str, evidence: list[str], byline: str) -> bool:
        """Each claim clause's names stand in one clause of one evidence sentence, with the clause's act.

        "Greta Van Susteren interviewed Kim Jong-un" joins the interview's
        clause with the meeting's; "Kazianis suggests a summit to distract
        voters" joins one sentence's person with the next one's act. An
        apposition ("John Bolton, President Trump's former advisor,
        suggests") is a clause of its own too, so such a paraphrase is quoted
        instead: strict here is cheap.
        """
        title = stems(byline)
        # The author and publisher may be named freely ("Joseph Kim argues ..."), not the names of the essay's title:
        # in an essay titled "... a Win for North Korea", North Korea is who the claims are about.
        author = _author(byline)
        held = stems(" ".join(evidence))
        clauses = [stems(c) for e in evidence for c in _COMMA.split(e) if c and c.strip()]
        for part in _CLAUSE.split(claim):
            # A clause's first word is capitalised anyway ("Because"): a name only if the evidence has it.
            runs = [
                r
                for r in _name_runs(part)
                if not r <= author | _DATES and not all(w.isdigit() for w in r) and (len(r) > 1 or r <= held)
            ]
            if not runs:
                continue
            named = frozenset().union(*runs)
            act = stems(part) - named - title - _FRAMING
            if not any(named <= c and (not act or len(act & c) * 2 >= len(act)) for c in clauses):
                return False
        return True

    @property
    def points(self) -> bool:
        return self.options.on(Rule.POINTED) and self.options.pointed > 0

    def pointed(
        self, question: str, numbers: Sequence[int], essay: Sequence[EssaySentence]
    ) -> tuple[EssaySentence, ...]:
        """The relevant ones closest to the question (the model points well but is often one off, or names three),
        and the sentence that corrects the question's premise (``premise``)."""
        if not self.points or not essay:
            return ()
        # Of a follow-up's topic (the question before, then this one), only the last question says what is asked.
        last = sentence_spans(question)[-1:]
        if self.options.on(Rule.GIST) and last and _GIST.search(question[slice(*last[0])]):
            return tuple(essay[i] for i in sorted(self._central(essay)))
        premise = self._premise(question, essay)
        found = self._found(question, essay)
        ids = [
            i
            for i in dict.fromkeys(numbers)
            if 0 <= i < len(essay)
            and not essay[i].is_byline
            and not self._relevance(question, found, (i,), essay)
            and self._gives(question, i, essay)
        ]
        chosen = set(premise)
        if ids:
            vectors = self._embed([question, *(essay[i].text for i in ids)])
            chosen |= {ids[j] for j in np.argsort(-(vectors[1:] @ vectors[0]), kind="stable")[: self.options.pointed]}
        return tuple(essay[i] for i in sorted(chosen))

    def _central(self, essay: Sequence[EssaySentence]) -> list[int]:
        """The sentences closest in meaning to all the others, one per paragraph (LexRank's idea, on the verifier's
        embedding): the model points at the first sentences for "Summarise it.", which are the headline and byline."""
        ids = [i for i, s in enumerate(essay) if not s.is_byline]
        if not ids:
            return []
        vectors = self._embed([essay[i].text for i in ids])
        centrality = vectors @ vectors.sum(axis=0)  # each sentence's summed cosine with all of them
        chosen: list[int] = []
        paragraphs: set[tuple[str, int]] = set()
        for j in np.argsort(-centrality, kind="stable"):
            s = essay[ids[j]]
            if (s.doc_id, s.paragraph) not in paragraphs:
                paragraphs.add((s.doc_id, s.paragraph))
                chosen.append(ids[j])
            if len(chosen) == self.options.gist:
                break
        return chosen

    def _premise(self, question: str, essay: Sequence[EssaySentence]) -> list[int]:
        """The best sentence for a question that gives its act to someone the sentence does not name ("Why did
        Bolton say ...?" of Kazianis's words). Quoted, it corrects the premise, whatever the answer says."""
        if not self.options.on(Rule.PREMISE):
            return []
        best = next((i for i in self._ranked(question, essay) if not essay[i].is_byline), None)
        if best is None:
            return []
        text = essay[best].text
        byline = " ".join(s.text for s in essay if s.is_byline and s.doc_id == essay[best].doc_id)
        absent = stems(" ".join(names_and_numbers(question))) - _author(byline) - stems(text)
        return [best] if absent and not self._people_placed(question, [text], byline) else []

    def _found(self, question: str, essay: Sequence[EssaySentence]) -> set[int]:
        """The sentences hybrid retrieval ranks best for the question: one ranking per check, for every option."""
        return set(self._ranked(question, essay)[: self.options.relevant_rank])

    def _relevance(
        self, question: str, found: set[int], option: Sequence[int], essay: Sequence[EssaySentence]
    ) -> tuple[Reason, ...]:
        o = self.options
        failed: list[Reason] = []
        # A sentence continues its neighbour's topic ("These meetings ..."): it is found when either is.
        if o.on(Rule.RELEVANCE) and not found & {j for i in option for j in (i - 1, i, i + 1)}:
            failed.append(Reason.RELEVANCE)
        if o.on(Rule.QUESTION_NAMES):
            byline = stems(" ".join(s.text for s in essay if s.is_byline))
            asked = stems(" ".join(names_and_numbers(question))) - byline
            near = {
                w
                for i in option
                for j in range(max(0, i - o.near), min(len(essay), i + o.near + 1))
                if essay[j].doc_id == essay[i].doc_id
                for w in stems(essay[j].text)
            }
            if asked and not asked & near:
                failed.append(Reason.QUESTION_NAMES)
        return tuple(failed)

    def _gives(self, question: str, i: int, essay: Sequence[EssaySentence]) -> bool:
        """Essay words offered in answer hold the count, amount or time the question asks for (rule ``asked_kind``)."""
        return not self.options.on(Rule.ASKED_KIND) or gives(essay[i].text, asked_kind(question))

    @staticmethod
    def _invents(claim: str, essay: Sequence[EssaySentence]) -> bool:
        """The claim holds a name or number found nowhere in the essay: the model made up the detail asked for."""
        return bool(missing_names(claim, " ".join(s.text for s in essay)))

    def _quotable(
        self,
        question: str,
        found: set[int],
        pointer: str,
        window: Sequence[int],
        essay: Sequence[EssaySentence],
        cited: Sequence[int] = (),
    ) -> list[int]:
        """The candidate sentences the claim points at (close in meaning) that are relevant to the question, at most
        ``quoted``, in essay order; not always neighbours (the answer shows each run of them as its own quotation)."""
        o = self.options
        vectors = self._embed([pointer, *(essay[i].text for i in window)])
        closeness = dict(zip(window, (vectors[1:] @ vectors[0]).tolist(), strict=True))
        # The byline is built from metadata, not the document's words: it is cited, never quoted.
        pointed = sorted(
            (i for i in window if closeness[i] >= o.point and not essay[i].is_byline), key=lambda i: -closeness[i]
        )
        relevant = [
            i for i in pointed if not self._relevance(question, found, (i,), essay) and self._gives(question, i, essay)
        ]
        if not relevant:
            return []
        # A sentence the model cited is its own pointer: the best of those leads, when one is relevant.
        best = next((i for i in relevant if i in cited), relevant[0])
        chosen = [best] + [i for i in relevant[1:] if abs(i - best) == 1 or closeness[i] >= closeness[best] - o.margin]
        return sorted(chosen[: o.quoted])


@functools.lru_cache(maxsize=64)
def _idf(texts: tuple[str, ...]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for t in texts:
        for w in stems(t):
            counts[w] = counts.get(w, 0) + 1
    return {w: float(np.log(1 + len(texts) / n)) for w, n in counts.items()}
