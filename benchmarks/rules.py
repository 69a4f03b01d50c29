"""Each verifier rule switched off in turn, replayed on the model's own text from one eval run.

    python -m benchmarks.rules eval-reports/eval.json      # the report of a full `essay-assistant eval`

The eval report keeps each item's raw model text (``raw``). Replaying it
through the assistant with a fake chat model that gives back that text
isolates the verifier: the same model output, only the rules differ. The
model stopped early where the opening sentences failed, so with a rule
off a replay sees no more text than the run did. Writes rules.json and
rules.md to --out (benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant import Settings
from assistant.evals.dataset import load_dataset
from assistant.evals.runner import run_eval
from assistant.index.embeddings import MiniLMEmbeddings
from assistant.prompts import read_prompt
from assistant.verification import MeaningVerifier, Options, Rule
from benchmarks.tables import rules_table

log = logging.getLogger("rules")


class Replay(GenericFakeChatModel):
    """Gives back each item's recorded replies: its translation when asked for one, its answer, then, when asked, the
    sentences it pointed at.

    A rule switched off may change whether the model is asked to point, so a
    pointing request is told apart by its prompt, never by its place in a
    shared sequence; so is a translation, asked before the item's answer.
    """

    replies: list[tuple[str, str, str]]  # (answer, pointing, translation) per item, in the order the items run
    marker: str  # a line only the pointing request holds
    translating: str  # the opening words of the translation request
    turn: int = -1

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        if messages[0].text.startswith(self.translating):
            reply = self.replies[self.turn + 1][2]
        else:
            pointing = self.marker in messages[-1].text
            self.turn += not pointing
            reply = self.replies[self.turn][1 if pointing else 0]
        self.messages = iter([AIMessage(reply or " ")])
        return super()._generate(messages, stop, run_manager, **kwargs)


def replay(report: dict, options: Options, embeddings: MiniLMEmbeddings) -> dict:
    by_id = {r["id"]: r for r in report["items"]}
    items = [i for i in load_dataset() if i.id in by_id]
    recorded = [by_id[i.id] for i in items]
    replies = [(r.get("raw", ""), r.get("raw_pointer", ""), r.get("standalone", "")) for r in recorded]
    translating = read_prompt("translate_system").split("{")[0]
    llm = Replay(
        messages=iter([]), replies=replies, marker=read_prompt("point_user").splitlines()[-1], translating=translating
    )
    return run_eval(
        items, Settings(), llm=llm, embeddings=embeddings, verifier=MeaningVerifier(embeddings, options), progress=False
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the JSON report of a full eval run")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    report = json.loads(args.report.read_text(encoding="utf-8"))
    embeddings = MiniLMEmbeddings()
    configs = {"all rules": Options()} | {f"without {r.value}": Options().without(r) for r in Rule}
    runs = {}
    for name, options in configs.items():
        log.warning("replaying with %s", name)
        runs[name] = replay(report, options, embeddings)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {name: {"options": r["meta"]["verifier"], "splits": r["splits"]} for name, r in runs.items()}
    (args.out / "rules.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    commit = report["meta"]["commit"]
    text = f"# Each rule off in turn\n\nReplayed on the raw model text of `{args.report.name}` ({commit}).\n\n"
    (args.out / "rules.md").write_text(text + rules_table(summary), encoding="utf-8")
    print(rules_table(summary))


if __name__ == "__main__":
    main()
