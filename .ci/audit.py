"""Known vulnerabilities in the installed dependencies, with pip-audit, reported in CI.

    python .ci/audit.py                 # run pip-audit over this environment
    python .ci/audit.py --report F.json # apply the policy to a saved `pip-audit -f json` report

Policy: exit 1 only for a vulnerability in one of our direct dependencies
(pyproject.toml) that has a fixed version to move to; everything else is
printed and passes, since there is nothing to do about it yet. If the
vulnerability service cannot be reached, say so and pass: an outage of a
third-party service must not block a change.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_dependencies(pyproject: Path = ROOT / "pyproject.toml") -> set[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    specs = project["dependencies"] + [s for extra in project.get("optional-dependencies", {}).values() for s in extra]
    return {canonical(re.match(r"[A-Za-z0-9._-]+", s).group()) for s in specs} - {"essay-assistant"}


def judge(report: dict, direct: set[str]) -> tuple[list[str], list[str], int]:
    """(blocking findings, other findings, packages audited)."""
    blocking, other, audited = [], [], 0
    for dep in report["dependencies"]:
        if "skip_reason" in dep:
            continue
        audited += 1
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions") or []) or "none yet"
            line = f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixes})"
            (blocking if canonical(dep["name"]) in direct and vuln.get("fix_versions") else other).append(line)
    return blocking, other, audited


def run_pip_audit() -> dict | None:
    cmd = [sys.executable, "-m", "pip_audit", "--local", "--format", "json", "--progress-spinner", "off"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return None
    try:
        return json.loads(out.stdout)  # exit code 1 with a report just means vulnerabilities were found
    except json.JSONDecodeError:
        print(
            out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "pip-audit printed no report",
            file=sys.stderr,
        )
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="a saved `pip-audit --format json` report instead of a fresh run")
    args = parser.parse_args()
    report = json.loads(args.report.read_text(encoding="utf-8")) if args.report else run_pip_audit()
    if report is None:
        print("pip-audit: the vulnerability service could not be reached; NOT failing CI for that. Run it again later.")
        return 0
    blocking, other, audited = judge(report, direct_dependencies())
    skipped = len(report["dependencies"]) - audited
    print(f"pip-audit: {audited} packages audited, {skipped} skipped (not on PyPI, or PyPI did not answer for them)")
    if audited == 0:
        print("pip-audit: nothing could be audited (is PyPI's JSON API reachable?); NOT failing CI for that.")
    for line in other:
        print(f"  known vulnerability, no action possible or not a direct dependency: {line}")
    for line in blocking:
        print(f"  FIX NEEDED in a direct dependency: {line}")
    return 1 if blocking else 0


if __name__ == "__main__":
    sys.exit(main())
