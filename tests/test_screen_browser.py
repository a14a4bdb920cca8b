"""The AV desk's screen view in Debian's Chromium, following a real chair and real phones.

Set LIVEPOLL_SCREENSHOT_DIR to also save a 1920x1080 screenshot of it (the README's
``docs/img/screen-view.png``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from browser_helpers import Chair, PageRecorder, axe_violations, chromium, snapshot
from clients import open_phone, open_presenter
from livepoll import deck as deck_module
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from livepoll.server.screen import qr_path
from test_page_browser import browser, recorder  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PROJECTOR = {"viewport": {"width": 1920, "height": 1080}, "device_scale_factor": 1}
"""A 1080p projector, 16:9."""

MARKUP_DECK = """
title = "Literal <i>deck</i>"

[[questions]]
id = "words"
type = "text"
prompt = "One word for <b>today</b>"
display = "wall"

[[questions]]
id = "panel"
type = "qa"
prompt = "Questions for the panel"

[[questions]]
id = "capital"
type = "quiz"
prompt = "Capital of France?"
options = ["Paris", "Lyon", "Nice"]
correct = "Paris"
"""

NICKNAME = "<b>Ann</b> [red]x[/]"

MARKUP = '<img src=x id="injected">'


@pytest.fixture
async def screen(browser: Browser, recorder: PageRecorder) -> AsyncIterator[Page]:  # noqa: F811
    """A projector-sized page (not yet opened); the recorder fails the test on errors."""
    context = await browser.new_context(**PROJECTOR)
    page = await context.new_page()
    page.set_default_timeout(30_000)
    recorder.attach(page)
    yield page
    await context.close()


@pytest.fixture
async def chair(livepoll_server: LivepollServer) -> AsyncIterator[Chair]:
    """The session chair, connected to the presenter channel."""
    connection = await open_presenter(livepoll_server)
    yield Chair(connection)
    await connection.close()


async def test_the_screen_follows_the_chair_through_a_question(
    livepoll_server: LivepollServer, screen: Page, chair: Chair
) -> None:
    """The view shows the question, then the counts once the chair reveals them, then the
    next question; the token leaves the address bar; the join strip has the URL and QR."""
    await screen.goto(livepoll_server.screen_url)
    prompt = screen.locator("#prompt")
    await expect(prompt).to_have_text("Is your organisation running a transformation programme?")
    assert "token" not in screen.url
    await expect(screen.locator("#badge")).to_have_text("Waiting")
    await expect(screen.locator("#progress")).to_have_text("Question 1 of 2")
    await expect(screen.locator("#url")).to_have_text(livepoll_server.join_url)
    drawn = qr_path(livepoll_server.join_info().url)
    assert await screen.locator("#qr path").get_attribute("d") == drawn["path"]

    await chair.press("toggle_voting")
    await expect(screen.locator("#badge")).to_have_text("Voting open")
    phones = [await open_phone(livepoll_server) for _ in range(3)]
    for phone, answer in zip(phones, (0, 0, 1), strict=True):
        assert (await phone.vote("q1", answer))["type"] == "ack"
    await expect(screen.locator("#count")).to_have_text("3 phones connected · 3 answered")
    rows = screen.locator("#rows .row")
    await expect(rows.locator(".label")).to_have_text(["Yes", "No", "Not sure"])
    await expect(rows.locator(".figure")).to_have_text(["", "", ""])  # hidden until shown

    await chair.press("toggle_results")
    await expect(rows.locator(".figure")).to_have_text(["2 · 67%", "1 · 33%", "0 · 0%"])
    widths = [
        await fill.evaluate("e => e.getBoundingClientRect().width")
        for fill in await rows.locator(".fill").all()
    ]
    assert widths[0] > widths[1] > widths[2] == 0
    await snapshot(screen, "screen-view")

    await chair.press("next")
    await expect(prompt).to_have_text("Which of these hold your organisation back?")
    await expect(screen.locator("#progress")).to_have_text("Question 2 of 2")
    await expect(rows.locator(".label")).to_have_text(
        ["Legacy systems", "Culture", "Skills", "Budget"]
    )
    await expect(rows.locator(".figure")).to_have_text(["", "", "", ""])
    for phone in phones:
        await phone.connection.close()


async def test_attendee_markup_shows_literally_on_the_screen(
    browser: Browser,  # noqa: F811
    recorder: PageRecorder,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Answers on a wall, Q&A items, nicknames on the leaderboard and the deck's own text
    holding HTML show as text; the quiz's right answer has a mark, not only a colour."""
    config = ServerConfig(
        deck=deck_module.from_text(MARKUP_DECK, "markup.toml"),
        database=tmp_path / "markup.db",
        host="127.0.0.1",
        port=0,
    )
    context = await browser.new_context(**PROJECTOR)
    page = await context.new_page()
    recorder.attach(page)
    async with running_server(config) as server:
        presenter = await open_presenter(server)
        chair = Chair(presenter)
        await chair.press("toggle_voting")
        await chair.wait_for(lambda s: s["status"] == "open")
        phone = await open_phone(server)
        assert (await phone.vote("words", MARKUP))["type"] == "ack"
        await chair.press("toggle_results")
        await page.goto(server.screen_url)
        await expect(page.locator("#prompt")).to_have_text("One word for <b>today</b>")
        await expect(page.locator("#deck")).to_have_text("Literal <i>deck</i>")
        await expect(page.locator("#items li")).to_have_text([MARKUP])

        await chair.goto(1)
        await chair.press("toggle_voting")
        await phone.connection.send(
            json.dumps({"type": "ask", "q": "panel", "text": MARKUP, "seq": 9})
        )
        assert (await phone.reply())["type"] == "ack"
        await expect(page.locator("#items .text")).to_have_text([MARKUP])
        await expect(page.locator("#injected")).to_have_count(0)
        await expect(page.locator("#main img")).to_have_count(0)

        await chair.goto(2)
        await chair.press("toggle_voting")
        await phone.connection.send(json.dumps({"type": "nickname", "name": NICKNAME, "seq": 10}))
        assert (await phone.reply())["type"] == "ack"
        assert (await phone.vote("capital", 0))["type"] == "ack"
        await expect(page.locator("#board")).to_be_hidden()  # not while the quiz is open
        await chair.press("toggle_voting")
        await chair.press("toggle_results")
        await expect(page.locator(".row.right .label")).to_have_text(["Paris"])
        await expect(page.locator("#summary")).to_have_text("1 of 1 got it right")
        await expect(page.locator("#players .name")).to_contain_text([NICKNAME])
        await expect(page.locator("#players .points")).to_have_text(["1000"])
        await snapshot(page, "screen-quiz")
        await phone.connection.close()
        await presenter.close()
        await context.close()  # before the server stops, or the page retries


