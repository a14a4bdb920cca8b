"""Tier 4: the voting page against WCAG 2.2 AA, in Debian's Chromium.

axe-core (from npm, see ``tasks.py``) audits every question type in every state a
phone can be in, in light and dark mode. Other tests measure what axe cannot
judge alone: focus hidden behind the sticky bar, border contrast, what screen
readers are told when the chair moves on, and where the focus lands.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from browser_helpers import AXE, CHROMIUM, CHROMIUM_ARGS, PHONE, Chair, PageRecorder, axe_violations
from clients import open_presenter
from livepoll import deck as deck_module
from livepoll.server.app import LivepollServer, ServerConfig, running_server

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)  # generous: the browser and the server share 2 cores

DECK = """
title = "Accessibility deck"

[[questions]]
id = "single"
type = "single"
prompt = "Is your organisation running a transformation programme?"
options = ["Yes", "No", "Not sure"]

[[questions]]
id = "multi"
type = "multi"
prompt = "Which of these hold your organisation back?"
options = ["Legacy systems", "Culture", "Skills", "Budget"]
max_choices = 2

[[questions]]
id = "scale"
type = "scale"
prompt = "How ready is your team for AI?"
min = 1
max = 5
labels = ["Not at all", "Fully ready"]
results = "live"

[[questions]]
id = "number"
type = "number"
prompt = "What share of your services can people complete online?"
unit = "%"
min = 0
max = 100
results = "live"

[[questions]]
id = "cloud"
type = "text"
prompt = "One word for your organisation's culture?"
max_length = 20
results = "live"

[[questions]]
id = "wall"
type = "text"
prompt = "What should we do next?"
display = "wall"
results = "live"

[[questions]]
id = "ranking"
type = "ranking"
prompt = "Rank these priorities for next year"
options = ["Skills", "Budget", "Culture", "Data"]
results = "live"

[[questions]]
id = "qa"
type = "qa"
prompt = "Questions for the panel"

[[questions]]
id = "moderated"
type = "qa"
prompt = "Questions for the chair, who reads them first"
moderated = true

[[questions]]
id = "quiz"
type = "quiz"
prompt = "How long does it take to set up a business in Estonia?"
options = ["18 minutes", "3 days", "2 weeks"]
correct = "18 minutes"
time_limit = 120
results = "live"
"""
PROMPTS = {
    "single": "Is your organisation running a transformation programme?",
    "multi": "Which of these hold your organisation back?",
    "scale": "How ready is your team for AI?",
    "number": "What share of your services can people complete online?",
    "cloud": "One word for your organisation's culture?",
    "wall": "What should we do next?",
    "ranking": "Rank these priorities for next year",
    "qa": "Questions for the panel",
    "moderated": "Questions for the chair, who reads them first",
    "quiz": "How long does it take to set up a business in Estonia?",
}
ORDER = list(PROMPTS)
SCHEMES = ["light", "dark"]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium with axe-core at hand; skipped without them (failed under CI)."""
    for needed, install in ((CHROMIUM, "apt-get install chromium"), (AXE, "python3 tasks.py test")):
        if not needed.exists():
            message = f"{needed} is not installed ({install})"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    playwright = await async_playwright().start()
    try:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()
    finally:
        await playwright.stop()


async def new_phone(
    browser: Browser, recorder: PageRecorder, scheme: str = "light", **options: object
) -> tuple[BrowserContext, Page]:
    """A phone-sized page in ``scheme``; its CSP is bypassed only so axe can be injected."""
    settings = {**PHONE, **options}
    context = await browser.new_context(**settings, color_scheme=scheme, bypass_csp=True)  # type: ignore[arg-type]
    page = await context.new_page()
    page.set_default_timeout(10_000)
    recorder.attach(page)
    return context, page


@pytest.fixture
async def deck_server(tmp_path: Path) -> AsyncIterator[LivepollServer]:
    """A real server on a deck with every question type."""
    config = ServerConfig(
        deck=deck_module.from_text(DECK, "a11y.toml"),
        database=tmp_path / "a11y.db",
        host="127.0.0.1",
        port=0,
    )
    async with running_server(config) as server:
        yield server


@pytest.fixture
async def deck_chair(deck_server: LivepollServer) -> AsyncIterator[Chair]:
    """The chair of the every-type deck."""
    connection = await open_presenter(deck_server)
    yield Chair(connection)
    await connection.close()


async def go(page: Page, chair: Chair, name: str) -> None:
    """The chair moves to question ``name`` and opens it; the page shows its prompt."""
    await chair.goto(ORDER.index(name))
    await chair.press("open")
    await chair.wait_for(lambda state: state["status"] == "open")
    await expect(page.locator("#prompt")).to_have_text(PROMPTS[name])


