"""All configuration in one typed object.

Values come from ``ESSAY_ASSISTANT_*`` environment variables; the CLI
overrides them with flags. Nothing else in the package reads the
environment for settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from assistant.index.chroma import Location
    from assistant.index.indexing import Limits

APP_NAME = "essay-assistant"
LOCAL_MODEL = "local"


class Settings(BaseSettings):
    # hide_input_in_errors: a malformed ESSAY_ASSISTANT_AUTH must not be echoed in the error.
    model_config = SettingsConfigDict(
        env_prefix="ESSAY_ASSISTANT_", extra="ignore", validate_assignment=True, hide_input_in_errors=True
    )

    # Where things live.
    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)),
        description="Per-user data directory (~/.local/share/essay-assistant on Linux): the embedded Chroma store "
        "(DATA_DIR/chroma), feedback.jsonl and server.json.",
    )
    cache_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_cache_dir(APP_NAME)),
        description="Per-user cache directory (~/.cache/essay-assistant on Linux): the assembled local model file "
        "and the saved prompt prefix (prompt-cache/).",
    )

    # Vector store.
    chroma_path: Path | None = Field(None, description="Embedded Chroma directory (default: DATA_DIR/chroma).")
    chroma_host: str | None = Field(
        None,
        description="Chroma server host; set it to use a server (chromadb.HttpClient) instead of the embedded store.",
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    collection: str = Field(
        "essays",
        min_length=3,
        max_length=48,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$",
        description="Chroma collection name (its generations add a 14-character suffix within Chroma's 63).",
    )

    # Models.
    model: str = Field(
        LOCAL_MODEL,
        description="'local' (bundled Qwen2.5-Coder-1.5B), a path to a .gguf file, or a LangChain 'provider:model' "
        "such as 'openai:gpt-4o-mini' (needs the [openai], [ollama] or [anthropic] extra).",
    )
    base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible server for provider models (vLLM, llama.cpp, Ollama)."
    )
    embedding: str = Field(
        "minilm",
        description="'minilm' (bundled all-MiniLM-L6-v2 int8) or a LangChain 'provider:model' "
        "such as 'openai:text-embedding-3-small'.",
    )
    request_timeout: float = Field(60.0, gt=0, description="Seconds to wait for a remote model before giving up.")
    max_retries: int = Field(2, ge=0, le=10, description="Retries, with backoff, when a remote model fails to answer.")
    embedding_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible embeddings server.")
    temperature: float = Field(
        0.0, ge=0.0, le=2.0, description="Sampling temperature of the chat model; 0 always picks the likeliest token."
    )
    max_answer_tokens: int = Field(320, ge=16, le=4096, description="Upper bound on an answer's length in tokens.")
    n_ctx: int = Field(4096, ge=512, description="Context window of the local model per slot, in tokens.")
    n_threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads the local model decodes with (default: all cores). "
        "On a busy machine fewer can be faster.",
    )
    n_threads_batch: int | None = Field(
        None, ge=1, description="CPU threads the local model reads a prompt with (default: all cores)."
    )
    slots: int = Field(
        4,
        ge=1,
        le=32,
        description="Answers the local model generates at once (llama.cpp server slots, batched together); "
        "the web UI serves this many users at a time and queues the rest. "
        "Each slot holds N_CTX tokens of KV cache (about 115 MB at 4096).",
    )
    answer_cache: int = Field(
        256, ge=0, description="First-turn answers kept in memory for a repeated question (0 turns the cache off)."
    )
    point: bool = Field(
        True,
        description="After an answer, ask the model which essay sentences answer the question, and quote the "
        "relevant ones the answer left out: more complete answers, for a second model call (about 2.5 s on two cores).",
    )

    # Chunking and retrieval.
    chunk_size: int = Field(800, ge=100, le=8000, description="Target chunk length in characters.")
    chunk_overlap: int = Field(
        150, ge=0, description="Overlap between neighbouring chunks in characters (less than CHUNK_SIZE)."
    )
    k: int = Field(
        4, ge=1, le=50, description="Passages to put in the prompt when the corpus exceeds the context budget."
    )
    context_budget: int = Field(
        2000,
        ge=0,
        description="Token budget for the passages; a corpus that fits is given whole, so its prompt prefix is cached.",
    )
    history_turns: int = Field(6, ge=0, le=50, description="Most recent chat messages kept for follow-ups.")
    max_question_chars: int = Field(2000, ge=10, description="Longest question accepted, in characters.")
    max_file_mb: float = Field(
        20.0,
        gt=0,
        description="Largest file indexed, in MB; bigger files are skipped with a reason instead of filling memory.",
    )

    # Server login.
    auth: SecretStr | None = Field(
        None,
        description="USER:PASS login: required by `serve` (UI and JSON API), and sent by `ask`, `chat` "
        "and Assistant.connect to a running server.",
    )

    @field_validator("auth")
    @classmethod
    def _user_and_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            user, sep, password = value.get_secret_value().partition(":")
            if not (user and sep and password):
                raise ValueError("must look like USER:PASS")
        return value

    @property
    def login(self) -> tuple[str, str] | None:
        """``auth`` as (user, password), or None."""
        if self.auth is None:
            return None
        user, _, password = self.auth.get_secret_value().partition(":")
        return user, password

    @field_validator("model", "embedding")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        return self

    @property
    def resolved_chroma_path(self) -> Path:
        return self.chroma_path or self.data_dir / "chroma"

    @property
    def store_location(self) -> Location:
        from assistant.index.chroma import Location  # chromadb loads only when a store is opened

        return Location(self.collection, self.resolved_chroma_path, self.chroma_host, self.chroma_port)

    @property
    def limits(self) -> Limits:
        from assistant.index.indexing import Limits

        return Limits(int(self.max_file_mb * 1024 * 1024), self.chunk_size, self.chunk_overlap)


_PAGE_HEAD = """\
# Configuration

