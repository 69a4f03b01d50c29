"""The embedded model: llama.cpp's own server, run in this process by xllamacpp.

xllamacpp ships llama.cpp's C++ server as a prebuilt wheel, so installing
needs no compiler. The server runs ``slots`` sequences at once with
continuous batching; its decode loop runs on its own threads, outside the
GIL.

The assistant talks to it exactly as it talks to a remote llama-server or
vLLM: LangChain's ``ChatOpenAI`` over the OpenAI-compatible HTTP API. The
embedded and the scaled-out set-ups then differ only in the base URL. The
server listens on 127.0.0.1 only, on a port the OS picks, and asks for a
random API key made per process, so other local users cannot use it and no
traffic leaves the machine. Closing a streamed answer closes its HTTP
response; llama.cpp notices and frees the slot.

The essay prefix (the system prompt; its size is measured in docs/benchmarks.md) is read once: slot 0
reads it, its KV state is saved to a file in the cache directory, and every
other slot restores that file instead of reading the prefix again. A later
process restores the file straight away (see ``prompt_cache``).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from assistant.errors import EngineError
from assistant.models import prompt_cache

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DRAIN_SECONDS = 120  # longer than any one answer takes on two cores


@dataclass(frozen=True)
class EngineConfig:
    model_path: str
    n_ctx: int  # per slot
    slots: int
    n_threads: int
    n_threads_batch: int
    slot_dir: str  # where saved prompt prefixes live


def server_params(config: EngineConfig, api_key: str) -> Any:
    """llama.cpp server parameters: loopback only, a random port, an API key, ``slots`` slots of ``n_ctx`` tokens
    each."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = config.model_path
    params.hostnames = [LOOPBACK]
    params.port = 0  # the OS picks a free port
    params.api_keys = [api_key]
    params.n_parallel = config.slots
    params.n_ctx = config.n_ctx * config.slots  # the total; each slot gets n_ctx
    params.kv_unified = False  # a slot's context is its own: one long conversation cannot starve the others
    params.cpuparams.n_threads = config.n_threads
    params.cpuparams_batch.n_threads = config.n_threads_batch
    params.n_batch = 512
    # Measured on 2 cores (docs/benchmarks.md). llama.cpp repacks the weights for AVX2, which batched slots gain
    # from (13.5 against 12.5 answers/min); reading the file instead of mapping it keeps one copy, not two: 600 MB less.
    params.load_mode = xllamacpp.llama_load_mode.LLAMA_LOAD_MODE_NONE
    # Fitting the context to device memory (a trial load) and the warm-up decode cost 1 s at start, for nothing on CPU.
    params.fit_params = False
    params.warmup = False
    params.cache_prompt = True  # a slot keeps its KV cache and reuses the longest shared prefix
    params.cache_ram_mib = 0  # every prompt starts with the same prefix, which the slots hold already
    params.slot_save_path = str(Path(config.slot_dir)) + os.sep  # llama.cpp appends the file name as is
    params.ui = False
    params.endpoint_metrics = True
    params.timeout_read = params.timeout_write = 600
    params.verbosity = 3 if log.isEnabledFor(logging.DEBUG) else 0  # llama.cpp writes its log to stderr
    return params


