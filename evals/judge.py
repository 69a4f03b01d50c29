"""Optional judged metrics: a configured model grades each answer, beside the deterministic metrics.

A judge reads what string matching cannot: whether an answer says what
the reference says in other words, and whether each shown sentence is
faithful to the sentences it cites. Judged figures are reported with the
judge's name and never enter the gate, whose metrics stay deterministic
and offline. The judge is any chat model the settings can name
(``openai:gpt-4o-mini``, or an OpenAI-compatible server by base URL).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.prompts import ChatPromptTemplate

from assistant.evals.metrics import cited_numbers, sentences, strip_citations
from assistant.models.chat import (
    describe_refused,
    describe_unreachable,
    make_chat_model,
    public_url,
    refused,
    unreachable,
)
from assistant.prompts import read_prompt
from assistant.settings import Settings

_VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


class Judge:
    """Grades with ``llm``; ``name`` is what the report records."""

    def __init__(self, llm: BaseChatModel, name: str) -> None:
        self.name = name
        self._correct = ChatPromptTemplate.from_messages([("human", read_prompt("judge_correct"))]) | llm
        self._faithful = ChatPromptTemplate.from_messages([("human", read_prompt("judge_faithful"))]) | llm

    @staticmethod
    def _verdict(reply) -> bool | None:
        """yes/no from the judge's reply; None when it gave neither (counted as unjudged, not as a fail)."""
        match = _VERDICT.search(reply.text if hasattr(reply, "text") else str(reply))
        return match.group(1).lower() == "yes" if match else None

    def correct(self, question: str, reference: str, answer: str) -> bool | None:
        reply = self._correct.invoke({"question": question, "reference": reference, "answer": strip_citations(answer)})
        return self._verdict(reply)

    def faithful(self, answer: str, cited: dict[int, str]) -> float | None:
        """Share of the answer's cited sentences that the judge finds faithful to what they cite."""
        verdicts = []
        for sentence in sentences(answer):
            numbers = [n for n in cited_numbers(sentence) if n in cited]
            if numbers:
                reply = self._faithful.invoke(
                    {"cited": " ".join(cited[n] for n in numbers), "sentence": strip_citations(sentence).strip()}
                )
                verdicts.append(self._verdict(reply))
        judged = [v for v in verdicts if v is not None]
        return sum(judged) / len(judged) if judged else None

    def grade(self, question: str, reference: str, answer: str, cited: dict[int, str], *, declined: bool) -> dict:
        return {
            "correct": self.correct(question, reference, answer),
            "faithful": None if declined else self.faithful(answer, cited),
        }


def judged_aggregate(results: Sequence[dict]) -> dict:
    """Judged correctness of answerable items and faithfulness of shown answers, where the judge gave a verdict."""
    correct = [r["judged"]["correct"] for r in results if r.get("answerable") and r.get("judged")]
    faithful = [r["judged"]["faithful"] for r in results if r.get("judged")]
    correct = [c for c in correct if c is not None]
    faithful = [f for f in faithful if f is not None]
    return {
        "judged_correct": round(sum(correct) / len(correct), 4) if correct else None,
        "judged_faithful": round(sum(faithful) / len(faithful), 4) if faithful else None,
    }


def make_judge(settings: Settings, model: str, base_url: str | None = None) -> Judge:
    """A judge on ``model`` (and ``base_url``), asked once before the run: one that is down fails in seconds with a
    clear ``ModelError``, not after minutes of answering."""
    judged = settings.model_copy(update={"model": model, "base_url": base_url, "temperature": 0.0})
    judge = Judge(make_chat_model(judged), model + (f" at {public_url(base_url)}" if base_url else ""))
    try:
        judge.correct("Is this a test?", "Yes.", "Yes.")
    except Exception as exc:
        if unreachable(exc):
            raise describe_unreachable(judged, exc) from None
        if refused(exc):
            raise describe_refused(judged, exc) from None
        raise
    return judge