async def test_the_screen_comes_back_after_the_server_restarts_on_the_same_port(
    browser: Browser,  # noqa: F811
    recorder: PageRecorder,  # noqa: F811
    server_config: ServerConfig,
) -> None:
    """Stopped, the view keeps the last question and says it is reconnecting; started
    again (same port, same token, same database), it follows the chair once more."""
    recorder.network_failures_expected = True
    context = await browser.new_context(**PROJECTOR)
    page = await context.new_page()
    recorder.attach(page)
    server_config.end_session_on_stop = False  # as when the process dies
    async with running_server(server_config) as server:
        await page.goto(server.screen_url)
        await expect(page.locator("#badge")).to_have_text("Waiting")
        server_config.port = server.port
        presenter = await open_presenter(server)
        await Chair(presenter).press("toggle_voting")
        await expect(page.locator("#badge")).to_have_text("Voting open")
        await presenter.close()
    await expect(page.locator("#conn")).to_have_text("Reconnecting…")
    await expect(page.locator("#prompt")).to_have_text(
        "Is your organisation running a transformation programme?"
    )
    async with running_server(server_config) as server:
        presenter = await open_presenter(server)
        chair = Chair(presenter)
        await chair.press("next")
        await expect(page.locator("#prompt")).to_have_text(
            "Which of these hold your organisation back?"
        )
        await expect(page.locator("#conn")).to_have_text("")
        await presenter.close()
    await context.close()


