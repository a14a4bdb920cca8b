"""How the voting page's files travel: validators so that a repeat visit costs a 304.

Venue Wi-Fi is slow and shared; a phone that scanned the QR code this morning
should not download the page again this afternoon.
"""

from __future__ import annotations

import asyncio
import http.client
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Response, Route, expect

from browser_helpers import PHONE, chromium
from livepoll.server.app import LivepollServer


def fetch(base_url: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` from the server: status, headers (lower-case names) and body."""
    where = urlsplit(base_url)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=5)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/", "/boot.js", "/app.js", "/app.css", "/cy.json"])
async def test_a_repeat_request_with_the_etag_gets_304_and_no_body(
    livepoll_server: LivepollServer, path: str
) -> None:
    """Each file has an ETag per encoding, is sent no-cache, and If-None-Match gets a 304."""
    url = livepoll_server.base_url
    gzip = {"Accept-Encoding": "gzip"}
    status, headers, body = await asyncio.to_thread(fetch, url, path, gzip)
    assert status == 200
    assert body
    assert headers["cache-control"] == "no-cache"
    etag = headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    _, plain_headers, _ = await asyncio.to_thread(fetch, url, path, {})
    assert plain_headers["etag"] != etag  # gzip and plain bodies are different entities

    for tag in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        status, headers, body = await asyncio.to_thread(
            fetch, url, path, {**gzip, "If-None-Match": tag}
        )
        assert (status, body) == (304, b""), tag
        assert headers["etag"] == etag
        assert headers["cache-control"] == "no-cache"
        assert "content-length" not in headers

    for headers_sent in ({**gzip, "If-None-Match": '"other"'}, {"If-None-Match": etag}):
        status, _, body = await asyncio.to_thread(fetch, url, path, headers_sent)
        assert status == 200, headers_sent
        assert body


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium; skipped without it (failed under CI)."""
    async with chromium() as launched:
        yield launched


@pytest.mark.browser
async def test_a_phone_coming_back_revalidates_and_downloads_nothing_again(
    livepoll_server: LivepollServer, browser: Browser
) -> None:
    """The second visit in the same browser gets a 304 for every file, the catalogue too."""
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    seen: dict[str, list[tuple[bool, bool]]] = {}
    """Per path: (asked with If-None-Match, answered with a body)."""

    async def on_response(response: Response) -> None:
        asked = "if-none-match" in await response.request.all_headers()
        # Chromium reports a revalidated document as 200; the missing body says 304.
        sent = response.status == 200 and "content-length" in await response.all_headers()
        seen.setdefault(urlsplit(response.url).path, []).append((asked, sent))

    page.on("response", on_response)
    await page.goto(livepoll_server.base_url)
    await expect(page.locator("#waiting")).to_have_text("Waiting for the next question…")
    await page.goto("about:blank")
    await page.goto(livepoll_server.base_url)
    await expect(page.locator("#waiting")).to_have_text("Waiting for the next question…")
    await context.close()
    first, again = (False, True), (True, False)
    paths = ("/", "/boot.js", "/app.js", "/app.css", "/en.json")
    assert seen == dict.fromkeys(paths, [first, again])


@pytest.mark.browser
async def test_the_socket_and_the_catalogue_start_before_the_main_script_arrives(
    livepoll_server: LivepollServer, browser: Browser
) -> None:
    """On a slow link app.js comes last: the socket is dialled and the words asked for first."""
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    dialled = asyncio.Event()
    asked = asyncio.Event()
    page.on("websocket", lambda websocket: dialled.set())
    page.on("request", lambda request: request.url.endswith("/en.json") and asked.set())

    async def hold_app_js(route: Route) -> None:
        # Neither is ever set if only app.js starts them: the test fails after 10 s.
        async with asyncio.timeout(10):
            await dialled.wait()
            await asked.wait()
        await route.continue_()

    await page.route("**/app.js", hold_app_js)
    await page.goto(livepoll_server.base_url)
    await expect(page.locator("#waiting")).to_have_text("Waiting for the next question…")
    await context.close()
