"""The README's Python example, run as a reader would: pasted into Python at the repository root after installing.

At the root, ``import assistant`` finds the checkout's ``assistant/`` folder before the installed package, so this
also checks that a checkout imports as the wheel does (issue 14, item 5).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from assistant.answer import is_decline

ROOT = Path(__file__).resolve().parents[2]


def readme_python_example() -> str:
    """The first ```python block of README.md that uses ``from assistant import Assistant``: the usage example."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"^```python\n(.*?)^```", readme, flags=re.MULTILINE | re.DOTALL):
        if re.search(r"^from assistant import Assistant\b", block, flags=re.MULTILINE):
            return block
    raise AssertionError("README.md has no ```python block with `from assistant import Assistant`")


def test_the_readme_python_example_answers_from_the_repository_root(tmp_path: Path):
    # A data dir of its own (a new user's: no index yet); the model cache is shared, as in real.py.
    env = os.environ | {"ESSAY_ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run(
        [sys.executable, "-c", readme_python_example()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    printed = [line for line in out.stdout.splitlines() if line.strip()]
    assert printed, f"the example printed nothing; stderr: {out.stderr[-3000:]}"
    # Real answers, each with its citation: a decline prints "I could not find that in this essay." with no [n].
    assert not any(is_decline(line) for line in printed), out.stdout
    assert re.search(r"\[\d+\]", out.stdout), out.stdout
