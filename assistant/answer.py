"""What an answer is, and the gate that builds it from verified sentences only.

The model's text is held until a sentence closes; the verifier then
decides whether it is shown. Nothing else reaches a reader: the streamed
deltas, joined, are exactly the final ``Answer.text``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from assistant.index.search import Passage
from assistant.index.sentences import EssaySentence
from assistant.index.text import cited_numbers, sentence_spans, strip_citations
from assistant.verification import Action, Verifier, repeats

log = logging.getLogger(__name__)
# The model's own text, unverified: only for an eval's replay, never propagated to where a user may read logs.
model_text_log = logging.getLogger(__name__ + ".model_text")
model_text_log.propagate = False

CLOSEST = 2  # passages offered with a decline
_DECLINE = re.compile(
    r"essay does not (say|cover|mention|discuss)|only answer questions about|could not find that in this essay"
    r"|^[^.]*\b(is|are) not (specified|mentioned|stated|given) in the (passages?|essay)\W*$",
    re.IGNORECASE,
)
GIVE_UP = 2  # unsupported sentences in a row, before any passed, after which generation stops and the answer declines


def is_decline(text: str) -> bool:
    """The model's own ways of saying the essay does not answer, or that a request is off topic."""
    return bool(_DECLINE.search(text))


@dataclass(frozen=True)
class Source:
    """A numbered passage; ``start``/``end`` index the cleaned text of document ``doc_id``.

    For a citation, ``cited_text`` is the essay sentence (or two) that
    supports the answer sentence, at ``cited_start``/``cited_end`` in the
    same document; for a decline's closest passage, the sentence nearest
    the question. The byline has an empty span.
    """

    citation: int
    text: str
    doc_id: str
    title: str
    start: int
    end: int
    score: float
    cited_text: str = ""
    cited_start: int = 0
    cited_end: int = 0


@dataclass(frozen=True)
class Answer:
    text: str
    sources: list[Source]  # what ``[n]`` in ``text`` cites
    question: str
    standalone_question: str
    passages: list[Source] = field(default_factory=list)  # everything the model was shown, numbered as it saw them
    grounded: bool = True  # False when the verifier dropped a sentence of the model's, or all of them
    closest: list[Source] = field(default_factory=list)  # for a decline: the best passages for the question
    dropped: int = 0  # model sentences the verifier did not let through
    quoted: int = 0  # model sentences replaced by the essay sentences they cite, marked as the essay's words
    declined: bool = False  # nothing in the essay was found for the question (or it was off topic)

    @property
    def shown_sources(self) -> list[Source]:
        """What a reader sees beside the text, in every way in: the cited passages, or for a decline the closest."""
        return self.sources or self.closest

    def to_dict(self) -> dict:
        return asdict(self)


def number_passages(context: list[Passage]) -> list[Source]:
    return [_source(n, p) for n, p in enumerate(context, start=1)]


def _source(n: int, p: Passage, cited: Sequence[EssaySentence] = ()) -> Source:
    c = p.chunk
    source = Source(n, c.text, c.doc_id, str(c.metadata.get("title", "")), c.start, c.end, round(p.score, 6))
    if not cited:
        return source
    start, end = cited[0].start, cited[-1].end
    inside = c.start <= start and end <= c.end and end > start
    text = c.text[start - c.start : end - c.start] if inside else " ".join(s.text for s in cited)
    return Source(**(asdict(source) | {"cited_text": text, "cited_start": start, "cited_end": end}))


_END = re.compile(r"[.!?]\s*$")


def _with_marker(sentence: str, number: int) -> str:
    """The sentence without the model's own markers, citing ``number`` before its final punctuation, or after
    a closing quote (not inside the quotation: 'getting "re-elected." [5]')."""
    text = " ".join(strip_citations(sentence).split())
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    end = _END.search(text)
    return f"{text[: end.start()]} [{number}]{end.group()}" if end else f"{text} [{number}]"


def _nested(text: str) -> str:
    """The essay's own quotation marks as single ones, inside the double marks that show the essay's words."""
    text = re.sub(r'(^|[\s(\[])"', "\\1‘", text.replace("“", "‘").replace("”", "’"))  # a straight one opens here
    return text.replace('"', "’")


