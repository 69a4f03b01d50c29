"""The reference Q&A items that evals and benchmarks measure against."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import DatasetError

DEFAULT_DATASET = "qa.jsonl"


class EvalItem(BaseModel):
    """One reference item: a line of the dataset. Its JSON Schema ships as ``evals/data/item.schema.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, description="unique within the dataset")
    question: str = Field(description="what the user asks")
    answerable: bool = Field(description="does the document answer it? false for questions it cannot answer")
    reference_answer: str = Field(description="a correct answer in plain words, for token F1 and for readers")
    required_facts: list[list[str]] = Field(
        default_factory=list,
        description="each fact is a list of alternative regexes (case-insensitive); any one matching counts",
    )
    supporting_quotes: list[str] = Field(
        default_factory=list, description="verbatim substrings of the documents that support the answer"
    )
    history: list[dict] = Field(
        default_factory=list, description="earlier turns for a follow-up: {role: user|assistant, content}"
    )
    tags: list[str] = Field(default_factory=list, description="the first is the item's type")
    required: bool = Field(False, description="the gate fails if this item passed in the baseline and fails now")
    forbidden: list[str] = Field(
        default_factory=list, description="regexes a shown answer must not match, where a wrong answer is likely"
    )
    split: Literal["dev", "test"] = Field(
        "dev", description="dev: rules and thresholds may be tuned on it; test: judged only, never tuned on"
    )
    draft: bool = Field(False, description="written by `eval draft`; a person has not accepted it yet")

    @property
    def false_premise(self) -> bool:
        """The question presumes what the essay contradicts: declining passes, and so does the correction."""
        return FALSE_PREMISE in self.tags


FALSE_PREMISE = "false-premise"
SPLITS = ("dev", "test")
SCHEMA = "item.schema.json"


def item_schema() -> dict:
    """The JSON Schema of one dataset line, as shipped in ``evals/data/`` (a test keeps the file current)."""
    return EvalItem.model_json_schema()


def default_dataset_path() -> Path:
    return Path(str(resources.files("assistant.evals").joinpath("data", DEFAULT_DATASET)))


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
        try:
            items.append(EvalItem.model_validate(raw))
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"]) or "item"
                problems.append(f"line {lineno}: {where}: {error['msg']}")
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
    asked: dict[tuple, EvalItem] = {}
    for item in items:
        key = (item.question.strip().lower(), json.dumps(item.history, sort_keys=True))
        if (other := asked.setdefault(key, item)) is not item and other.split != item.split:
            problems.append(f"item {item.id!r}: repeats {other.id!r}'s question in the other split")
        where = f"item {item.id!r}"
        if item.id in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(item.id)
        if not item.question.strip():
            problems.append(f"{where}: empty question")
        if item.false_premise and (item.answerable or not item.required_facts):
            # Declining one passes, so it is not "answerable"; its facts are the correction's.
            problems.append(f"{where}: a {FALSE_PREMISE} item is answerable: false, with the correction's facts")
        elif item.answerable and not (item.required_facts and item.supporting_quotes):
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
