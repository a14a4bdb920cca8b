"""An event's rooms in Debian's Chromium: finding a room from the host name, voting in
it, and following the room to its next session without scanning again."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect
from websockets.asyncio.client import connect

from browser_helpers import PHONE, Chair, PageRecorder
from livepoll.server.conference import ConferenceServer
from test_page_browser import browser, recorder, vote  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

SAVED = "Your answer is saved"


@pytest.fixture
async def phone(browser: Browser, recorder: PageRecorder) -> AsyncIterator[Page]:  # noqa: F811
    """A phone-sized page; fails the test on any script error."""
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    page.set_default_timeout(30_000)
    recorder.attach(page)
    yield page
    await context.close()


async def chair_of(front: ConferenceServer, room_id: str) -> Chair:
    """The chair of one room, on that room's presenter channel with its own token."""
    room = front.rooms[room_id]
    connection = await connect(
        room.presenter_url, additional_headers={"Authorization": f"Bearer {room.token}"}
    )
    await connection.recv()  # the welcome
    return Chair(connection)


async def test_a_phone_finds_its_room_from_the_host_name_and_votes(
    front: ConferenceServer, phone: Page
) -> None:
    """The rooms page links to each room; the room's page votes into that room only."""
    chair = await chair_of(front, "room-2")
    await phone.goto(front.base_url)
    await phone.get_by_role("link", name="Breakout 2").click()
    await expect(phone).to_have_url(front.base_url + "r/room-2/")
    await expect(phone.locator("#deck")).to_have_text("Breakout")
    await chair.press("toggle_voting")
    await expect(phone.locator("legend")).to_have_text("Breakout: ready?")
    await vote(phone, "No")
    await expect(phone.locator("#status")).to_contain_text(SAVED)
    await chair.wait_for_counts([0, 1], respondents=1)
    assert front.rooms["main-hall"].session.current.respondents == 0
    await phone.close()
    await chair.connection.close()


async def test_phones_follow_their_room_to_the_next_session(
    front: ConferenceServer,
    phone: Page,
    recorder: PageRecorder,  # noqa: F811
) -> None:
    """A phone that joined the main hall with its room code shows the next deck when the
    chair moves on, and votes in it: no rescan, no new code."""
    main = front.rooms["main-hall"]
    chair = await chair_of(front, "main-hall")
    await phone.goto(main.join_info().url)
    await expect(phone.locator("#deck")).to_have_text("Opening")
    await chair.press("toggle_voting")
    await expect(phone.locator("legend")).to_have_text("Opening: ready?")
    await vote(phone, "Yes")
    await expect(phone.locator("#status")).to_contain_text(SAVED)

    await chair.press("next_session")
    await chair.wait_for(lambda state: state["title"] == "Closing")
    await expect(phone.locator("#deck")).to_have_text("Closing")
    await chair.press("toggle_voting")
    await expect(phone.locator("legend")).to_have_text("Closing: ready?")
    await vote(phone, "No")
    await expect(phone.locator("#status")).to_contain_text(SAVED)
    await chair.wait_for_counts([0, 1], respondents=1)
    assert phone.url == main.join_url  # the code was taken out of the address, kept
    await phone.close()
    await chair.connection.close()
    connection = sqlite3.connect(main.store.path)
    rows = connection.execute(
        "SELECT s.deck_title, r.answer FROM responses r JOIN sessions s ON s.id = r.session_id"
        " WHERE s.room = 'main-hall' ORDER BY s.id"
    ).fetchall()
    connection.close()
    assert rows == [("Opening", "[0]"), ("Closing", "[1]")]