<!-- Generated from assistant/settings.py by `python -m assistant.settings > docs/configuration.md`.
     Do not edit: tests/test_docs.py fails when this page and Settings disagree. -->

One typed object, `assistant.Settings`, read from `ESSAY_ASSISTANT_*` environment variables. The commands'
flags override them (`essay-assistant ask --help` lists the flags, such as `--model` and `--k`; `serve --auth`
sets the login). From Python: `Assistant(Settings(k=6))`.

"""

_PAGE_TAIL = """
Changing the chunking changes chunk ids; run `essay-assistant index` again (stale chunks are replaced).
A collection remembers which embedding built it and refuses another one, so vectors never mix silently.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(field) -> str:
    if field.default_factory is not None:
        return "per user (see meaning)"
    if field.default is None:
        return "unset"
    return f"`{field.default}`"


def _limits(field) -> str:
    """The validation bounds, so the table says what a value may be as well as what it does."""
    words = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "min_length": "length >=", "max_length": "length <="}
    parts = []
    for rule in field.metadata:
        for name, word in words.items():
            if getattr(rule, name, None) is not None:
                parts.append(f"{word} {getattr(rule, name)}")
        if getattr(rule, "pattern", None):
            parts.append(f"matches `{rule.pattern}`")
    return ", ".join(parts)


def settings_table() -> str:
    """A Markdown table of every setting, rendered from the fields themselves so the docs cannot drift."""
    prefix = Settings.model_config["env_prefix"]
    rows = ["| environment variable | default | allowed | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(
            f"| `{prefix}{name.upper()}` | {_cell(_default(field))} | {_cell(_limits(field))} "
            f"| {_cell(field.description or '')} |"
        )
    return "\n".join(rows) + "\n"


def settings_page() -> str:
    """The whole of docs/configuration.md."""
    return _PAGE_HEAD + settings_table() + _PAGE_TAIL


if __name__ == "__main__":
    print(settings_page(), end="")
