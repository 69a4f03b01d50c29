"""A real browser (Debian's headless Chromium, driven by Playwright) asks a question in the UI."""

import json
import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def test_question_answer_sources_and_highlight(browser, app_url, bot):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app_url, wait_until="load")  # not "networkidle": Gradio keeps its queue connection open
    page.get_by_text("Ready.", exact=False).wait_for(timeout=300_000)

    box = page.get_by_placeholder("Ask about the essay...")
    box.fill("Where have Trump and Kim met?")
    box.press("Enter")

    # The last streamed update carries the sources and the highlighted essay.
    page.locator("#essay mark.cited").first.wait_for(timeout=300_000)
    chat = page.locator("#chatbot")
    assert "Singapore" in chat.inner_text()

    page.get_by_text("Sources").first.click()  # collapsed text is not visible until opened
    passage = chat.get_by_text("in Singapore, Hanoi, and in the Demilitarized Zone", exact=False).first
    passage.wait_for(state="visible", timeout=10_000)

    highlighted = page.locator("#essay mark.cited").all_inner_texts()
    sentence = "The president has met with Kim three times already, in Singapore, Hanoi, and in the Demilitarized Zone"
    assert any(h.startswith(sentence) and h.endswith("two Koreas.") for h in highlighted), highlighted  # the sentence
    assert page.locator("#essay span.passage").count() > 0  # inside its lightly shaded passage

    chat.locator("a.cite-link").first.click()  # a citation brings its passage into view
    flashed = page.locator("#essay mark.cited.flash").first
    flashed.wait_for(timeout=10_000)
    expect(flashed).to_be_in_viewport(timeout=10_000)  # the smooth scroll has ended: the shot shows the sentence
    page.screenshot(path=str(ARTIFACTS / "ui.png"), full_page=True)

    # Thumbs up is appended to the feedback log with the answer and its sources.
    feedback = bot.settings.data_dir / "feedback.jsonl"
    before = feedback.read_text().count("\n") if feedback.exists() else 0
    chat.locator("button[aria-label='Like'], button[title='Like']").first.click()
    page.wait_for_function("() => true", timeout=1000)
    for _ in range(50):
        if feedback.exists() and feedback.read_text().count("\n") > before:
            break
        page.wait_for_timeout(200)
    entry = json.loads(feedback.read_text().splitlines()[-1])
    assert entry["liked"] is True and entry["question"] == "Where have Trump and Kim met?"
    assert "Singapore" in entry["answer"] and entry["sources"]

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(app_url, wait_until="load")
    phone.get_by_placeholder("Ask about the essay...").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no sideways scrolling
    phone.screenshot(path=str(ARTIFACTS / "ui-phone.png"), full_page=True)