async def test_a_wrong_or_missing_screen_token_is_said_on_the_screen(
    livepoll_server: LivepollServer, screen: Page
) -> None:
    """A link with a wrong token says it is not valid; one with none says what to open."""
    await screen.goto(livepoll_server.base_url + "screen?token=" + "x" * 32)
    await expect(screen.locator("#notice")).to_contain_text("not valid for this server")
    await expect(screen.locator("#prompt")).to_be_hidden()
    assert "token" not in screen.url
    fresh = await screen.context.new_page()
    await fresh.goto(livepoll_server.base_url + "screen")
    await expect(fresh.locator("#notice")).to_contain_text("needs the screen URL")


async def test_axe_finds_nothing_on_the_screen_view(
    tmp_path: Path,
    recorder: PageRecorder,  # noqa: F811
) -> None:
    """WCAG 2.2 A/AA and best-practice rules pass on a Q&A and on a closed quiz with its
    leaderboard (axe-core is injected, so this page's policy is bypassed)."""
    config = ServerConfig(
        deck=deck_module.from_text(MARKUP_DECK, "markup.toml"),
        database=tmp_path / "axe.db",
        host="127.0.0.1",
        port=0,
    )
    async with chromium(axe=True) as launched, running_server(config) as server:
        context = await launched.new_context(**PROJECTOR, bypass_csp=True)
        page = await context.new_page()
        recorder.attach(page)
        presenter = await open_presenter(server)
        chair = Chair(presenter)
        await chair.goto(1)
        await chair.press("toggle_voting")
        phone = await open_phone(server)
        await phone.connection.send(
            json.dumps({"type": "ask", "q": "panel", "text": "Why?", "seq": 1})
        )
        assert (await phone.reply())["type"] == "ack"
        await page.goto(server.screen_url)
        await expect(page.locator("#items .text")).to_have_text(["Why?"])
        violations = await axe_violations(page, "qa")
        await chair.goto(2)
        await chair.press("toggle_voting")
        assert (await phone.vote("capital", 0))["type"] == "ack"
        await chair.press("toggle_voting")
        await chair.press("toggle_results")
        await expect(page.locator("#players .points")).to_have_text(["1000"])
        violations += await axe_violations(page, "quiz")
        assert violations == []
        await phone.connection.close()
        await presenter.close()
        await context.close()


