"""Regression evals on a corpus of one's own, with the real model: the CLI, `pytest -m eval`, a judge, drafts."""

import json
import os
import subprocess
import sys
from pathlib import Path

from assistant.index.documents import default_essay_path, load_document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


def _eval(tmp_path: Path, *flags: str, env: dict | None = None) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "assistant", "eval", "--dataset", str(FIXTURES / "own-corpus.jsonl")]
    args += ["--documents", str(FIXTURES / "own-corpus"), "--out", str(tmp_path / "reports"), *flags]
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=1800,
        env=os.environ | {"ESSAY_ASSISTANT_DATA_DIR": str(tmp_path)} | (env or {}),
    )


def test_the_cli_and_pytest_gate_a_users_own_corpus_and_catch_a_regression(tmp_path):
    baseline = tmp_path / "mine-baseline.json"
    made = _eval(tmp_path, "--baseline", str(baseline), "--update-baseline")
    assert made.returncode == 0, made.stderr[-2000:]
    report = json.loads((tmp_path / "reports" / "eval.json").read_text(encoding="utf-8"))
    assert [d["id"] for d in report["meta"]["documents"]] == ["harbor-ferry", "river-bridge"]
    assert report["aggregate"]["passed"] >= 6, (tmp_path / "reports" / "eval.md").read_text(encoding="utf-8")

    gated = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-m",
            "eval",
            str(ROOT / "tests" / "integration" / "test_eval_gate.py"),
            "--eval-documents",
            str(FIXTURES / "own-corpus"),
            "--eval-dataset",
            str(FIXTURES / "own-corpus.jsonl"),
            "--eval-baseline",
            str(baseline),
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=ROOT,
    )
    assert gated.returncode == 0, gated.stdout[-3000:]

    # Answers cut to 16 tokens lose their facts: the gate must fail on the user's own required items.
    regressed = _eval(tmp_path, "--baseline", str(baseline), "--check", env={"ESSAY_ASSISTANT_MAX_ANSWER_TOKENS": "16"})
    assert regressed.returncode == 1, regressed.stdout[-2000:] + regressed.stderr[-2000:]
    assert "REGRESSION" in regressed.stderr


def test_a_judge_on_an_openai_compatible_server_grades_the_run(tmp_path, llama_server):
    judged = _eval(
        tmp_path,
        "--limit",
        "3",
        "--judge",
        "openai:qwen",
        "--judge-base-url",
        llama_server,
        env={"OPENAI_API_KEY": "not-needed-locally"},
    )
    assert judged.returncode == 0, judged.stderr[-2000:]
    report = json.loads((tmp_path / "reports" / "eval.json").read_text(encoding="utf-8"))
    assert report["meta"]["judge"].startswith("openai:qwen at http://127.0.0.1:")
    assert report["aggregate"]["judged_correct"] is not None
    assert all("judged" in r for r in report["items"])


def test_a_judge_that_is_down_fails_before_the_run_with_a_clear_message(tmp_path):
    down = _eval(
        tmp_path,
        "--judge",
        "openai:qwen",
        "--judge-base-url",
        "http://127.0.0.1:9/v1",
        env={
            "OPENAI_API_KEY": "sk-never-shown-789",
            "ESSAY_ASSISTANT_MAX_RETRIES": "0",
            "ESSAY_ASSISTANT_REQUEST_TIMEOUT": "5",
        },
    )
    assert down.returncode == 2
    assert "error: the model server at http://127.0.0.1:9/v1 did not answer" in down.stderr, down.stderr
    assert "Traceback" not in down.stderr and "sk-never-shown-789" not in down.stderr + down.stdout
    assert not (tmp_path / "reports").exists(), "refused before answering anything"


def test_drafts_from_the_bundled_essay_quote_it_verbatim(tmp_path):
    out = tmp_path / "draft.jsonl"
    draft = ["draft", str(default_essay_path()), "--out", str(out), "--count", "4"]
    made = subprocess.run(
        [sys.executable, "-m", "assistant", "eval", *draft],
        capture_output=True,
        text=True,
        timeout=1800,
        env=os.environ | {"ESSAY_ASSISTANT_DATA_DIR": str(tmp_path)},
    )
    assert made.returncode == 0, made.stderr[-2000:]
    assert "valid as written" in made.stdout and "human read" in made.stdout
    essay = load_document(default_essay_path()).text
    drafts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert drafts and all(d["draft"] for d in drafts)
    assert all(q in essay for d in drafts for q in d["supporting_quotes"])
    print(made.stdout)
