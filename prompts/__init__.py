"""Load the prompt files from ``prompts/`` into LangChain templates.

Prompts are data, edited and reviewed as text, so none is buried in code.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder


def read_prompt(name: str, directory: Path | None = None) -> str:
    if directory is not None:
        return (Path(directory) / f"{name}.md").read_text(encoding="utf-8").strip()
    return resources.files("assistant.prompts").joinpath(f"{name}.md").read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class Prompts:
    answer: ChatPromptTemplate
    point: ChatPromptTemplate  # after the answer: which numbered sentences answer the question
    condense: ChatPromptTemplate
    translate: ChatPromptTemplate  # a question in another language than the essay's, into the essay's
    declined: str  # what the user sees when the essay does not support an answer
    off_topic: str  # what the user sees when the question is not about the essay
    quoted: str  # the essay's own words shown for a paraphrase that could not be confirmed; fills {quotes}
    answered_in: str  # opens an answer to a question translated into the essay's language; fills {language}

    @classmethod
    def load(cls, directory: Path | None = None) -> Prompts:
        answer, point = (
            ChatPromptTemplate.from_messages(
                [
                    ("system", read_prompt("answer_system", directory)),  # one system prompt: one cached prefix
                    MessagesPlaceholder("history"),
                    ("human", read_prompt(user, directory)),
                ]
            )
            for user in ("answer_user", "point_user")
        )
        condense, translate = (
            ChatPromptTemplate.from_messages(
                [
                    ("system", read_prompt(f"{name}_system", directory)),
                    ("human", read_prompt(f"{name}_user", directory)),
                ]
            )
            for name in ("condense", "translate")
        )
        return cls(
            answer=answer,
            point=point,
            condense=condense,
            translate=translate,
            declined=read_prompt("declined", directory),
            off_topic=read_prompt("off_topic", directory),
            quoted=read_prompt("quoted", directory),
            answered_in=read_prompt("answered_in", directory),
        )
