"""Tier 4: the voting page in Debian's Chromium, against a real server on loopback.

Playwright's async API runs in the test's event loop, next to the in-process
server. Set LIVEPOLL_SCREENSHOT_DIR to also save phone-size screenshots.
"""

from __future__ import annotations

import asyncio
import os
import re
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, PHONE, Chair, PageRecorder, Relay, snapshot
from clients import open_presenter
from livepoll import deck as deck_module
from livepoll.server.app import LivepollServer, ServerConfig, running_server

pytestmark = pytest.mark.browser

STATIC = Path(__file__).parent.parent / "src" / "livepoll" / "server" / "static"
SAVED = "Your answer is saved"
WAITING = "Waiting for the next question…"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium; skipped without it (failed under CI)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
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


@pytest.fixture
def recorder() -> PageRecorder:
    """What the phone's page requested and complained about."""
    return PageRecorder()


@pytest.fixture
async def phone(browser: Browser, recorder: PageRecorder) -> AsyncIterator[Page]:
    """A phone-sized page (not yet opened); fails the test on any script error."""
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    page.set_default_timeout(5000)
    recorder.attach(page)
    yield page
    await context.close()
    assert recorder.page_errors == []
    assert recorder.dialogs == []


@pytest.fixture
async def chair(livepoll_server: LivepollServer) -> AsyncIterator[Chair]:
    """The session chair, connected to the presenter channel."""
    connection = await open_presenter(livepoll_server)
    yield Chair(connection)
    await connection.close()


async def open_question(page: Page, chair: Chair, prompt: str) -> None:
    """The chair opens voting on the current question; the page shows ``prompt``."""
    await chair.press("toggle_voting")
    await expect(page.locator("legend")).to_have_text(prompt)


async def vote(page: Page, *options: str) -> None:
    """Tick ``options`` (and only those) and press the submit button."""
    inputs = page.locator("#options input")
    for index in range(await inputs.count()):
        box = inputs.nth(index)
        label = await page.locator("#options label").nth(index).inner_text()
        if label.strip() in options:
            await box.check()
        elif await box.is_checked() and await box.get_attribute("type") == "checkbox":
            await box.uncheck()
    await page.locator("#submit").click()


def status(page: Page) -> Locator:
    """The page's aria-live status line."""
    return page.locator("#status")


async def stored(page: Page, key: str) -> object:
    """A value the page keeps in localStorage (JSON-encoded, under "livepoll.")."""
    return await page.evaluate("key => JSON.parse(localStorage.getItem('livepoll.' + key))", key)


