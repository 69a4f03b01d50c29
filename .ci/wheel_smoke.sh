#!/usr/bin/env bash
# The wheel as a user gets it: built from the checkout, installed alone into a fresh venv and used from
# outside the checkout, so a subpackage or data file missing from the wheel fails here. The editable
# install the tests use would hide it: it imports straight from the source tree.
#
# Usage: .ci/wheel_smoke.sh [PYTHON]   (default: python, the CI venv's, which has the dependencies)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Build from a copy of the files git knows: a stale build/ here could put files in the wheel
# that the package configuration no longer includes.
mkdir "$work/src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$work/src"
else
  tar --exclude=./.git --exclude=./build --exclude='*.egg-info' --exclude=./.venv -cf - . | tar -xf - -C "$work/src"
fi
"$python" -m pip wheel --quiet --no-deps -w "$work/dist" "$work/src"
wheel=$(ls "$work"/dist/essay_assistant-*.whl)

"$python" -m venv --without-pip "$work/venv"
"$python" -m pip --python "$work/venv/bin/python" install --quiet --no-deps "$wheel"

# The third-party dependencies come from the CI venv through PYTHONPATH. Its .pth files are not processed
# from there, so its editable install of this project stays invisible: only the wheel provides `assistant`.
deps=$("$python" -c 'import sysconfig; print(sysconfig.get_path("purelib") + ":" + sysconfig.get_path("platlib"))')
mkdir "$work/elsewhere"
cd "$work/elsewhere"
PYTHONPATH="$deps" "$work/venv/bin/python" - "$work/venv" <<'EOF'
import importlib
import json
import pkgutil
import sys
from pathlib import Path

import assistant

venv = Path(sys.argv[1]).resolve()
assert venv in Path(assistant.__file__).resolve().parents, f"assistant imported from {assistant.__file__}, not the wheel"

# Every module; __main__ would run the CLI.
names = [m.name for m in pkgutil.walk_packages(assistant.__path__, "assistant.") if not m.name.endswith("__main__")]
for name in names:
    module = importlib.import_module(name)
    assert venv in Path(module.__file__).resolve().parents, f"{name} imported from {module.__file__}"
for sub in ("index", "evals", "prompts", "models", "ui", "remote"):
    assert f"assistant.{sub}" in names, f"assistant.{sub} is not in the wheel"

from importlib import resources

from assistant.evals.dataset import load_dataset
from assistant.index.documents import default_essay_path, load_document
from assistant.prompts import Prompts

essay = load_document(default_essay_path())
assert "Kim" in essay.text, essay.text[:200]
prompts = Prompts.load()
assert prompts.declined and prompts.off_topic
items = load_dataset()
assert items, "the bundled eval dataset is empty"
baseline = json.loads(resources.files("assistant.evals").joinpath("data", "baseline.json").read_text(encoding="utf-8"))
assert set(baseline["items"]) == {item.id for item in items}, "the baseline and the dataset disagree"
print(f"ci: the wheel imports {len(names)} modules and finds the essay, prompts, {len(items)} eval items and baseline")
EOF