async def test_the_largest_question_a_deck_allows_fits_on_the_screen(
    browser: Browser,  # noqa: F811
    recorder: PageRecorder,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A 500-character prompt and 26 options with their results: the prompt takes at most
    30% of the height, the rows go in two columns, and every row sits above the join strip."""
    from livepoll.deck import MAX_OPTIONS, MAX_PROMPT_LENGTH

    prompt = ("Which of these options would you pick for the afternoon workshop? " * 10)[
        : MAX_PROMPT_LENGTH - 1
    ] + "?"
    options = ", ".join(f'"Option number {n} with a longer label"' for n in range(MAX_OPTIONS))
    deck = 'title = "Big"\n[[questions]]\nid = "big"\ntype = "single"\n'
    deck += f'prompt = "{prompt}"\noptions = [{options}]\n'
    config = ServerConfig(
        deck=deck_module.from_text(deck, "big.toml"),
        database=tmp_path / "big.db",
        host="127.0.0.1",
        port=0,
    )
    context = await browser.new_context(**PROJECTOR)
    page = await context.new_page()
    recorder.attach(page)
    async with running_server(config) as server:
        presenter = await open_presenter(server)
        chair = Chair(presenter)
        await chair.press("toggle_voting")
        phone = await open_phone(server)
        assert (await phone.vote("big", 25))["type"] == "ack"
        await chair.press("toggle_results")
        await page.goto(server.screen_url)
        figures = page.locator("#rows .figure")
        await expect(figures.last).to_have_text("1 · 100%")
        await expect(figures).to_have_count(MAX_OPTIONS)
        box = await page.locator("#prompt").bounding_box()
        assert box is not None
        assert box["height"] <= 0.3 * 1080
        join = await page.locator("#join").bounding_box()
        assert join is not None
        # Every row measured in one go: the screen redraws its rows when a frame
        # arrives, and a row taken before a redraw has no box after it.
        rows = await page.locator("#rows .row").evaluate_all(
            "rows => rows.map(row => { const b = row.getBoundingClientRect();"
            " return {x: b.x, y: b.y, height: b.height}; })"
        )
        assert len(rows) == MAX_OPTIONS
        for where in rows:
            assert box["y"] + box["height"] <= where["y"]
            assert where["y"] + where["height"] <= join["y"]
        lefts = {round(where["x"]) for where in rows}
        assert len(lefts) == 2, "two columns"
        size = await page.locator("#rows").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 1.25 * 1080 / 100
        await snapshot(page, "screen-big")
        await phone.connection.close()
        await presenter.close()
        await context.close()  # before the server stops, or the page retries


async def test_each_results_type_is_drawn_once_the_chair_shows_it(
    browser: Browser,  # noqa: F811
    recorder: PageRecorder,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A scale's distribution, a word cloud, a ranking's points and a number's bins, each
    with its summary, hidden until the chair shows the results."""
    from test_types_server import DECK

    config = ServerConfig(deck=DECK, database=tmp_path / "types.db", host="127.0.0.1", port=0)
    context = await browser.new_context(**PROJECTOR)
    page = await context.new_page()
    recorder.attach(page)
    rows = page.locator("#rows .row")
    summary = page.locator("#summary")
    async with running_server(config) as server:
        chair = Chair(await open_presenter(server))
        phones = [await open_phone(server) for _ in range(2)]
        await page.goto(server.screen_url)

        async def answer(index: int, question: str, *answers: Any) -> None:
            await chair.goto(index)
            await chair.press("toggle_voting")
            await chair.wait_for(lambda s: s["status"] == "open")
            for phone, given in zip(phones, answers, strict=False):
                assert (await phone.vote(question, given))["type"] == "ack"
            await expect(page.locator("#count")).to_contain_text(f"{len(answers)} answered")
            await expect(summary).to_have_text("Results appear here when the chair shows them.")
            await chair.press("toggle_results")

        await answer(0, "it-ready", 4, 5)
        await expect(rows.locator(".key")).to_have_text(["1", "2", "3", "4", "5"])
        await expect(rows.locator(".label")).to_have_text(["Blocker", "", "", "", "Enabler"])
        await expect(rows.locator(".figure")).to_have_text(
            ["0 · 0%", "0 · 0%", "0 · 0%", "1 · 50%", "1 · 50%"]
        )
        await expect(summary).to_have_text("Mean 4.5 · median 4.5")

        await answer(1, "one-word", "Digital", "digital")
        await expect(page.locator("#words li")).to_have_text(["digital2"])
        await expect(summary).to_have_text("2 answers")

        await answer(3, "priorities", [1, 0, 2])
        await expect(rows.locator(".label")).to_have_text(
            ["Persistent delivery", "Person-centred", "Digital and IT"]
        )
        await expect(rows.locator(".figure")).to_have_text(
            ["2 pts · 1 first", "1 pts · 0 first", "0 pts · 0 first"]
        )

        await answer(4, "online", 50, 75)
        await expect(summary).to_have_text("Median 62.5% · mean 62.5% · range 50–75%")
        await expect(rows.locator(".label").first).to_have_text("0–10%")
        half, none = "1 · 50%", "0 · 0%"
        await expect(rows.locator(".figure")).to_have_text(
            [none] * 5 + [half, none, half, none, none]
        )
        for phone in phones:
            await phone.connection.close()
        await chair.connection.close()
        await context.close()  # before the server stops, or the page retries
