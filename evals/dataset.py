"""The reference Q&A items that evals and benchmarks measure against."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path

DEFAULT_DATASET = "qa.jsonl"


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    answerable: bool
    reference_answer: str
    required_facts: list[list[str]] = field(default_factory=list)
    supporting_quotes: list[str] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    required: bool = False
    forbidden: list[str] = field(default_factory=list)  # patterns a shown answer must not match
    split: str = "dev"  # "dev": rules and thresholds may be tuned on it; "test": judged only, never tuned on

    @property
    def false_premise(self) -> bool:
        """The question presumes what the essay contradicts: declining passes, and so does the correction."""
        return FALSE_PREMISE in self.tags


FALSE_PREMISE = "false-premise"
SPLITS = ("dev", "test")


def default_dataset_path() -> Path:
    return Path(str(resources.files("assistant.evals").joinpath("data", DEFAULT_DATASET)))


class DatasetError(ValueError):
    """The dataset is malformed; the message lists every problem found."""


def load_dataset(path: Path | None = None) -> list[EvalItem]:
    path = path or default_dataset_path()
    items, problems = [], []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {lineno}: not JSON ({exc.msg})")
            continue
        missing = sorted({"id", "question", "answerable", "reference_answer"} - set(raw))
        unknown = sorted(set(raw) - {f.name for f in fields(EvalItem)})
        if missing or unknown:
            problems.append(
                f"line {lineno}: missing fields {missing}" if missing else f"line {lineno}: unknown fields {unknown}"
            )
            continue
        items.append(EvalItem(**raw))
    if problems:
        raise DatasetError(f"{path}: " + "; ".join(problems))
    return items


def dataset_version(path: Path | None = None) -> str:
    """A content hash, so a report says exactly which dataset it measured."""
    return hashlib.sha256(Path(path or default_dataset_path()).read_bytes()).hexdigest()[:12]


def validate_dataset(items: list[EvalItem], corpus_text: str) -> list[str]:
    """Every problem that would make a run meaningless; empty when the dataset is sound."""
    problems = []
    seen: set[str] = set()
    for item in items:
        where = f"item {item.id!r}"
        if item.id in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(item.id)
        if not item.question.strip():
            problems.append(f"{where}: empty question")
        if item.split not in SPLITS:
            problems.append(f"{where}: split must be one of {', '.join(SPLITS)}, not {item.split!r}")
        if item.answerable and not (item.required_facts and item.supporting_quotes):
            problems.append(f"{where}: answerable items need required_facts and supporting_quotes")
        for quote in item.supporting_quotes:
            if quote not in corpus_text:
                problems.append(f"{where}: supporting quote not verbatim in the essay: {quote[:50]!r}")
        for pattern in [p for alternatives in item.required_facts for p in alternatives] + item.forbidden:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"{where}: bad pattern {pattern!r}: {exc}")
        for message in item.history:
            if (
                not isinstance(message, dict)
                or message.get("role") not in ("user", "assistant")
                or not message.get("content")
            ):
                problems.append(f"{where}: history messages need a role (user/assistant) and content")
    return problems