class AnswerCheck:
    """Holds the model's text until a sentence closes, verifies it, and releases only what passed.

    ``feed`` takes the model's deltas and returns the text that may be
    shown now; ``stopped`` turns true when generating more is pointless
    (the first sentences failed, the model declined, or it loops: its open
    sentence repeats itself, or it says a sentence again); ``close`` verifies
    the last sentence; ``point`` adds the sentences the model then points
    at; ``answer`` builds the final ``Answer``, whose text is the released
    text joined.
    """

    def __init__(
        self,
        verifier: Verifier,
        *,
        question: str,
        standalone: str,
        context: list[Passage],
        sentences: Sequence[EssaySentence],
        declined: str,
        off_topic: str,
        quoted: str,
        asked_before: Sequence[str] = (),
        closest: Callable[[], list[Passage]] = list,
        answered_in: str = "",
    ) -> None:
        self._verifier = verifier
        self._question = question
        self._standalone = standalone
        # A question asked in another language (``answered_in`` says so) is read in its translation (``standalone``)
        # only: the rules read the essay's language, and German, say, capitalises every noun, which they take for names.
        asked = () if answered_in else (question,)
        self._topic = " ".join(dict.fromkeys((*asked_before[-1:], standalone, *asked)))
        self._context = context
        self._declined = declined
        self._off_topic = off_topic
        self._quotation = quoted
        self._closest = closest
        self._opening = f"{answered_in} " if answered_in else ""  # released with the first sentence shown
        self._essay = sentences  # numbered from 1 as the model read them
        self._quoted: set[EssaySentence] = set()
        self._held = self._raw = ""
        self._released: list[str] = []
        self._sources: dict[tuple, Source] = {}
        self._dropped = 0
        self._quotes = 0
        self._quoting = False  # the last sentence shown was the essay's words
        self._failed_in_a_row = 0
        self._decline: str | None = None
        self._looping = False
        self._said: set[str] = set()  # the model's sentences so far, as words: a repeat is a loop
        self._closed = False  # the model's text is complete and its last sentence verified

    @property
    def stopped(self) -> bool:
        return self._decline is not None or self._looping

    def feed(self, delta: str) -> list[str]:
        self._raw += delta
        self._held += delta
        if self.stopped:
            return []
        spans = sentence_spans(self._held)
        if len(spans) < 2:
            # Greedy decoding can loop inside one sentence ("because it is X because it is X ..."), which then
            # never closes: the loop would run to the token limit, only for the check to fail it at the end.
            self._looping = repeats(self._held)
            return []
        closed, self._held = self._held[: spans[-1][0]], self._held[spans[-1][0] :]
        return self._verify(closed)

    def close(self) -> list[str]:
        """The model is done: verify its last sentence (once; ``finish`` closes too)."""
        if self._closed:
            return []
        self._closed = True
        model_text_log.debug("%d characters", len(self._raw), extra={"model_text": self._raw})
        out = [] if self._decline else self._verify(self._held)
        self._held = ""
        return out

    @property
    def points(self) -> bool:
        """Whether to ask the model which sentences answer the question: only for an answer that shows something."""
        return self._verifier.points and bool(self._released) and not self._decline

    def point(self, reply: str) -> list[str]:
        """The sentences the model pointed at (``reply`` holds their numbers) that the verifier lets follow the answer
        as the essay's words, unless the answer shows them already."""
        model_text_log.debug("%d characters", len(reply), extra={"pointer_text": reply})
        numbers = [int(n) - 1 for n in re.findall(r"\d+", reply)]
        chosen = self._verifier.pointed(self._topic, numbers, self._essay)
        new = [s for s in chosen if s not in self._quoted]
        if not new:
            return []
        self._quoted |= set(new)
        shown = " " + self._quote(new)
        self._released.append(shown)
        return [shown]

    def finish(self) -> list[str]:
        out = self.close()
        if not self._released:
            self._decline = self._decline or self._declined
            out.append(self._decline)
            self._released.append(self._decline)
        return out

    def _verify(self, text: str) -> list[str]:
        out = []
        for a, b in sentence_spans(text):
            sentence = text[a:b].strip()
            claim = strip_citations(sentence)
            if self._decline or not claim.strip(" .!?\"'“”-*"):
                continue
            words = " ".join(re.findall(r"[\w']+", claim.lower()))
            if words in self._said:  # the model says a sentence again: all that follows is more of the loop
                self._looping, self._held = True, ""
                break
            self._said.add(words)
            if is_decline(sentence):
                if not self._released:  # the model declined: nothing to verify, nothing more to read
                    self._decline = self._off_topic if "only answer" in sentence.lower() else self._declined
                continue
            shown = self._check(sentence)
            if shown == "":
                continue
            if shown is None:
                self._dropped += 1
                self._failed_in_a_row += 1
                if not self._released and self._failed_in_a_row >= GIVE_UP:
                    self._decline = self._declined
                continue
            self._failed_in_a_row = 0
            shown = (" " if self._released else self._opening) + shown
            self._released.append(shown)
            out.append(shown)
        return out

    def _check(self, sentence: str) -> str | None:
        """The text shown for one model sentence ("" when its quotation is already shown), or None if dropped."""
        cited = [n - 1 for n in cited_numbers(sentence)]
        verdict = self._verifier.check(sentence, question=self._topic, cited=cited, essay=self._essay)
        if verdict.action is Action.DECLINE and not self._released:  # it made up the answer: the essay lacks it
            log.info("declining: the answer begins with an invented detail (%s): %r", verdict.reason, sentence)
            self._decline = self._declined
            return None
        if verdict.action in (Action.DROP, Action.DECLINE):
            log.info("dropped a sentence (%s): %r", verdict.reason, sentence)
            return None
        if verdict.action is Action.QUOTE:
            log.info("quoting the essay instead of a sentence (%s): %r", verdict.reason, sentence)
            new = [s for s in verdict.evidence if s not in self._quoted]  # a sentence is quoted once per answer
            if not new:
                return ""
            self._quotes += 1
            self._quoted |= set(new)
            return self._quote(new)
        self._quoted |= set(verdict.evidence)
        self._quoting = False
        return _with_marker(sentence, self._cite(verdict.evidence))

    def _quote(self, evidence: Sequence[EssaySentence]) -> str:
        """The sentences as the essay's words. Each run of neighbours is one quotation with its own citation:
        sentences from apart are never joined as if the essay said them together."""
        quotes = " ".join(
            f"“{_nested(' '.join(' '.join(s.text.split()) for s in run))}” [{self._cite(run)}]"
            for run in self._runs(evidence)
        )
        if self._quoting:  # the answer so far is a quotation: this one continues it
            return quotes
        self._quoting = True
        return self._quotation.format(quotes=quotes)

    def _cite(self, evidence: Sequence[EssaySentence]) -> int:
        """The citation number of these sentences, numbered in order of first use."""
        key = tuple((s.doc_id, s.start, s.end) for s in evidence)
        if key not in self._sources:
            self._sources[key] = _source(len(self._sources) + 1, self._passage_of(evidence[0]), evidence)
        return self._sources[key].citation

    def _runs(self, evidence: Sequence[EssaySentence]) -> list[list[EssaySentence]]:
        """The sentences grouped into runs of neighbours in one paragraph, in essay order: a headline and the
        sentence below it are two quotations, not one sentence."""
        runs: list[list[EssaySentence]] = []
        for s in sorted(evidence, key=self._essay.index):
            last = runs[-1][-1] if runs else None
            if last and self._essay.index(last) + 1 == self._essay.index(s) and last.paragraph == s.paragraph:
                runs[-1].append(s)
            else:
                runs.append([s])
        return runs

    def _passage_of(self, sentence: EssaySentence) -> Passage:
        """The best-ranked passage holding the sentence (the byline belongs to its document's first)."""
        same_doc = [p for p in self._context if p.chunk.doc_id == sentence.doc_id]
        holding = [p for p in same_doc if p.chunk.start <= sentence.start and sentence.end <= p.chunk.end]
        return max(holding or same_doc, key=lambda p: (p.score, -p.chunk.start))

    def answer(self) -> Answer:
        text = "".join(self._released)
        closest: list[Source] = []
        if self._decline == self._declined:
            closest = [self._closest_source(n, p) for n, p in enumerate(self._closest()[:CLOSEST], start=1)]
        return Answer(
            text=text,
            sources=list(self._sources.values()) if self._decline is None else [],
            question=self._question,
            standalone_question=self._standalone,
            passages=number_passages(self._context),
            grounded=self._dropped == 0,
            closest=closest,
            dropped=self._dropped,
            quoted=self._quotes,
            declined=self._decline is not None,
        )

    def _closest_source(self, n: int, passage: Passage) -> Source:
        inside = [
            s
            for s in self._essay
            if s.doc_id == passage.chunk.doc_id
            and s.end > s.start
            and passage.chunk.start <= s.start
            and s.end <= passage.chunk.end
        ]
        if not inside:
            return _source(n, passage)
        return _source(n, passage, [inside[self._verifier.nearest(self._topic, inside)]])
