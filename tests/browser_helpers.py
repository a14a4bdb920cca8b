"""Helpers for the browser tests: Chromium through Playwright, the chair, a lossy network."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    WebSocket,
    WebSocketRoute,
    async_playwright,
)
from websockets.asyncio.client import ClientConnection

from clients import connection_recv
from livepoll import protocol

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium; Playwright's own browser downloads are not used."""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
}
"""A typical phone screen (390x844 CSS pixels, as an iPhone 12-15)."""

WAIT_SECONDS = 30.0
"""How long the chair waits for the state a test expects: generous, since it costs
nothing when things work and a loaded machine is slow, not wrong."""

CONNECTION_FAILED = re.compile(r"WebSocket connection to '[^']+' failed: ")
"""How Chromium logs a WebSocket it could not open (offline, server gone)."""

SCREENSHOT_DIR = os.environ.get("LIVEPOLL_SCREENSHOT_DIR")
"""When set, tests save phone-size screenshots of the page's main states there."""


async def snapshot(page: Page, name: str) -> None:
    """Save a screenshot as ``name``.png if LIVEPOLL_SCREENSHOT_DIR is set."""
    if SCREENSHOT_DIR:
        await page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}.png"))


@dataclass
class PageRecorder:
    """Everything a page asked for or complained about, for checks at the end of a test."""

    requests: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    network_failures_expected: bool = False
    """Set by a test that takes the network away: Chromium then logs each failed
    connection attempt as a console error of its own, which is not the page's fault."""

    def unexpected_console_errors(self) -> list[str]:
        """The console errors, less Chromium's failed-connection lines where expected."""
        return [
            text
            for text in self.console_errors
            if not (self.network_failures_expected and CONNECTION_FAILED.match(text))
        ]

    def attach(self, page: Page) -> None:
        """Start recording ``page``'s requests, sockets, errors and dialogs."""

        def on_request(request: Request) -> None:
            self.requests.append(request.url)

        def on_websocket(websocket: WebSocket) -> None:
            self.websockets.append(websocket.url)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.console_errors.append(message.text)

        async def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("request", on_request)
        page.on("websocket", on_websocket)
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("dialog", on_dialog)


class Chair:
    """The session chair on the real presenter channel: sends keys, reads the state."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.state: dict[str, Any] = {}

    async def press(self, action: str) -> None:
        """Send a presenter command (``toggle_voting``, ``next``, ``previous``, ...)."""
        await self.connection.send(protocol.encode_command(action))

    async def goto(self, index: int) -> None:
        """Move to question ``index`` (from 0) and wait until the server is there."""
        await self.connection.send(protocol.encode_command("goto", index))
        await self.wait_for(lambda state: state["index"] == index)

    async def moderate(self, item: int, state: str) -> None:
        """Set a Q&A item's state (``visible``, ``hidden`` or ``answered``)."""
        await self.connection.send(protocol.encode_command("moderate", item=item, state=state))

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Read presenter state frames until one satisfies ``predicate``; return it."""
        if self.state and predicate(self.state):
            return self.state
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                frame = await connection_recv(self.connection)
                if frame["type"] == "state":
                    self.state = frame
                    if predicate(frame):
                        return frame

    async def wait_for_counts(self, counts: list[int], respondents: int) -> dict[str, Any]:
        """Wait until the current question's tally is ``counts`` from ``respondents`` people."""
        try:
            return await self.wait_for(
                lambda s: s["counts"] == counts and s["respondents"] == respondents
            )
        except TimeoutError:
            seen = (self.state.get("counts"), self.state.get("respondents"))
            raise AssertionError(f"expected {counts} from {respondents}, last saw {seen}") from None


