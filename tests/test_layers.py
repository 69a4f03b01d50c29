"""The folders are the architecture: every import points down the flow, and the tree has no symlinks."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lowest first: document -> sentences -> store -> retriever -> chain -> check -> the ways in. A module may
# import its own layer and those below it. The remote client sits beside Assistant: both answer, and
# Assistant.connect hands out the remote one.
LAYERS = [
    ["assistant.errors", "assistant.index.text"],
    ["assistant.index"],
    ["assistant.prompts"],
    ["assistant.settings", "assistant.inputs", "assistant.models"],
    ["assistant.chain"],
    ["assistant.verification"],
    ["assistant.answer"],
    [
        "assistant.answer_cache",
        "assistant.turn",
        "assistant.assistant",
        "assistant.remote.client",
        "assistant.remote.address",
    ],
    ["assistant.evals"],
    ["assistant.remote", "assistant.ui", "assistant.cli", "assistant.__main__", "assistant"],
]


def layer(module: str) -> int:
    """The layer of the longest prefix that names ``module``'s package or module."""
    best = max(
        (prefix for group in LAYERS for prefix in group if module == prefix or module.startswith(prefix + ".")),
        key=len,
    )
    return next(i for i, group in enumerate(LAYERS) if best in group)


def modules() -> dict[str, Path]:
    """Every module of the package, by the name it installs as (the type check's own list)."""
    spec = importlib.util.spec_from_file_location("typecheck", ROOT / ".ci" / "typecheck.py")
    assert spec and spec.loader
    typecheck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(typecheck)
    return {source.module: Path(source.path) for source in typecheck.sources()}


def imports(path: Path) -> set[str]:
    """Every project module ``path`` imports, at the top or inside a function, type-only ones included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n == "assistant" or n.startswith("assistant.")}


def upward(found: dict[str, Path]) -> list[str]:
    return sorted(
        f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
        for module, path in found.items()
        for target in imports(path)
        if layer(target) > layer(module)
    )


def test_no_module_imports_a_layer_above_its_own():
    assert upward(modules()) == []


def test_an_upward_import_is_caught(tmp_path):
    """The check itself can fail: an index module that reads the settings is reported."""
    bad = tmp_path / "chroma.py"
    bad.write_text("from assistant.settings import Settings\n")
    assert upward({"assistant.index.chroma": bad}) == [
        "assistant.index.chroma (layer 1) imports assistant.settings (layer 3)"
    ]


def test_every_module_has_a_layer():
    found = modules()
    assert {"assistant.cli", "assistant.index.store", "assistant.evals.runner", "assistant.prompts"} <= set(found)
    for module in found:
        assert layer(module) >= 0


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_the_tree_has_no_symlinks():
    listed = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert [line.split("\t")[1] for line in listed.splitlines() if line.startswith("120000")] == []
