"""The AV desk's screen: the room's view in a browser, live and read-only.

In many venues the projector hangs off the AV desk, not the chair's laptop. The
server prints a second URL, ``/screen?token=…``, with a token of its own: a browser
there shows the question, the results the chair has revealed, the join strip (the
URL in large text and a QR code) and, after a quiz, the leaderboard, and follows the
chair live. It shows nothing only the chair may see: no moderation queue, no waiting
or hidden Q&A items, no tokens, no database path, no notices.

Why a small page of our own rather than the real console in a browser
(``textual-serve``): textual-serve 1.1.3 needs aiohttp and jinja2 and a port of its
own (this server is websockets' own HTTP, which cannot host aiohttp), runs one
console process per viewer (about 50 MB each), and its page never reconnected after
its server restarted, while the AV screen must come back by itself when ``livepoll
run`` restarts the server. It also draws on a canvas, which neither a screen reader
nor a browser test can read. The page here is three static files in the package
(no build step, the phone page's strict Content-Security-Policy), fed by a channel
that can only listen: one state, encoded once per change and sent to every screen,
at most five times a second.

The channel: the page sends ``{"type": "screen", "token": …}`` first (a browser
cannot set an Authorization header on a WebSocket, and a token in the socket's URL
ends up in proxies' logs). A wrong token closes the connection with a reason the
page shows; wrong tokens are counted per address like the presenter token's, so
guessing is slow and logged. Anything a screen sends afterwards is answered with a
``read_only`` error and changes nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import os
import re
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import qrcode
import qrcode.constants
from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

from livepoll import protocol
from livepoll.server.guard import PRESENTER_LIMITS, FailureGuard
from livepoll.server.limits import TokenBucket

if TYPE_CHECKING:
    from livepoll.server.app import LivepollServer

SCREEN_PAGE = "/screen"
SCREEN_SOCKET = "/screen-ws"
SCREEN_TOKEN_ENV = "LIVEPOLL_SCREEN_TOKEN"
"""The environment variable that carries the screen token: ``livepoll run`` hands
its server the same one on every restart, so the AV screen's URL stays valid."""

SCREEN_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,128}\Z")
"""A screen token: at least 22 base64url characters, i.e. at least 128 bits."""

MAX_SCREENS = 32
"""Screens connected at once: a venue has a few projectors and confidence monitors. A
screen that stops reading keeps its frames in the server's memory until its pings time
out, so a leaked screen URL must not open thousands of them."""

TICKS_PER_SCREEN_UPDATE = 2
"""Screens get the state at most five times a second (the server ticks at 10 Hz)."""

QR_QUIET_ZONE = 4
"""Modules of light margin around the code, as ISO/IEC 18004 asks for."""

READ_ONLY = protocol.encode_error(
    "read_only", "this is the read-only screen view: it shows the session and controls nothing"
)
SCREEN_RATE = 2.0
"""Frames a second a screen may send on average (it has no reason to send any)."""
SCREEN_BURST = 20.0
"""Frames a screen may send at once; beyond the rate and the burst it is closed."""


class ScreenTokenError(Exception):
    """A screen token given in the environment that cannot be used."""


def screen_token_from_environment() -> str | None:
    """The screen token in :data:`SCREEN_TOKEN_ENV`, or None when it is not set.

    Raises:
        ScreenTokenError: it is set but is not 22-128 base64url characters.
    """
    value = os.environ.get(SCREEN_TOKEN_ENV, "").strip()
    if not value:
        return None
    if not SCREEN_TOKEN.match(value):
        raise ScreenTokenError(
            f"${SCREEN_TOKEN_ENV} must be 22 to 128 base64url characters (at least 128 "
            "bits); leave it unset and livepoll makes one"
        )
    return value


@lru_cache(maxsize=8)
def qr_path(data: str) -> dict[str, Any]:
    """The QR code of ``data`` as SVG path data: one ``h`` run per row of dark modules.

    Returns:
        ``{"size": N, "path": D}``: an N × N code (quiet zone included) whose dark
        modules ``D`` draws in a ``0 0 N N`` view box.
    """
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QR_QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    return {"size": len(matrix), "path": "".join(runs)}


class ScreenChannel:
    """The connected AV screens of one server, and what they were last sent."""

    def __init__(self, server: LivepollServer, token: str) -> None:
        self._server = server
        self._token = token.encode()
        self.connections: set[ServerConnection] = set()
        self.guard = FailureGuard("wrong screen tokens", PRESENTER_LIMITS)
        self._sent_key: tuple[Any, ...] | None = None

    def url(self, join_url: str) -> str:
        """The address the AV desk opens: the join URL's host, with the token."""
        return f"{join_url}screen?token={self._token.decode()}"

    def state(self) -> str:
        """The screen state as of now, encoded."""
        server = self._server
        join = server.join_info()
        return protocol.encode_screen_state(
            server.session, phones=server.phones, now=time.time(), join=join, qr=qr_path(join.url)
        )

    def forget_sent(self) -> None:
        """Send the state at the next tick whatever it is (the room began a new session,
        whose first state may look like the last one sent)."""
        self._sent_key = None

    def tick(self, ticks: int) -> None:
        """Send every screen the state if anything it shows changed (every other tick)."""
        if not self.connections or ticks % TICKS_PER_SCREEN_UPDATE:
            return
        server = self._server
        left = server.session.current.time_left(time.time())
        key = (
            server.session.version,
            server.phones,
            server.join_info(),
            None if left is None else math.ceil(left),
        )
        if key == self._sent_key:
            return
        self._sent_key = key
        broadcast(self.connections, self.state())

    async def handle(self, connection: ServerConnection, address: str) -> None:
        """One screen: its token first, then it listens; whatever it says changes nothing."""
        wait = self.guard.wait(address, time.monotonic())
        if wait > 0:
            await connection.close(
                1008, f"too many wrong screen tokens; retry in {math.ceil(wait)} s"
            )
            return
        try:
            async with asyncio.timeout(self._server.config.hello_timeout):
                frame = await connection.recv()
        except TimeoutError:
            await connection.close(1008, "no screen token")
            return
        except ConnectionClosed:
            return
        try:
            token = protocol.decode_screen_hello(frame)
        except protocol.ProtocolError:
            token = ""
        if not hmac.compare_digest(token.encode("utf-8", "replace"), self._token):
            self.guard.failed(address, time.monotonic())
            await connection.close(1008, "wrong screen token")
            return
        if len(self.connections) >= MAX_SCREENS:
            await connection.close(1008, f"too many screens (at most {MAX_SCREENS})")
            return
        self.connections.add(connection)
        bucket = TokenBucket(SCREEN_RATE, SCREEN_BURST)
        try:
            await connection.send(self.state())
            async for _ in connection:
                if not bucket.take(time.monotonic()):
                    await connection.close(1008, "a screen sends nothing")
                    return
                await connection.send(READ_ONLY)
        except ConnectionClosed:
            pass
        finally:
            self.connections.discard(connection)