class Relay:
    """Sits between the page and the server (Playwright WebSocket routing) to lose frames.

    Frames pass through unless a test holds them: ``hold_votes`` keeps the page's
    votes from the server, ``hold_acks`` keeps acks from the page, ``muted`` loses
    everything the server sends on a connection. Each connection
    the page opens is recorded, so a test can drop one and watch the page recover.
    """

    def __init__(self) -> None:
        self.hold_votes = False
        self.hold_acks = False
        self.held_votes: list[tuple[WebSocketRoute, str]] = []
        self.held_acks: list[tuple[WebSocketRoute, str]] = []
        self.sent: list[list[dict[str, Any]]] = []
        """Per connection, the frames the page sent."""
        self.received: list[dict[str, Any]] = []
        """Every frame the server sent the page, on any connection."""
        self.routes: list[WebSocketRoute] = []
        self.muted: set[int] = set()
        """Connections (by number) whose server frames vanish: a socket dead but open."""

    async def install(self, page: Page) -> None:
        """Route ``page``'s WebSockets to /ws through this relay."""
        await page.route_web_socket("**/ws", self._route)

    def _route(self, route: WebSocketRoute) -> None:
        server = route.connect_to_server()
        number = len(self.sent)
        frames: list[dict[str, Any]] = []
        self.sent.append(frames)
        self.routes.append(route)

        def page_to_server(message: str | bytes) -> None:
            frame = json.loads(message)
            frames.append(frame)
            if frame.get("type") == "vote" and self.hold_votes:
                self.held_votes.append((server, str(message)))
            else:
                server.send(message)

        def server_to_page(message: str | bytes) -> None:
            frame = json.loads(message)
            self.received.append(frame)
            if number in self.muted:
                return
            if frame.get("type") == "ack" and self.hold_acks:
                self.held_acks.append((route, str(message)))
            else:
                route.send(message)

        route.on_message(page_to_server)
        server.on_message(server_to_page)

    def tell_page(self, frame: dict[str, Any]) -> None:
        """Send ``frame`` to the page on its latest connection, as if from the server."""
        self.routes[-1].send(json.dumps(frame))

    def release_votes(self) -> None:
        """Let the held votes through to the server."""
        self.hold_votes = False
        for server, message in self.held_votes:
            server.send(message)
        self.held_votes.clear()

    def release_acks(self) -> None:
        """Let the held acks through to the page."""
        self.hold_acks = False
        for route, message in self.held_acks:
            route.send(message)
        self.held_acks.clear()

    def votes(self) -> list[tuple[int, dict[str, Any]]]:
        """Every vote the page sent, as (connection number, frame)."""
        return [
            (number, frame)
            for number, frames in enumerate(self.sent)
            for frame in frames
            if frame.get("type") == "vote"
        ]


AXE = Path(__file__).parent.parent / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
"""axe-core from npm, installed by ``tasks.py`` (``ensure_axe``) into the git-ignored .tools/."""

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
"""Every WCAG 2.2 A and AA rule axe-core has, and its best-practice rules too."""


async def axe_violations(page: Page, state: str) -> list[str]:
    """Run axe-core on ``page`` and describe each violation as ``state: rule (targets)``.

    The page's context must bypass the CSP (``bypass_csp=True``): Playwright injects
    the script inline, which the page's own policy rightly forbids.
    """
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE))
    found = await page.evaluate(
        """tags => axe
            .run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
            .then(r => r.violations.map(
                v => v.id + " (" + v.nodes.map(n => n.target.join(" ")).join(", ") + ")"))""",
        AXE_TAGS,
    )
    return [f"{state}: {violation}" for violation in found]


@contextlib.asynccontextmanager
async def chromium(*, axe: bool = False) -> AsyncIterator[Browser]:
    """Headless Debian Chromium (and axe-core, with ``axe``); skipped without them, failed
    under CI (``CI`` set), where nothing may be skipped."""
    needs = [(CHROMIUM, "apt-get install chromium")]
    if axe:
        needs.append((AXE, "python3 tasks.py test installs it with npm"))
    for needed, install in needs:
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
