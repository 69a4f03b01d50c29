"""An eval run's answers as they finish, one JSON line each, so a run that is stopped or crashes keeps them.

A full run on a laptop takes about twenty minutes; ``--resume`` answers only the items its journal lacks.
The first line records the run (code, model, settings, dataset, documents, verifier): answers from another
run are never mixed into this one's report.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from assistant.errors import ResumeRefused

log = logging.getLogger(__name__)


class Journal:
    """Finished items by id, and appends each new one as soon as it is scored."""

    def __init__(self, path: Path, run: dict, *, resume: bool) -> None:
        self.path = path
        self._lock = threading.Lock()
        if path.exists() and not resume:
            raise ResumeRefused(
                f"{path} holds the answers of an eval run that did not finish: add --resume to answer only the "
                "items it lacks, or delete it to start over"
            )
        self.done = self._read(run) if resume else {}
        # Rewritten whole and then swapped in, so a torn last line or crashed item goes, and nothing else.
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [{"run": run}, *self.done.values()]))
        os.replace(tmp, path)
        if self.done:
            log.info("resuming from %s: %d items already answered", path, len(self.done))

    def _read(self, run: dict) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            recorded = json.loads(lines[0])["run"] if lines else None
        except (json.JSONDecodeError, KeyError, TypeError):
            recorded = None
        if not isinstance(recorded, dict):
            raise ResumeRefused(f"{self.path} is not an eval journal: delete it or choose another --out")
        if recorded != run:
            changed = sorted(k for k in run.keys() | recorded.keys() if run.get(k) != recorded.get(k))
            raise ResumeRefused(
                f"{self.path} is from another run ({', '.join(changed)} changed): its answers would not be this "
                "run's; drop --resume and delete it to start over"
            )
        done = {}
        for line in lines[1:]:
            try:
                result = json.loads(line)
            except json.JSONDecodeError:  # the line being written when the run stopped
                continue
            if isinstance(result, dict) and "id" in result and "crashed" not in result:  # a crash is answered again
                done[result["id"]] = result
        return done

    def add(self, result: dict) -> None:
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(result, ensure_ascii=False) + "\n")
