"""Tier 4: the voting page against WCAG 2.2 AA, in Debian's Chromium.

axe-core (from npm, see ``tasks.py``) audits every question type in every state a
phone can be in, in light and dark mode. Other tests measure what axe cannot
judge alone: focus hidden behind the sticky bar, border contrast, what screen
readers are told when the chair moves on, and where the focus lands.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    WebSocketRoute,
    expect,
)

from browser_helpers import (
    PHONE,
    Chair,
    PageRecorder,
    axe_violations,
    chromium,
)
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

[[questions]]
id = "long"
type = "multi"
prompt = "Which of these services have you moved online this year?"
options = ["Council tax", "Parking permits", "Bin collections", "Planning", "Housing repairs",
  "School admissions", "Blue badges", "Licensing"]
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
    "long": "Which of these services have you moved online this year?",
}
ORDER = list(PROMPTS)
SCHEMES = ["light", "dark"]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium with axe-core at hand; skipped without them (failed under CI)."""
    async with chromium(axe=True) as launched:
        yield launched


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


FOCUS_BOX = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    window.seenStops = window.seenStops || [];
    const first = !window.seenStops.includes(e);
    if (first) window.seenStops.push(e);
    const box = e.getBoundingClientRect();
    const bar = document.querySelector(".bar");
    const cover = bar.contains(e) ? {top: 0, bottom: 0} : bar.getBoundingClientRect();
    const overlap = Math.max(0, Math.min(box.bottom, cover.bottom) - Math.max(box.top, cover.top));
    const name = e.id || e.getAttribute("aria-label") || (e.labels && e.labels[0] &&
        e.labels[0].textContent) || e.textContent;
    return {first, name: e.tagName + " " + name.trim().slice(0, 30), top: box.top,
        bottom: box.bottom, height: innerHeight, overlap};
}"""


async def hidden_tab_stops(page: Page, where: str) -> list[str]:
    """Tab from the question's heading to the end; each stop that is not fully in view."""
    await page.locator("#prompt").focus()
    await page.evaluate("() => { window.seenStops = []; window.scrollTo(0, 0); }")
    hidden = []
    for _ in range(40):
        await page.keyboard.press("Tab")
        stop = await page.evaluate(FOCUS_BOX)
        if stop is None or not stop["first"]:
            break
        # Less than a pixel's rounding is no harm.
        if stop["top"] < -1 or stop["bottom"] > stop["height"] + 1 or stop["overlap"] > 1:
            hidden.append(f"{where}: {stop}")
    return hidden


@pytest.mark.parametrize("height", [568, 256])
async def test_no_focused_control_is_hidden_behind_the_submit_bar(
    browser: Browser, deck_server: LivepollServer, deck_chair: Chair, height: int
) -> None:
    """At 320 px wide (568 px, and 256 px as at 400% zoom) each tab stop is fully in view."""
    recorder = PageRecorder()
    context, page = await new_phone(browser, recorder, viewport={"width": 320, "height": height})
    await page.goto(deck_server.base_url)
    hidden: list[str] = []
    for name in ("long", "single", "scale", "number", "ranking"):
        await go(page, deck_chair, name)
        hidden += await hidden_tab_stops(page, name)
    await go(page, deck_chair, "qa")
    for asked in ("When is lunch?", "Where are the slides?", "Who funds this?"):
        await page.locator("#answer").fill(asked)
        await submit(page)
        await expect(page.locator("#status")).to_contain_text("sent")
    await expect(page.locator(".item")).to_have_count(3)
    hidden += await hidden_tab_stops(page, "qa")
    await context.close()
    assert hidden == []


