"""mypy on the package as it installs: index/, evals/ and prompts/ are checked as assistant.index, assistant.evals
and assistant.prompts, the names pyproject.toml's package-dir gives them. Plain ``mypy`` cannot follow that
mapping (it reads no import hooks), so this hands it each file with its module name, and the settings in
[tool.mypy]."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from mypy import build
from mypy.errors import CompileError
from mypy.main import process_options
from mypy.modulefinder import BuildSource

ROOT = Path(__file__).resolve().parent.parent


def folder(package: str, mapping: dict[str, str]) -> Path:
    """Where setuptools finds ``package``: under the longest mapped prefix, else the same path from the root."""
    for prefix in sorted(mapping, key=len, reverse=True):
        if package == prefix or package.startswith(prefix + "."):
            return ROOT / mapping[prefix] / package[len(prefix) + 1 :].replace(".", "/")
    return ROOT / package.replace(".", "/")


def sources() -> list[BuildSource]:
    """Every module of the package, named as it installs."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = []
    for package in config["packages"]:
        for path in sorted(folder(package, config["package-dir"]).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found.append(BuildSource(str(path), name, None))
    return found


def main() -> int:
    _, options = process_options(["--config-file", str(ROOT / "pyproject.toml"), "-c", ""])
    files = sources()
    try:
        result = build.build(files, options)
    except CompileError as exc:
        print("\n".join(exc.messages))
        return 2
    print("\n".join(result.errors) if result.errors else f"mypy: no issues in {len(files)} files")
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
