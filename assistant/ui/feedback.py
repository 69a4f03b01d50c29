"""Thumbs up/down from the UI, kept as JSONL, and turned into candidate eval cases."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from dataclasses import asdict
from pathlib import Path

from assistant.answer import Answer, is_decline


class FeedbackLog:
    """Appends each rating with the question, answer, sources and settings to a JSONL file.

    The UI only sends back the rendered chat, so answers are remembered by
    their rendered text to recover their structured sources.
    """

    def __init__(self, path: Path, settings: dict, remember: int = 1000) -> None:
        self.path = path
        self._settings = settings
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._remember = remember
        self._lock = threading.Lock()

    def remember(self, rendered: str, answer: Answer) -> None:
        with self._lock:
            self._answers[rendered] = answer
            while len(self._answers) > self._remember:
                self._answers.popitem(last=False)

    def record(self, rendered: str, question: str, liked: bool | str | None) -> dict:
        with self._lock:
            answer = self._answers.get(rendered)
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "liked": liked,
            "question": question,
            "answer": answer.text if answer else re.sub(r"<[^>]+>", "", rendered),
            "sources": [asdict(s) for s in answer.sources] if answer else [],
            "settings": self._settings,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return entry


def feedback_to_cases(path: Path) -> list[dict]:
    """Liked answers become eval items to review: the answer as reference, the cited sentences as quotes.

    Disliked answers are left out: they need a person to write the right answer.
    """
    cases: dict[str, dict] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("liked") is not True or not entry.get("question"):
            continue
        answer = entry["answer"]
        quotes = [s.get("cited_text") or s["text"] for s in entry["sources"]]  # older logs have no cited sentence
        case_id = "fb-" + hashlib.sha1(entry["question"].encode()).hexdigest()[:8]
        cases[case_id] = {
            "id": case_id,
            "question": entry["question"],
            "history": [],
            "answerable": not is_decline(answer),
            "reference_answer": re.sub(r"\s*\[\d+\]", "", answer),
            "required_facts": [],
            "supporting_quotes": quotes,
            "tags": ["feedback"],
            "required": False,
        }
    return list(cases.values())