async def test_page_waits_then_shows_the_question_the_chair_opens(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """The page says it is waiting until the chair opens q1, then shows q1 as radios."""
    await phone.goto(livepoll_server.base_url)
    await expect(phone.locator("#waiting")).to_have_text(WAITING)
    await expect(phone.locator("#deck")).to_have_text("Test deck")
    await expect(phone.locator("fieldset")).to_be_hidden()
    await snapshot(phone, "page-waiting")

    await open_question(phone, chair, "Is your organisation running a transformation programme?")
    await expect(phone.locator("#waiting")).to_be_hidden()
    await expect(phone.locator("#progress")).to_have_text("Question 1 of 2")
    await expect(phone.get_by_role("radio")).to_have_count(3)
    for option in ("Yes", "No", "Not sure"):
        await expect(phone.get_by_role("radio", name=option, exact=True)).to_be_enabled()
    await expect(phone).to_have_title("Test deck – livepoll")
    await snapshot(phone, "page-single")


async def test_vote_shows_sending_until_the_ack_then_saved(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """ "Sending…" stays until the server's ack arrives; only then does the page say saved."""
    relay = Relay()
    await relay.install(phone)
    await phone.goto(livepoll_server.base_url)
    await open_question(phone, chair, "Is your organisation running a transformation programme?")

    relay.hold_acks = True
    await vote(phone, "No")
    await expect(status(phone)).to_have_text("Sending…")
    await chair.wait_for_counts([0, 1, 0], respondents=1)  # stored, ack still held back
    await asyncio.sleep(0.3)
    await expect(status(phone)).to_have_text("Sending…")

    relay.release_acks()
    await expect(status(phone)).to_contain_text(SAVED)
    await expect(phone.get_by_role("radio", name="No", exact=True)).to_be_checked()
    await expect(phone.locator("#submit")).to_have_text("Update answer")
    assert [frame["answer"] for _, frame in relay.votes()] == [1]
    await snapshot(phone, "page-vote")


async def test_changing_the_answer_moves_the_count(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """A second answer replaces the first: the tally moves, one respondent, a new seq."""
    relay = Relay()
    await relay.install(phone)
    await phone.goto(livepoll_server.base_url)
    await open_question(phone, chair, "Is your organisation running a transformation programme?")
    await vote(phone, "Yes")
    await expect(status(phone)).to_contain_text(SAVED)
    await chair.wait_for_counts([1, 0, 0], respondents=1)

    await phone.get_by_role("radio", name="Not sure").check()
    await expect(status(phone)).to_contain_text("not sent yet")
    await phone.get_by_role("button", name="Update answer").click()
    await expect(status(phone)).to_contain_text(SAVED)
    await chair.wait_for_counts([0, 0, 1], respondents=1)
    first, second = (frame for _, frame in relay.votes())
    assert second["seq"] > first["seq"]
    assert livepoll_server.session.current.counts == [0, 0, 1]


async def test_multi_choice_disables_boxes_beyond_max_choices(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """On q2 (up to 2) the other boxes are disabled once two are ticked, and re-enabled after."""
    await phone.goto(livepoll_server.base_url)
    await chair.press("next")
    await open_question(phone, chair, "Which of these hold your organisation back?")
    await expect(phone.locator("#hint")).to_contain_text("Choose up to 2")
    boxes = phone.get_by_role("checkbox")
    await expect(boxes).to_have_count(4)

    await phone.get_by_role("checkbox", name="Culture").check()
    await phone.get_by_role("checkbox", name="Skills").check()
    await expect(phone.get_by_role("checkbox", name="Legacy systems")).to_be_disabled()
    await expect(phone.get_by_role("checkbox", name="Budget")).to_be_disabled()
    await snapshot(phone, "page-multi")

    await phone.get_by_role("checkbox", name="Skills").uncheck()
    await expect(phone.get_by_role("checkbox", name="Budget")).to_be_enabled()
    await phone.get_by_role("checkbox", name="Budget").check()
    await phone.locator("#submit").click()
    await expect(status(phone)).to_contain_text(SAVED)
    await chair.wait_for_counts([0, 1, 0, 1], respondents=1)


async def test_page_follows_the_chair_and_remembers_answers_without_reloading(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """Next and previous update the same page load, and going back shows the earlier answer."""
    await phone.goto(livepoll_server.base_url)
    await phone.evaluate("window.sameLoad = true")
    await open_question(phone, chair, "Is your organisation running a transformation programme?")
    await vote(phone, "Not sure")
    await expect(status(phone)).to_contain_text(SAVED)

    await chair.press("next")
    await expect(phone.locator("#waiting")).to_have_text(WAITING)
    await open_question(phone, chair, "Which of these hold your organisation back?")
    await expect(phone.locator("#progress")).to_have_text("Question 2 of 2")
    await expect(phone.get_by_role("checkbox", checked=True)).to_have_count(0)
    await expect(status(phone)).to_have_text("")

    await chair.press("previous")
    await expect(phone.locator("legend")).to_contain_text("transformation programme")
    await expect(phone.get_by_role("radio", name="Not sure")).to_be_checked()
    await expect(status(phone)).to_contain_text("Voting is closed. Your answer was saved.")
    assert await phone.evaluate("window.sameLoad") is True


async def test_closing_voting_disables_inputs_and_keeps_the_answer_visible(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """When the chair closes voting the inputs and button are disabled, the answer still ticked."""
    await phone.goto(livepoll_server.base_url)
    await open_question(phone, chair, "Is your organisation running a transformation programme?")
    await vote(phone, "Yes")
    await expect(status(phone)).to_contain_text(SAVED)

    await chair.press("toggle_voting")
    await expect(status(phone)).to_contain_text("Voting is closed")
    for radio in await phone.get_by_role("radio").all():
        await expect(radio).to_be_disabled()
    await expect(phone.get_by_role("radio", name="Yes")).to_be_checked()
    await expect(phone.locator("#submit")).to_be_disabled()
    await snapshot(phone, "page-closed")

    await chair.press("toggle_voting")  # reopened: the answer can change again
    await expect(phone.get_by_role("radio", name="No", exact=True)).to_be_enabled()
    await expect(status(phone)).to_contain_text(SAVED)


async def test_vote_whose_ack_was_lost_is_resent_after_reconnecting_and_counted_once(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """The connection dies before the ack: the page reconnects, resends the same seq, once."""
    relay = Relay()
    await relay.install(phone)
    await phone.goto(livepoll_server.base_url)
    await open_question(phone, chair, "Is your organisation running a transformation programme?")

    relay.hold_acks = True
    await vote(phone, "No")
    await chair.wait_for_counts([0, 1, 0], respondents=1)
    await expect(status(phone)).to_have_text("Sending…")
    await relay.routes[0].close(code=1001, reason="Wi-Fi dropped")
    relay.held_acks.clear()  # lost with the connection
    relay.hold_acks = False

    await expect(status(phone)).to_contain_text(SAVED, timeout=10_000)
    votes = relay.votes()
    assert [number for number, _ in votes] == [0, 1]
    assert votes[0][1] == votes[1][1]  # same question, answer and seq
    await asyncio.sleep(0.3)
    await chair.wait_for_counts([0, 1, 0], respondents=1)
    assert len(relay.votes()) == 2
    assert await stored(phone, "pending") is None


async def test_vote_made_offline_is_sent_when_the_network_returns(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """Offline, the page says it is reconnecting and keeps the vote; back online, it is saved."""
    await phone.goto(livepoll_server.base_url)
    await open_question(phone, chair, "Is your organisation running a transformation programme?")

    await phone.context.set_offline(True)
    await expect(phone.locator("#conn")).to_have_text("Reconnecting…")
    await vote(phone, "Yes")
    await expect(status(phone)).to_contain_text("Sending…")
    await asyncio.sleep(0.5)
    assert livepoll_server.session.current.counts == [0, 0, 0]

    await phone.context.set_offline(False)
    await expect(status(phone)).to_contain_text(SAVED)
    await expect(phone.locator("#conn")).to_be_hidden()
    await chair.wait_for_counts([1, 0, 0], respondents=1)


async def test_pending_vote_survives_a_reload_and_is_sent_after_it(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """A vote that never reached the server is kept in localStorage and sent after a reload."""
    relay = Relay()
    await relay.install(phone)
    await phone.goto(livepoll_server.base_url)
    await open_question(phone, chair, "Is your organisation running a transformation programme?")
    token = await stored(phone, "voter")

    relay.hold_votes = True
    await vote(phone, "Not sure")
    await expect(status(phone)).to_have_text("Sending…")
    relay.hold_votes = False
    relay.held_votes.clear()

    await phone.reload()
    await expect(status(phone)).to_contain_text(SAVED)
    await expect(phone.get_by_role("radio", name="Not sure")).to_be_checked()
    await chair.wait_for_counts([0, 0, 1], respondents=1)
    assert await stored(phone, "voter") == token
    (_, lost), (_, resent) = relay.votes()
    assert resent == lost


async def test_page_reconnects_and_catches_up_when_the_server_drops_it(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """The server closes every phone's socket; the page comes back and shows where the chair is."""
    await phone.goto(livepoll_server.base_url)
    await open_question(phone, chair, "Is your organisation running a transformation programme?")
    await vote(phone, "Yes")
    await expect(status(phone)).to_contain_text(SAVED)

    for connection in list(livepoll_server.audience):
        await connection.close(1012, "restarting")
    await chair.press("next")
    await chair.press("toggle_voting")
    await expect(phone.locator("legend")).to_contain_text("hold your organisation back")
    await expect(phone.get_by_role("checkbox")).to_have_count(4)


async def test_page_replaces_a_silently_dead_socket_when_the_phone_wakes(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """On waking, the page probes its socket with a hello and reconnects when nothing answers."""
    relay = Relay()
    await relay.install(phone)
    await phone.goto(livepoll_server.base_url)
    await expect(phone.locator("#waiting")).to_have_text(WAITING)
    relay.muted.add(0)  # the socket stays open, but nothing gets through any more
    await chair.press("toggle_voting")
    await chair.wait_for(lambda state: state["status"] == "open")
    await asyncio.sleep(0.2)
    await expect(phone.locator("#waiting")).to_have_text(WAITING)  # missed the broadcast

    await phone.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    await expect(phone.locator("legend")).to_contain_text("transformation", timeout=10_000)
    hellos = [[f for f in frames if f["type"] == "hello"] for frames in relay.sent]
    assert [len(h) for h in hellos] == [2, 1]  # hello, unanswered probe; then a new socket
    assert hellos[0][0] == hellos[1][0]  # the same voter token


async def test_storage_trouble_notice_keeps_the_vote_sending_and_says_saving_is_delayed(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """While the server reports disk trouble the vote stays unsaved, with a discreet notice."""
    relay = Relay()
    await relay.install(phone)
    await phone.goto(livepoll_server.base_url)
    await open_question(phone, chair, "Is your organisation running a transformation programme?")

    relay.hold_acks = True
    relay.tell_page({"type": "notice", "code": "storage_problem", "message": "not saving"})
    await expect(phone.locator("#conn")).to_have_text("Saving delayed")
    await vote(phone, "Yes")
    await expect(status(phone)).to_contain_text("slow to save")

    relay.tell_page({"type": "notice", "code": "storage_ok", "message": "Saving works again."})
    await expect(phone.locator("#conn")).to_be_hidden()
    await expect(status(phone)).to_have_text("Sending…")
    relay.release_acks()
    await expect(status(phone)).to_contain_text(SAVED)


async def test_error_for_the_pending_vote_is_shown_in_plain_words(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """A vote that arrives after voting closed is refused: the page says so and drops it."""
    relay = Relay()
    await relay.install(phone)
    await phone.goto(livepoll_server.base_url)
    await open_question(phone, chair, "Is your organisation running a transformation programme?")

    relay.hold_votes = True
    await vote(phone, "Yes")
    await expect(status(phone)).to_have_text("Sending…")
    await chair.press("toggle_voting")
    await chair.wait_for(lambda state: state["status"] == "closed")
    relay.release_votes()

    await expect(status(phone)).to_have_text("Voting on this question has closed.")
    await expect(phone.get_by_role("radio", checked=True)).to_have_count(0)
    assert await stored(phone, "pending") is None
    assert livepoll_server.session.current.counts == [0, 0, 0]


async def test_keyboard_alone_can_answer_both_question_types(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """Tab, arrow keys, Space and Enter are enough to answer single and multi questions."""
    await phone.goto(livepoll_server.base_url)
    await open_question(phone, chair, "Is your organisation running a transformation programme?")
    keyboard = phone.keyboard

    await keyboard.press("Tab")
    await expect(phone.get_by_role("radio", name="Yes")).to_be_focused()
    await keyboard.press("ArrowDown")
    await expect(phone.get_by_role("radio", name="No", exact=True)).to_be_checked()
    await keyboard.press("Tab")
    await expect(phone.locator("#submit")).to_be_focused()
    await keyboard.press("Enter")
    await expect(status(phone)).to_contain_text(SAVED)
    await chair.wait_for_counts([0, 1, 0], respondents=1)

    await chair.press("next")
    await open_question(phone, chair, "Which of these hold your organisation back?")
    await expect(phone.locator("legend")).to_be_focused()  # focus followed the chair
    await keyboard.press("Tab")
    await expect(phone.get_by_role("checkbox", name="Legacy systems")).to_be_focused()
    await keyboard.press("Space")
    await keyboard.press("Tab")
    await keyboard.press("Tab")
    await expect(phone.get_by_role("checkbox", name="Skills")).to_be_focused()
    await keyboard.press("Space")
    await keyboard.press("Tab")  # Budget is disabled at the limit, so focus skips to the button
    await expect(phone.locator("#submit")).to_be_focused()
    await keyboard.press("Enter")
    await expect(status(phone)).to_contain_text(SAVED)
    await chair.wait_for_counts([1, 0, 1, 0], respondents=1)


async def test_page_has_labels_a_legend_and_a_live_status(
    livepoll_server: LivepollServer, phone: Page, chair: Chair
) -> None:
    """Language, viewport, fieldset and legend, a label per input and polite live regions."""
    await phone.goto(livepoll_server.base_url)
    await open_question(phone, chair, "Is your organisation running a transformation programme?")

    assert await phone.get_attribute("html", "lang") == "en"
    viewport = await phone.get_attribute("meta[name=viewport]", "content")
    assert viewport is not None
    assert "width=device-width" in viewport
    await expect(phone.locator("fieldset > legend")).to_have_count(1)
    group = phone.get_by_role("group", name="Is your organisation running")
    await expect(group).to_be_visible()
    await expect(group).to_have_accessible_description("Choose one answer.")
    for radio in await phone.locator("fieldset input").all():
        label = await radio.evaluate("input => input.labels.length")
        assert label == 1
    await expect(phone.get_by_role("status")).to_have_attribute("aria-live", "polite")
    await expect(phone.locator("#conn")).to_have_attribute("aria-live", "polite")
    font_size = await phone.locator("#options label").first.evaluate(
        "label => parseFloat(getComputedStyle(label).fontSize)"
    )
    height = await phone.locator("#options label").first.evaluate(
        "label => label.getBoundingClientRect().height"
    )
    assert font_size >= 18
    assert height >= 48  # a comfortable tap target


async def test_html_in_deck_text_is_shown_literally(
    browser: Browser, recorder: PageRecorder, tmp_path: Path
) -> None:
    """Markup in the title, prompt and options is shown as text; nothing is injected or run."""
    deck = deck_module.from_text(
        """
title = "<b>Deck</b>"
[[questions]]
id = "x"
type = "single"
prompt = "<script>alert(2)</script>Which?"
options = ["<img src=x onerror=alert(1)>", "<b>bold</b>", "a & b"]
""",
        "hostile.toml",
    )
    config = ServerConfig(deck=deck, database=tmp_path / "hostile.db", host="127.0.0.1", port=0)
    async with running_server(config) as server:
        context = await browser.new_context(**PHONE)
        page = await context.new_page()
        recorder.attach(page)
        presenter = await open_presenter(server)
        await Chair(presenter).press("toggle_voting")
        await page.goto(server.base_url)
        await expect(page.locator("legend")).to_have_text("<script>alert(2)</script>Which?")
        await expect(page.locator("#deck")).to_have_text("<b>Deck</b>")
        labels = page.locator("#options label")
        await expect(labels).to_have_text(["<img src=x onerror=alert(1)>", "<b>bold</b>", "a & b"])
        await expect(page.get_by_role("radio", name="<img src=x onerror=alert(1)>")).to_be_visible()
        assert await page.locator("img, b, script:not([src])").count() == 0
        await page.wait_for_timeout(200)
        await presenter.close()
        await context.close()
    assert recorder.dialogs == []
    assert recorder.page_errors == []
    assert not [url for url in recorder.requests if url.endswith("/x")]


async def test_question_type_the_page_cannot_answer_is_not_shown_as_choices(
    browser: Browser, recorder: PageRecorder, tmp_path: Path
) -> None:
    """A free-text question gets a plain sentence, not radio buttons that would send bad votes."""
    deck = deck_module.from_text(
        """
title = "Words"
[[questions]]
id = "w"
type = "text"
prompt = "One word?"
max_length = 30
""",
        "words.toml",
    )
    config = ServerConfig(deck=deck, database=tmp_path / "words.db", host="127.0.0.1", port=0)
    async with running_server(config) as server:
        context = await browser.new_context(**PHONE)
        page = await context.new_page()
        recorder.attach(page)
        presenter = await open_presenter(server)
        await Chair(presenter).press("toggle_voting")
        await page.goto(server.base_url)
        await expect(page.locator("#waiting")).to_have_text(
            "This question cannot be answered on this page."
        )
        await expect(page.locator("fieldset")).to_be_hidden()
        await expect(page.locator("#submit")).to_be_hidden()
        await presenter.close()
        await context.close()
    assert recorder.page_errors == []


async def test_page_requests_nothing_outside_its_origin_and_breaks_no_csp_rule(
    livepoll_server: LivepollServer, phone: Page, chair: Chair, recorder: PageRecorder
) -> None:
    """Every request and socket goes to the server's own origin, with no CSP violation."""
    await phone.goto(livepoll_server.base_url)
    await open_question(phone, chair, "Is your organisation running a transformation programme?")
    await vote(phone, "Yes")
    await expect(status(phone)).to_contain_text(SAVED)

    origin = livepoll_server.base_url.rstrip("/")
    assert recorder.requests
    assert all(url.startswith(origin + "/") for url in recorder.requests), recorder.requests
    assert recorder.websockets == [livepoll_server.audience_url]
    assert recorder.console_errors == []
    response = await phone.request.get(livepoll_server.base_url)
    assert "script-src 'self'" in response.headers["content-security-policy"]


async def test_voter_token_is_random_base64url_and_kept_across_reloads(
    livepoll_server: LivepollServer, browser: Browser, phone: Page
) -> None:
    """The token has 22+ base64url characters, survives a reload, and differs per phone."""
    await phone.goto(livepoll_server.base_url)
    await expect(phone.locator("#waiting")).to_have_text(WAITING)
    token = await stored(phone, "voter")
    assert isinstance(token, str)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,64}", token)
    await phone.reload()
    await expect(phone.locator("#waiting")).to_have_text(WAITING)
    assert await stored(phone, "voter") == token

    other = await browser.new_context(**PHONE)
    other_page = await other.new_page()
    await other_page.goto(livepoll_server.base_url)
    await expect(other_page.locator("#waiting")).to_have_text(WAITING)
    assert await stored(other_page, "voter") != token
    await other.close()


def page_bytes(base_url: str) -> dict[str, int]:
    """Size in bytes of each file of the page as the server sends it."""
    sizes = {}
    for path in ("", "app.js", "app.css"):
        with urllib.request.urlopen(base_url + path, timeout=5) as response:
            sizes["/" + path] = len(response.read())
    return sizes


async def test_page_weighs_at_most_25_kb(livepoll_server: LivepollServer) -> None:
    """The page, its script and its styles together stay within 25 KB uncompressed."""
    sizes = await asyncio.to_thread(page_bytes, livepoll_server.base_url)
    assert sizes["/"] == (STATIC / "index.html").stat().st_size
    assert sum(sizes.values()) <= 25 * 1024, sizes


def test_page_source_never_uses_inner_html() -> None:
    """The script builds the page from text nodes only; no HTML parsing of any string."""
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
