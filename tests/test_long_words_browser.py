"""Long words and piled marks in Chromium: attendees' text never widens the phone's
page or the report, whatever its length.

A word of 480 letters has no place to break; without ``overflow-wrap: anywhere`` it
pushes the page sideways (the report was 7,182 px wide with one).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from browser_helpers import PHONE
from clients import Phone, chair, open_phone
from livepoll import deck as deck_module
from livepoll.report import build_report
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from test_page_browser import browser as browser  # noqa: F401  (the fixture, for this module)

pytestmark = pytest.mark.browser

DECK = """title = "Long words"
[[questions]]
id = "wall"
type = "text"
display = "wall"
prompt = "One idea"
max_length = 500
results = "live"

[[questions]]
id = "cloud"
type = "text"
prompt = "One word"
max_length = 500
results = "live"

[[questions]]
id = "ask"
type = "qa"
prompt = "Questions"
max_length = 500
"""
WORD = "Supercalifragilistic" * 24
"""480 letters, no space."""
ZALGO = "Z" + "\u0316\u0320\u0353" * 20 + "algo"
"""60 marks below one letter (the server keeps three)."""
TEXTS = (WORD, f"{WORD} {ZALGO}")


@pytest.fixture
def config(server_config: ServerConfig) -> ServerConfig:
    """The shared server configuration, on the long-words deck."""
    return dataclasses.replace(server_config, deck=deck_module.from_text(DECK, "long.toml"))


async def post(server: LivepollServer, phones: list[Phone], question_id: str) -> None:
    """The chair opens the current question; each phone sends one of TEXTS to it."""
    await chair(server, "open")
    for phone, text in zip(phones, TEXTS, strict=True):
        if question_id == "ask":
            phone.seq += 1
            await phone.connection.send(
                json.dumps({"type": "ask", "q": "ask", "text": text, "seq": phone.seq})
            )
            reply = await phone.reply()
        else:
            reply = await phone.vote(question_id, text)
        assert reply["type"] == "ack", reply


async def page_width(page: Page) -> int:
    """How wide the page lays out, scrolled sideways included."""
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    return width


@pytest.fixture
async def phones(config: ServerConfig) -> AsyncIterator[tuple[LivepollServer, list[Phone]]]:
    """A running server and two scripted phones on it."""
    async with running_server(config) as server:
        connected = [await open_phone(server) for _ in TEXTS]
        yield server, connected
        for phone in connected:
            await phone.connection.close()


async def test_long_words_do_not_widen_the_phone_page(
    browser: Browser,  # noqa: F811
    phones: tuple[LivepollServer, list[Phone]],
) -> None:
    """The wall, the word list and the Q&A list wrap a 480-letter word on a 390 px phone."""
    server, senders = phones
    context = await browser.new_context(**PHONE)
    try:
        page = await context.new_page()
        await page.goto(server.base_url)
        await post(server, senders, "wall")
        await expect(page.locator("#resList .rl")).to_have_count(2)
        assert await page_width(page) <= PHONE["viewport"]["width"]
        stored = set(server.session.states["wall"].answers.values())
        assert stored == {WORD, f"{WORD} Z\u0316\u0320\u0353algo"}, "three marks are kept"
        await chair(server, "next")
        await post(server, senders, "cloud")
        await expect(page.locator("#resList .rl").first).to_contain_text("supercali")
        assert await page_width(page) <= PHONE["viewport"]["width"]
        await chair(server, "next")
        await post(server, senders, "ask")
        await expect(page.locator(".qt")).to_have_count(2)
        assert await page_width(page) <= PHONE["viewport"]["width"]
    finally:
        await context.close()


async def test_long_words_do_not_widen_the_report(
    browser: Browser,  # noqa: F811
    phones: tuple[LivepollServer, list[Phone]],
) -> None:
    """The report of that session lays out within a 1,024 px window and prints on A4."""
    server, senders = phones
    for question_id in ("wall", "cloud", "ask"):
        if question_id != "wall":
            await chair(server, "next")
        await post(server, senders, question_id)
    await server.store.flush()
    report = await build_report(server.config.database, None)
    assert report.count("Supercalifragilistic") > 1
    page = await browser.new_page(viewport={"width": 1024, "height": 768})
    try:
        await page.set_content(report)
        assert await page_width(page) <= 1024
        await page.emulate_media(media="print")
        await page.set_viewport_size({"width": 700, "height": 990})
        assert await page_width(page) <= 700
    finally:
        await page.close()