async def submit(page: Page) -> None:
    """Press the submit button."""
    await page.locator("#submit").click()


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_axe_finds_nothing_in_any_state_of_any_question_type(
    browser: Browser, deck_server: LivepollServer, deck_chair: Chair, scheme: str
) -> None:
    """Waiting, open, in error, answered, closed, with results, reconnecting: 0 violations."""
    recorder = PageRecorder()
    context, page = await new_phone(browser, recorder, scheme)
    found: list[str] = []
    await page.goto(deck_server.base_url)
    await expect(page.locator("#waiting")).to_be_visible()
    await expect(page.locator("#deck")).to_have_text("Accessibility deck")
    found += await axe_violations(page, "waiting")

    await go(page, deck_chair, "single")
    found += await axe_violations(page, "single open")
    await submit(page)
    await expect(page.locator("#error")).to_contain_text("Choose an option")
    found += await axe_violations(page, "single error")
    await page.get_by_role("radio", name="No", exact=True).check()
    await submit(page)
    await expect(page.locator("#status")).to_contain_text("saved")
    found += await axe_violations(page, "single answered")
    await context.set_offline(True)
    await expect(page.locator("#conn")).to_have_text("Reconnecting…")
    found += await axe_violations(page, "reconnecting")
    await context.set_offline(False)
    await expect(page.locator("#conn")).to_be_empty()
    await deck_chair.press("toggle_results")
    await expect(page.locator("#results")).to_be_visible()
    await deck_chair.press("close")
    await expect(page.locator("#submit")).to_be_disabled()
    found += await axe_violations(page, "single closed with results")

    await go(page, deck_chair, "multi")
    await page.get_by_role("checkbox", name="Culture").check()
    await page.get_by_role("checkbox", name="Skills").check()
    found += await axe_violations(page, "multi at its limit")

    await go(page, deck_chair, "scale")
    found += await axe_violations(page, "scale open")
    await page.locator(".pt").nth(3).click()
    await submit(page)
    await expect(page.locator("#results")).to_be_visible()
    found += await axe_violations(page, "scale answered with results")

    await go(page, deck_chair, "number")
    await page.locator("#answer").fill("250")
    await submit(page)
    await expect(page.locator("#error")).to_contain_text("highest")
    found += await axe_violations(page, "number error")
    await page.locator("#answer").fill("40")
    await submit(page)
    await expect(page.locator("#results")).to_be_visible()
    found += await axe_violations(page, "number answered with results")

    for name, answer in (("cloud", "Open"), ("wall", "Share data")):
        await go(page, deck_chair, name)
        found += await axe_violations(page, f"{name} open")
        await page.locator("#answer").fill(answer)
        await submit(page)
        await expect(page.locator("#results")).to_be_visible()
        found += await axe_violations(page, f"{name} answered with results")

    await go(page, deck_chair, "ranking")
    await page.get_by_role("button", name="Move Budget up").click()
    found += await axe_violations(page, "ranking moved")
    await submit(page)
    await expect(page.locator("#results")).to_be_visible()
    found += await axe_violations(page, "ranking answered with results")

    for name in ("qa", "moderated"):
        await go(page, deck_chair, name)
        found += await axe_violations(page, f"{name} empty")
        await page.locator("#answer").fill("When is lunch?")
        await submit(page)
        await expect(page.locator(".item")).to_have_count(1)
        found += await axe_violations(page, f"{name} with a question")

    await go(page, deck_chair, "quiz")
    await expect(page.locator("#nick")).to_be_visible()
    found += await axe_violations(page, "quiz asking a nickname")
    await page.locator("#nickSkip").click()
    await page.get_by_role("radio", name="3 days").check()
    await submit(page)
    await expect(page.locator("#status")).to_contain_text("saved")
    await deck_chair.press("close")
    await expect(page.locator("#status")).to_contain_text("The right answer")
    found += await axe_violations(page, "quiz closed, wrong")

    await context.close()
    assert found == []
    assert recorder.page_errors == []


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_axe_finds_nothing_on_the_join_form(
    browser: Browser, tmp_path: Path, scheme: str
) -> None:
    """The room code form, asked for and after a wrong code: 0 violations."""
    config = ServerConfig(
        deck=deck_module.from_text(DECK, "a11y.toml"),
        database=tmp_path / "join.db",
        host="127.0.0.1",
        port=0,
        join_mode="code",
    )
    recorder = PageRecorder()
    async with running_server(config) as server:
        context, page = await new_phone(browser, recorder, scheme)
        await page.goto(server.base_url)
        field = page.get_by_role("textbox", name="Room code")
        await expect(field).to_be_focused()
        found = await axe_violations(page, "join asked")
        await field.fill("0000")
        await page.get_by_role("button", name="Join").click()
        await expect(field).to_have_attribute("aria-invalid", "true")
        found += await axe_violations(page, "join wrong code")
        await context.close()
    assert found == []
