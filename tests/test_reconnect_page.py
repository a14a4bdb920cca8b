"""The page's own reconnect logic, run as JavaScript in Chromium, agrees with the copy
the reconnect storm runs (tests/test_reconnect.py).

The storm needs hundreds of phones, so it runs them as Python copies of app.js's
backoff. This test keeps the copy honest: it loads the real page from a real server in
Chromium, with its clock under the test's control (Playwright's fake timers) and its
random draws fixed, refuses its connections one after another, and compares each delay
the page waited before trying again with the delay the Python copy computes from the
same draw and the same attempt count.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from browser_helpers import PHONE, PageRecorder
from livepoll.server.app import LivepollServer
from test_page_browser import WAITING, browser, recorder  # noqa: F401 (fixtures)
from test_reconnect import BACKOFF_MAX, backoff_window

pytestmark = pytest.mark.browser

DRAWS = [0.9, 0.35, 0.6, 0.8, 0.25, 0.95, 0.5, 0.7, 0.45, 0.15]
"""What the page's Math.random returns, in order (only its retry delay draws)."""
REFUSED = 7
"""Connections refused in a row: enough for the window to reach BACKOFF_MAX."""
STEP = 0.25
"""Seconds the test moves the page's clock on at a time."""
PATIENCE = 60.0
"""Seconds of the page's time the test gives it to try again (whatever the copy says)."""

RECORDER = """
(() => {
  const draws = %s;
  let drawn = 0;
  Math.random = () => draws[drawn++ %% draws.length];
  const Real = window.WebSocket;
  const made = (window.__made = []), closed = (window.__closed = []), heard = (window.__heard = []);
  function Recorded(url, protocols) {
    const socket = protocols === undefined ? new Real(url) : new Real(url, protocols);
    const number = made.length;
    made.push(Date.now());
    heard.push(0);
    socket.addEventListener("message", () => { heard[number] += 1; });
    socket.addEventListener("close", () => { closed[number] = Date.now(); });
    return socket;
  }
  Recorded.prototype = Real.prototype;
  for (const name of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Recorded[name] = Real[name];
  window.WebSocket = Recorded;
})();
"""


@pytest.fixture
async def phone(browser: Browser, recorder: PageRecorder) -> AsyncIterator[Page]:  # noqa: F811
    """A phone-sized page with fake timers installed (the test moves its clock)."""
    context = await browser.new_context(**PHONE)
    await context.clock.install()
    page = await context.new_page()
    page.set_default_timeout(30_000)
    recorder.attach(page)
    yield page
    await context.close()


async def until(page: Page, expression: str) -> None:
    """Wait, in real time, until ``expression`` is true in the page (the page's CSP
    forbids the eval behind wait_for_function, so this asks from outside)."""
    try:
        async with asyncio.timeout(30):
            while True:
                if await page.evaluate(expression):
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        seen = await page.evaluate("[window.__made, window.__closed, window.__heard]")
        raise AssertionError(f"never true: {expression}; made, closed, heard: {seen}") from None


async def test_the_pages_own_backoff_agrees_with_the_copy_the_storm_runs(
    livepoll_server: LivepollServer, phone: Page
) -> None:
    """Each delay app.js waits before reconnecting (full jitter over a window that doubles
    up to BACKOFF_MAX, back to the first once the server answers) is the Python copy's."""
    routes: list[WebSocketRoute] = []

    async def route(socket: WebSocketRoute) -> None:
        number = len(routes)
        routes.append(socket)
        if number in (0, REFUSED + 1):  # the first, and one after the refusals
            socket.connect_to_server()
        else:
            await socket.close(code=1011, reason="refused by the test")

    await phone.route_web_socket("**/ws", route)
    await phone.add_init_script(RECORDER % json.dumps(DRAWS))
    await phone.goto(livepoll_server.base_url)
    await expect(phone.locator("#waiting")).to_have_text(WAITING)
    now = await phone.evaluate("Date.now()")
    await phone.clock.pause_at(now / 1000 + 1)  # in seconds: a second on, then still

    # The live connection drops (attempt back at 0), then REFUSED refusals in a row
    # (attempts 1..REFUSED), then one that the server answers (back to 0) and drops.
    attempts = [0, *range(1, REFUSED + 1), 0]
    await routes[0].close(code=1001, reason="Wi-Fi dropped")
    for number in range(1, len(attempts) + 1):
        await until(phone, f"window.__closed[{number - 1}] !== undefined")
        # Move the page's clock on in small steps until it opens its next connection
        # (the retry's timer fires in one of them; no delay can exceed BACKOFF_MAX).
        for _ in range(int(PATIENCE / STEP)):
            if await phone.evaluate(f"window.__made.length > {number}"):
                break
            await phone.clock.run_for(int(STEP * 1000))
        await until(phone, f"window.__made.length > {number}")
        if number == REFUSED + 1:  # the one let through: wait for the server's answer
            await until(phone, f"window.__heard[{number}] > 0")
            await routes[number].close(code=1001, reason="Wi-Fi dropped again")
    made = await phone.evaluate("window.__made")
    closed = await phone.evaluate("window.__closed")
    waited = [(made[number + 1] - closed[number]) / 1000 for number in range(len(attempts))]
    copy = [draw * backoff_window(attempt) for draw, attempt in zip(DRAWS, attempts, strict=False)]
    assert waited == pytest.approx(copy, abs=0.002), list(zip(waited, copy, strict=True))
    assert max(waited) > 0.5 * BACKOFF_MAX, "the window reached its cap"