def luminance(rgb: str) -> float:
    """Relative luminance (WCAG 2) of a computed ``rgb(r, g, b)`` colour."""
    channels = [int(part) / 255 for part in rgb[rgb.index("(") + 1 : -1].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two computed colours."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


EDGE_COLOURS = """e => {
    const solid = n => {
        for (; n; n = n.parentElement) {
            const c = getComputedStyle(n).backgroundColor;
            if (!/rgba\\(.*, 0\\)$/.test(c) && c !== "transparent") return c;
        }
        return getComputedStyle(document.body).backgroundColor;
    };
    const edge = getComputedStyle(e).borderTopColor;
    return {edge, inside: solid(e), outside: solid(e.parentElement)};
}"""


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_edges_of_text_fields_scale_points_and_move_buttons_contrast_3_to_1(
    browser: Browser, deck_server: LivepollServer, deck_chair: Chair, scheme: str
) -> None:
    """1.4.11: each control's border is 3:1 against its own fill and the fill around it."""
    recorder = PageRecorder()
    context, page = await new_phone(browser, recorder, scheme)
    await page.goto(deck_server.base_url)
    weak = []
    for name, selector in (("number", "#answer"), ("scale", ".pt span"), ("ranking", ".mv")):
        await go(page, deck_chair, name)
        colours = await page.locator(selector).first.evaluate(EDGE_COLOURS)
        for side in ("inside", "outside"):
            ratio = contrast(colours["edge"], colours[side])
            if ratio < 3:
                weak.append(f"{scheme} {name} {side}: {colours} {ratio:.2f}")
    await context.close()
    assert weak == []


RECORD_CHANGES = """id => {
    window.changes = window.changes || {};
    const seen = window.changes[id] = [];
    const node = document.getElementById(id);
    new MutationObserver(() => seen.push(node.textContent)).observe(
        node, {childList: true, characterData: true, subtree: true});
}"""


async def test_chair_moves_are_announced_once_and_focus_goes_to_the_new_heading(
    browser: Browser, deck_server: LivepollServer, deck_chair: Chair
) -> None:
    """4.1.3: a polite region there from the start says each move once; focus follows it."""
    recorder = PageRecorder()
    context, page = await new_phone(browser, recorder)
    await page.goto(deck_server.base_url)
    say = page.locator("#say")
    await expect(say).to_have_attribute("aria-live", "polite")
    assert await say.evaluate("e => getComputedStyle(e).display") != "none"
    await page.evaluate(RECORD_CHANGES, "say")

    await go(page, deck_chair, "single")
    await expect(say).to_have_text("Question 1 of 11. Voting is open.")
    await page.get_by_role("radio", name="Yes").check()
    await expect(page.get_by_role("radio", name="Yes")).to_be_focused()
    await deck_chair.press("close")
    await expect(say).to_have_text("Question 1 of 11. Voting is closed.")
    await expect(page.locator("#prompt")).to_be_focused()  # not dropped to the body

    await go(page, deck_chair, "multi")
    await expect(say).to_have_text("Question 2 of 11. Voting is open.")
    await expect(page.locator("#prompt")).to_be_focused()
    await expect(page.get_by_role("heading", level=1)).to_have_text(PROMPTS["multi"])
    await page.get_by_role("checkbox", name="Culture").check()
    await deck_chair.goto(ORDER.index("scale"))  # not opened yet: phones wait
    await expect(page.locator("#waiting")).to_be_visible()
    await expect(say).to_have_text("Waiting for the next question…")
    await expect(page.locator("#waiting")).to_be_focused()
    said = await page.evaluate("window.changes.say.filter(text => text)")
    assert said == [
        "Question 1 of 11. Voting is open.",
        "Question 1 of 11. Voting is closed.",
        "Waiting for the next question…",  # the chair moved on, then opened it
        "Question 2 of 11. Voting is open.",
        "Waiting for the next question…",
    ]
    await context.close()


async def test_ranking_move_is_announced_then_cleared(
    browser: Browser, deck_server: LivepollServer, deck_chair: Chair
) -> None:
    """The move just made is read out; the region is emptied afterwards, not left stale."""
    recorder = PageRecorder()
    context, page = await new_phone(browser, recorder)
    await page.goto(deck_server.base_url)
    await go(page, deck_chair, "ranking")
    await page.get_by_role("button", name="Move Budget up").click()
    await expect(page.locator("#say")).to_have_text("Budget moved to position 1 of 4.")
    await expect(page.locator("#say")).to_be_empty(timeout=15_000)
    await context.close()


COUNT_SOCKETS = """(() => {
    const Real = window.WebSocket;
    window.sockets = 0;
    window.WebSocket = function (url) { window.sockets += 1; return new Real(url); };
})()"""


async def test_reconnecting_is_said_once_however_many_attempts_it_takes(
    browser: Browser, deck_server: LivepollServer, deck_chair: Chair
) -> None:
    """The connection pill is a live region always in the page, set once per change."""
    recorder = PageRecorder()
    context, page = await new_phone(browser, recorder)
    await page.add_init_script(COUNT_SOCKETS)
    await page.goto(deck_server.base_url)
    await go(page, deck_chair, "single")
    conn = page.locator("#conn")
    assert await conn.evaluate("e => getComputedStyle(e).display") != "none"
    await page.evaluate(RECORD_CHANGES, "conn")
    await context.set_offline(True)
    await page.wait_for_function("window.sockets >= 4", timeout=15_000)
    await context.set_offline(False)
    await expect(conn).to_be_empty()
    changes = await page.evaluate("window.changes.conn")
    assert changes == ["Reconnecting…", ""]
    await context.close()


async def test_errors_are_shown_as_the_gov_uk_design_system_shows_them(
    browser: Browser, deck_server: LivepollServer, deck_chair: Chair
) -> None:
    """A summary at the top takes the focus; the message sits by the question, tied to it."""
    recorder = PageRecorder()
    context, page = await new_phone(browser, recorder)
    await page.goto(deck_server.base_url)
    await go(page, deck_chair, "single")
    await submit(page)
    summary = page.locator("#summary")
    await expect(summary).to_be_focused()
    await expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    link = summary.get_by_role("link", name="Choose an option first.")
    group = page.get_by_role("group", name=PROMPTS["single"])
    error = group.locator(".error")
    await expect(error).to_have_text("Error: Choose an option first.")
    await expect(error.locator(".vh")).to_have_text("Error: ")
    await expect(group).to_have_attribute("aria-invalid", "true")
    await expect(group).to_have_accessible_description(
        "Choose one answer. Error: Choose an option first."
    )
    assert await page.locator("#hint + #error").count() == 1  # under the hint, above the options
    await expect(page.locator("#status")).to_be_empty()  # not in the bar, away from the question
    await link.click()
    await expect(page.get_by_role("radio", name="Yes")).to_be_focused()
    await page.get_by_role("radio", name="No", exact=True).check()
    await expect(error).to_be_hidden()
    await expect(group).not_to_have_attribute("aria-invalid", "true")
    await expect(summary).to_be_hidden()
    await context.close()


async def test_join_form_keeps_its_hint_and_its_error_apart(
    browser: Browser, tmp_path: Path
) -> None:
    """The hint stays; a wrong code adds an "Error:" message the field is described by."""
    config = ServerConfig(
        deck=deck_module.from_text(DECK, "a11y.toml"),
        database=tmp_path / "join.db",
        host="127.0.0.1",
        port=0,
        join_mode="code",
    )
    recorder = PageRecorder()
    async with running_server(config) as server:
        context, page = await new_phone(browser, recorder)
        await page.goto(server.base_url)
        field = page.get_by_role("textbox", name="Room code")
        await expect(field).to_have_accessible_description(
            "Enter the room code shown on the screen."
        )
        await expect(page.get_by_role("heading", level=1)).to_have_text("Room code")
        await field.fill("0000")
        await field.press("Enter")
        error = page.locator("#joinError")
        await expect(error).to_contain_text("not the one on the screen")
        await expect(error.locator(".vh")).to_have_text("Error: ")
        await expect(page.locator("#joinHint")).to_have_text(
            "Enter the room code shown on the screen."
        )
        await expect(field).to_have_accessible_description(
            "Enter the room code shown on the screen. Error: That room code is not the one "
            "on the screen. Check it and try again."
        )
        await expect(field).to_have_attribute("aria-invalid", "true")
        await context.close()


async def test_right_answer_mark_leaves_room_for_the_option_at_320_pixels(
    browser: Browser, deck_server: LivepollServer, deck_chair: Chair
) -> None:
    """ "✓ Right answer" goes below a short option rather than break it letter by letter."""
    recorder = PageRecorder()
    context, page = await new_phone(browser, recorder, viewport={"width": 320, "height": 640})
    await page.goto(deck_server.base_url)
    await go(page, deck_chair, "quiz")
    await page.locator("#nickSkip").click()
    await page.get_by_role("radio", name="3 days").check()
    await submit(page)
    await expect(page.locator("#status")).to_contain_text("saved")
    await deck_chair.press("close")
    await expect(page.locator("#status")).to_contain_text("The right answer")
    for option in ("18 minutes", "3 days"):
        words = page.locator(".opt > span", has_text=option)
        lines = await words.evaluate(
            "e => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight)"
        )
        assert lines < 1.5, (option, lines)
    await context.close()


async def test_without_javascript_the_page_says_so_at_the_top(
    browser: Browser, deck_server: LivepollServer
) -> None:
    """No script: a message at the top saying what to do, and no "Connecting…" for ever."""
    context = await browser.new_context(**PHONE, java_script_enabled=False)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(deck_server.base_url)
    message = page.locator(".nojs")  # text locators skip <noscript>; CSS ones do not
    await expect(message).to_be_visible()
    await expect(message).to_contain_text("This poll needs JavaScript")
    box = await message.bounding_box()
    assert box is not None
    assert box["y"] < 120
    await expect(page.get_by_text("Connecting…")).to_be_hidden()
    await context.close()


async def test_a_silent_server_is_reported_with_a_button_to_try_again(
    browser: Browser, deck_server: LivepollServer
) -> None:
    """A socket that never answers: after a few seconds the page says so; Try again redials."""
    recorder = PageRecorder()
    context, page = await new_phone(browser, recorder)
    dialled = []
    answer = False

    def route(socket: WebSocketRoute) -> None:
        dialled.append(socket)
        if answer:
            socket.connect_to_server()

    await page.route_web_socket("**/ws", route)
    await page.goto(deck_server.base_url)
    await expect(page.locator("#waiting")).to_have_text("Connecting…")
    retry = page.get_by_role("button", name="Try again")
    await expect(retry).to_be_visible(timeout=8000)
    await expect(page.locator("#stuck")).to_contain_text("not answering")
    assert await axe_violations(page, "silent server") == []
    answer = True
    before = len(dialled)
    await retry.click()
    await expect(page.locator("#waiting")).to_have_text("Waiting for the next question…")
    assert len(dialled) > before
    await expect(retry).to_be_hidden()
    await context.close()
