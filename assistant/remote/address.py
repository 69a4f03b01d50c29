"""The running server's address, published in the data directory so the CLI can use its model.

``serve`` writes ``DATA_DIR/server.json`` once it listens::

    {"url": "http://127.0.0.1:7860", "pid": 1234, "corpus_version": "…", "auth": false, "started": "…"}

and removes it on exit. A client uses it only while that process is alive
and answers ``/api/health`` as the same process. The file holds no
password: ``auth`` only says a login is needed, which clients take from
``ESSAY_ASSISTANT_AUTH`` (or ``Assistant.connect(auth=...)``). A password
written to disk would outlive the server in backups and synced folders;
the user who started the server already knows it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
ADDRESS_FILE = "server.json"
_HEALTH_TIMEOUT = 5.0


@dataclass(frozen=True)
class ServerAddress:
    url: str
    pid: int
    corpus_version: str
    auth: bool = False


def address_path(data_dir: Path) -> Path:
    return Path(data_dir) / ADDRESS_FILE


def local_url(host: str, port: int) -> str:
    """The URL a client on this machine uses for a server bound to ``host``."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def publish(data_dir: Path, address: ServerAddress) -> Path:
    """Write the address file atomically, readable by this user only."""
    path = address_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {**address.__dict__, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    fd, tmp = tempfile.mkstemp(prefix=".server-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(body, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def unpublish(data_dir: Path, pid: int | None = None) -> None:
    """Remove the address file if it still names this process (a later server may have replaced it)."""
    path = address_path(data_dir)
    current = read_address(path)
    if current is not None and current.pid == (pid or os.getpid()):
        path.unlink(missing_ok=True)


def read_address(path: Path) -> ServerAddress | None:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return ServerAddress(
            str(body["url"]), int(body["pid"]), str(body.get("corpus_version", "")), bool(body.get("auth"))
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.info("ignoring %s: unreadable (%s)", path, exc)
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


def find_server(data_dir: Path, auth: tuple[str, str] | None = None) -> ServerAddress | None:
    """The server published in ``data_dir`` if it is alive and answers as itself; None otherwise.

    Raises ``ServerError`` when it runs but refuses the login, so the user
    is told instead of silently loading a second model.
    """
    from assistant.remote.client import LoginRefused, RemoteAssistant, ServerError

    path = address_path(data_dir)
    address = read_address(path)
    if address is None:
        return None
    if not pid_alive(address.pid):
        log.info("ignoring %s: process %d is gone", path, address.pid)
        return None
    with RemoteAssistant(address.url, auth=auth, timeout=_HEALTH_TIMEOUT) as client:
        try:
            health = client.health()
        except LoginRefused:
            how = "refused the login in ESSAY_ASSISTANT_AUTH" if auth else "requires a login"
            raise LoginRefused(
                f"a server is running at {address.url} (process {address.pid}) and {how}: set "
                "ESSAY_ASSISTANT_AUTH=USER:PASS to the login given to serve --auth, "
                "or answer in this process with --local"
            ) from None
        except ServerError as exc:
            log.warning(
                "the server at %s (process %d) does not answer (%s); answering in this process",
                address.url,
                address.pid,
                exc,
            )
            return None
    if health.get("pid") != address.pid:
        log.info("ignoring %s: %s is now served by another process", path, address.url)
        return None
    return address
