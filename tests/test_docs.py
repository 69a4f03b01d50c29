"""The docs stay true: the settings page matches Settings, benchmark tables match their JSON, reliability.md
names tests that exist, the README stays short and links only real pages."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from assistant.settings import settings_page

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))

# benchmarks/ is not installed; its renderer is loaded from its file, as the CI scripts are.
_spec = importlib.util.spec_from_file_location("benchmark_tables", ROOT / "benchmarks" / "tables.py")
assert _spec and _spec.loader
tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tables)


def test_configuration_page_is_generated_from_settings():
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == settings_page(), (
        "docs/configuration.md differs from Settings; regenerate it: "
        "python -m assistant.settings > docs/configuration.md"
    )


def test_benchmark_tables_and_figures_are_generated_from_the_results():
    stale = tables.drift()
    assert not stale, f"regions differ from benchmarks/results/*.json; run python -m benchmarks.tables: {stale}"


def test_every_benchmark_table_name_in_the_docs_is_one_the_renderer_knows():
    # A misspelt region would otherwise be a KeyError only when rendering, not a named failure.
    names = {m["name"] for page in tables.pages() for m in tables.TABLE.finditer(page.read_text(encoding="utf-8"))}
    assert names and names <= set(tables.TABLES), names - set(tables.TABLES)


def test_a_figure_typed_over_is_drift():
    text = "<!-- figure: verification | after.prefix_tokens | , -->1,400<!-- /figure -->"
    assert tables.render(text) != text and "1,400" not in tables.render(text)


RELIABILITY = ROOT / "docs" / "reliability.md"
TEST_REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def _test_functions(path: Path) -> set[str]:
    """Names pytest collects as tests: module-level ``test_*`` functions and those of ``Test*`` classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    scopes = [tree.body] + [c.body for c in tree.body if isinstance(c, ast.ClassDef) and c.name.startswith("Test")]
    return {
        n.name
        for body in scopes
        for n in body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test_")
    }


def _points(text: str) -> list[str]:
    """The page's bullet points, each up to the next point or blank line, outside the section of untested settings."""
    tested = text.split("\n## Set in code, not proven by a test", 1)[0]
    return [p.split("\n\n", 1)[0] for p in re.split(r"^- ", tested, flags=re.MULTILINE)[1:]]


def test_every_test_reliability_md_names_exists():
    text = RELIABILITY.read_text(encoding="utf-8")
    references = TEST_REFERENCE.findall(text)
    missing = [f"{f}::{t}" for f, t in references if not (ROOT / f).exists() or t not in _test_functions(ROOT / f)]
    assert references and not missing, f"docs/reliability.md names tests that do not exist: {missing}"


def test_every_reliability_point_names_a_test():
    unproven = [
        p.split("\n", 1)[0] for p in _points(RELIABILITY.read_text(encoding="utf-8")) if not TEST_REFERENCE.search(p)
    ]
    assert not unproven, (
        f"docs/reliability.md points without a test (name one, or move them to the last section): {unproven}"
    )


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail into docs/"


def test_readme_links_the_docs_pages():
    linked = {t.split("#", 1)[0] for t in _links(README)}
    assert {f"docs/{p.name}" for p in PAGES} <= linked


def _links(page: Path) -> list[str]:
    """Relative link and image targets, such as docs/x.md#part or screenshot.png; web addresses left out."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:", t)]


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_every_local_link_resolves(page: Path):
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in _anchors(file)):
            broken.append(target)
    assert not broken, f"{page.name} links to missing files or headings: {broken}"


def test_readme_keeps_the_test_command_ci_runs():
    # .ci/run runs "the README's test command"; the two must name the same install and test steps.
    readme, ci = README.read_text(encoding="utf-8"), (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -e '.[test]' && pytest" in readme
    assert "pip install -e '.[test]'" in ci and re.search(r"^pytest$", ci, re.MULTILINE)
