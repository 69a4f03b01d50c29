"""The reference Q&A items that evals and benchmarks measure against."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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


def default_dataset_path() -> Path:
    return Path(str(resources.files("assistant.evals").joinpath(DEFAULT_DATASET)))


def load_dataset(path: Path | None = None) -> list[EvalItem]:
    path = path or default_dataset_path()
    items = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(EvalItem(**json.loads(line)))
        except (json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"{path}:{lineno}: not a valid eval item: {exc}") from None
    return items