class LocalEngine:
    """One llama.cpp server in this process; ``base_url`` and ``api_key`` reach its OpenAI-compatible API."""

    def __init__(self, config: EngineConfig) -> None:
        import xllamacpp

        self.config = config
        self.api_key = secrets.token_urlsafe(24)
        Path(config.slot_dir).mkdir(parents=True, exist_ok=True)
        try:
            self._server: Any = xllamacpp.Server(server_params(config, self.api_key))
        except RuntimeError as exc:
            raise EngineError(f"llama.cpp could not load {config.model_path} ({exc})") from None
        self.root_url = self._server.listening_address.rstrip("/")
        self.base_url = self.root_url + "/v1"
        self._http = httpx.Client(
            base_url=self.root_url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=httpx.Timeout(600, connect=10),
        )
        self._prefix_lock = threading.Lock()
        self._prefix: str | None = None  # the key of the prefix every slot holds
        log.info("llama.cpp server with %d slots on %s", config.slots, self.root_url)

    # Prompt prefix -------------------------------------------------------

    def cache_prefix(self, messages: list[dict]) -> str:
        """Make every slot start with these messages' KV state; returns memory, disk or computed.

        The state is read once, in slot 0, saved to a file and restored
        into the other slots; a later process restores the file. A file
        that does not restore is deleted and the prefix read again.
        """
        key = prompt_cache.prefix_key(self.config.model_path, self.config.n_ctx, self.config.slots, messages)
        with self._prefix_lock:
            if self._prefix == key:
                return "memory"
            name = prompt_cache.file_name(key)
            path = Path(self.config.slot_dir) / name
            source = "computed"
            if path.exists():
                if self._restore(0, name):
                    source = "disk"
                    os.utime(path)  # recently used: kept when older prefixes are pruned
                else:
                    log.warning("saved prompt prefix %s could not be restored; reading the prompt again", path)
                    path.unlink(missing_ok=True)
            if source == "computed":
                self._read_prefix(messages)
                self._save(0, name)
                prompt_cache.prune(Path(self.config.slot_dir))
            for slot in range(1, self.config.slots):
                if not self._restore(slot, name):
                    log.warning("slot %d could not restore the prompt prefix; it will read it itself", slot)
            self._prefix = key
            return source

    @functools.lru_cache(maxsize=256)  # noqa: B019  (one engine per process: the cache lives as long as it)
    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the model's own tokenizer (llama.cpp's /tokenize)."""
        return len(self._post("/tokenize", {"content": text})["tokens"])

    def _read_prefix(self, messages: list[dict]) -> None:
        body = {
            "messages": [*messages, {"role": "user", "content": "?"}],
            "max_tokens": 1,
            "temperature": 0.0,
            "id_slot": 0,
            "cache_prompt": True,
        }
        self._post("/v1/chat/completions", body)

    def _save(self, slot: int, name: str) -> None:
        try:
            self._post(f"/slots/{slot}", {"filename": name}, params={"action": "save"})
        except EngineError as exc:
            log.warning("could not save the prompt prefix: %s", exc)

    def _restore(self, slot: int, name: str) -> bool:
        try:
            self._post(f"/slots/{slot}", {"filename": name}, params={"action": "restore"})
            return True
        except EngineError:
            return False

    def _post(self, path: str, body: dict, params: dict | None = None) -> dict:
        try:
            response = self._http.post(path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise EngineError(f"the llama.cpp server did not answer {path} ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise EngineError(
                f"the llama.cpp server answered {path} with HTTP {response.status_code}: {response.text[:200]}"
            )
        return response.json()

    # Introspection (tests, benchmarks) ----------------------------------

    def slots(self) -> list[dict]:
        """llama.cpp's view of its slots: ``id``, ``is_processing`` and more."""
        return self._http.get("/slots").json()

    def close(self) -> None:
        """Let the requests in progress finish first: llama.cpp's server, stopped under a request, never returns."""
        deadline, waiting = time.monotonic() + DRAIN_SECONDS, self._requests()
        if waiting:
            log.info("stopping the model once the %d request(s) in progress finish", waiting)
        while waiting and time.monotonic() < deadline:
            time.sleep(0.5)
            waiting = self._requests()
        self._http.close()
        self._server = None  # the server's destructor stops its loop and frees the model

    def metrics(self) -> dict[str, float]:
        """llama.cpp's Prometheus counters and gauges by name (``llamacpp:tokens_predicted_total``, ...)."""
        lines = self._http.get("/metrics").text.splitlines()
        samples = (line.split() for line in lines if line and not line.startswith("#"))
        return {sample[0]: float(sample[1]) for sample in samples if len(sample) >= 2}

    def _requests(self) -> int:
        """Requests the server is running or has queued."""
        try:
            metrics = self.metrics()
        except httpx.HTTPError:
            return 0
        return int(metrics.get("llamacpp:requests_processing", 0) + metrics.get("llamacpp:requests_deferred", 0))


_engines: dict[EngineConfig, LocalEngine] = {}
_engines_lock = threading.Lock()


def shared_engine(config: EngineConfig) -> LocalEngine:
    """One server per process and configuration: each holds the weights and a KV cache per slot."""
    with _engines_lock:
        if config not in _engines:
            _engines[config] = LocalEngine(config)
        return _engines[config]


@atexit.register
def _close_all() -> None:
    """Stop the servers while the interpreter is intact."""
    with _engines_lock:
        for engine in _engines.values():
            engine.close()
        _engines.clear()
