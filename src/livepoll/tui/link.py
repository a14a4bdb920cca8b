"""The presenter link: what the console talks through, live or replayed.

The app does not care where session states come from. It reads one stream of
events (:meth:`PresenterLink.events`) and sends the chair's commands as presenter
command frames (:meth:`PresenterLink.send`). Two links implement it:

- :class:`WebSocketLink`: the live server's presenter channel, reconnecting
  forever with capped, jittered backoff;
- :class:`ReplayLink`: an in-memory sequence of states (a past session shown again
  by ``livepoll results``), which answers next / previous / goto like a server
  whose session cannot change.

The URL rules and the backoff curve are plain functions, unit-tested without a
terminal or a socket.

The reconnecting loop itself (:class:`ReconnectingSocket`) is shared with the
organiser's control room (:mod:`livepoll.tui.control`), which follows another
channel of the same server with the same backoff.

The live link survives any frame a server can send: the server's frames are
bounded by construction (:data:`livepoll.protocol.MAX_PRESENTER_FRAME_BYTES`) and the
link accepts frames several times larger; a frame it cannot decode is skipped; a
frame over its limit makes it reconnect once with a larger limit, up to a ceiling.
The backoff restarts only once a frame has been read, so a server whose frames the
console cannot use is retried slowly, with the reason on screen, never in a tight loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import CloseCode

from livepoll.protocol import (
    MAX_PRESENTER_FRAME_BYTES,
    PresenterState,
    ProtocolError,
    Welcome,
    decode_command,
    decode_presenter_frame,
)

logger = logging.getLogger(__name__)

PRESENTER_PATH = "presenter"
"""The presenter channel's path, below the server's base URL."""

BACKOFF_FIRST = 0.2
"""Seconds before the first retry: a restarting server is usually back at once."""

BACKOFF_CAP = 5.0
"""Longest wait between tries, so the console is back within seconds of the server."""

OPEN_TIMEOUT = 5.0
"""Seconds to wait for the handshake: a dead host should not block the retry loop."""

PING_INTERVAL = 2.0
"""Keepalive pings, so a silently dead link (Wi-Fi gone) is noticed within seconds."""

PING_TIMEOUT = 4.0

MAX_FRAME = 8 * MAX_PRESENTER_FRAME_BYTES
"""The largest frame the link accepts at first (4 MiB): eight times the largest the
server sends, so a server a version ahead still fits."""

MAX_FRAME_CEILING = 64 * 2**20
"""The limit a link grows to, doubling on each frame too large, and no further."""

_SCHEMES = {"http": "ws", "ws": "ws", "https": "wss", "wss": "wss"}


def presenter_url(base_url: str) -> str:
    """The presenter WebSocket URL for a server's base URL.

    Accepts what a chair may type or the server may print: ``http://host:port/``,
    ``https://poll.example.org/sub/``, ``ws://host:port``, a URL that already ends
    in ``/presenter``, or a bare ``host:port``. A path prefix is kept (a server
    behind a reverse proxy, or a room of an event server); query and fragment are
    dropped.

    Raises:
        ValueError: the scheme is not http, https, ws or wss, or there is no host.
    """
    return channel_url(base_url, PRESENTER_PATH)


def channel_url(base_url: str, channel: str) -> str:
    """The WebSocket URL of ``channel`` (``presenter``, ``control``) below a server's
    base URL, by the rules of :func:`presenter_url`.

    Raises:
        ValueError: the URL cannot be read, its scheme is not http, https, ws or wss,
            it has no host, or its port is not a port; the message names the URL.
    """
    text = base_url.strip()
    if "://" not in text:
        text = f"http://{text}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"{base_url!r} is not a URL livepoll can use: {error}") from None
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(f"unsupported scheme {parts.scheme!r} in {base_url!r}")
    if not parts.hostname:
        raise ValueError(f"no host in {base_url!r}")
    if port == 0:
        raise ValueError(f"port 0 in {base_url!r} is no server's port")
    path = parts.path.rstrip("/")
    if not path.endswith(f"/{channel}"):
        path = f"{path}/{channel}"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def reconnect_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before reconnect ``attempt`` (0 for the first retry).

    Exponential from :data:`BACKOFF_FIRST`, capped at :data:`BACKOFF_CAP`, with
    "equal jitter" (a random point in the upper half of the step) so that several
    consoles, or a console and its phones, do not hammer a restarting server in step.
    """
    step = min(BACKOFF_CAP, BACKOFF_FIRST * 2.0 ** min(attempt, 16))
    draw = rng.random() if rng is not None else random.random()
    return step / 2 + draw * step / 2


# -- the interface the app talks through ------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkUp:
    """Commands can reach the session now."""


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The link was lost (or never made): why, and seconds until the next try."""

    detail: str
    retry_in: float


LinkEvent = LinkUp | LinkDown | PresenterState | Welcome | ProtocolError
"""What a link reports: its own ups and downs, and the decoded server frames
(a :class:`ProtocolError` value is an error frame: a command the session refused)."""


class LinkUnavailable(Exception):
    """A command could not be sent; the message says why, for the chair."""


class PresenterLink(ABC):
    """Where the console's session lives: a stream of events in, command frames out."""

    read_only: str | None = None
    """None for a live session; for a replayed one, a line saying what is shown
    (e.g. ``read-only: session 3 from 2025-03-14 10:02``). The app then offers only
    the keys that move between questions."""

    @abstractmethod
    def events(self) -> AsyncIterator[LinkEvent]:
        """Everything the console needs to draw, in order, for as long as the app runs."""

    @abstractmethod
    async def send(self, command: str) -> None:
        """Send one presenter command frame (:func:`livepoll.protocol.encode_command`).

        Raises:
            LinkUnavailable: it could not be sent (no connection right now).
        """


Frame = TypeVar("Frame")
"""What a channel's frames decode to."""


class ReconnectingSocket(Generic[Frame]):
    """A WebSocket channel kept up for as long as its events are read.

    Runs on the app's event loop (websockets' asyncio client must live on the loop
    that uses it). Each failure is reported as :class:`LinkDown`, waited out with
    backoff (:func:`reconnect_delay`) and retried; only cancellation (the app
    exiting) ends it. Subclasses say how a frame decodes and whose token it is.

    Args:
        url: the channel's WebSocket URL.
        token: the secret, sent as a bearer token.
        rng: randomness for the backoff jitter (a seeded one in tests).
        max_size: the largest frame accepted at first.
    """

    token_name = "presenter token"
    """Whose token the server refuses on a 401, for the banner."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        rng: random.Random | None = None,
        max_size: int = MAX_FRAME,
    ) -> None:
        self.url = url
        """The channel's WebSocket URL."""
        self.max_size = max_size
        """The largest frame accepted now; it grows when the server sends a larger one."""
        self._token = token
        self._rng = rng or random.Random()
        self._socket: ClientConnection | None = None

    def decode(self, frame: str | bytes) -> Frame | None:
        """One frame, decoded; None for a frame to skip (this version cannot read it)."""
        raise NotImplementedError

    async def events(self) -> AsyncIterator[LinkUp | LinkDown | Frame]:
        """Connect, yield every decoded frame, and reconnect whenever the link drops."""
        attempt = 0
        while True:
            detail = "connection closed"
            try:
                async with connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {self._token}"},
                    open_timeout=OPEN_TIMEOUT,
                    ping_interval=PING_INTERVAL,
                    ping_timeout=PING_TIMEOUT,
                    max_size=self.max_size,
                ) as socket:
                    self._socket = socket
                    yield LinkUp()
                    async for frame in socket:
                        decoded = self.decode(frame)
                        if decoded is not None:
                            # The link works: a later drop is retried at once again.
                            attempt = 0
                            yield decoded
            except InvalidStatus as error:
                detail = self._refused(error.response.status_code)
            except (OSError, TimeoutError, InvalidHandshake) as error:
                detail = _describe(error)
            except ConnectionClosed as error:
                detail = self._too_large(error) or "connection lost"
            except Exception as error:  # the console must keep trying, whatever broke
                logger.exception("link to %s failed", self.url)
                detail = f"unexpected error: {error}"
            finally:
                self._socket = None
            delay = reconnect_delay(attempt, self._rng)
            attempt += 1
            yield LinkDown(detail, delay)
            await asyncio.sleep(delay)

    def _refused(self, status: int) -> str:
        """Why the handshake was answered with ``status``, for the banner."""
        if status in (401, 403):
            return f"the server refused the {self.token_name} (HTTP {status})"
        if status == 429:
            return "the server refuses this address for a while after too many wrong tokens"
        return f"the server answered HTTP {status}"

    def _too_large(self, error: ConnectionClosed) -> str | None:
        """If the link closed because a frame was over its limit, raise the limit (up to
        :data:`MAX_FRAME_CEILING`) and say so; None for any other close."""
        if error.sent is None or error.sent.code != CloseCode.MESSAGE_TOO_BIG:
            return None
        limit = self.max_size
        if limit >= MAX_FRAME_CEILING:
            return f"the server sends frames over {_size(limit)}; the console cannot take them"
        self.max_size = min(limit * 2, MAX_FRAME_CEILING)
        return f"the server sent a frame over {_size(limit)}; retrying with a larger limit"

    async def send(self, command: str) -> None:
        """Send on the current connection, if there is one.

        Raises:
            LinkUnavailable: there is no connection right now, or it dropped.
        """
        socket = self._socket
        if socket is None:
            raise LinkUnavailable("Not connected to the server: the key had no effect.")
        try:
            await socket.send(command)
        except ConnectionClosed:
            raise LinkUnavailable(
                "The link dropped before the command was sent; try again once reconnected."
            ) from None


class WebSocketLink(ReconnectingSocket[PresenterState | Welcome | ProtocolError], PresenterLink):
    """The live server's presenter channel, kept up for as long as events are read.

    Args:
        url: the server's base URL (``http://host:port/``) or presenter URL.
        token: the presenter secret (or the event's organiser token), sent as a
            bearer token.
        rng: randomness for the backoff jitter (a seeded one in tests).
        watch: dial the channel read-only (``?watch=1``): the organiser looking at a
            room without running it; the server refuses this console's commands.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        rng: random.Random | None = None,
        max_size: int = MAX_FRAME,
        watch: bool = False,
    ) -> None:
        channel = presenter_url(url)
        super().__init__(
            channel + "?watch=1" if watch else channel, token, rng=rng, max_size=max_size
        )
        self.watching = watch
        """The console only watches: the server refuses its commands."""

    def decode(self, frame: str | bytes) -> PresenterState | Welcome | ProtocolError | None:
        """A presenter frame (see :func:`_decode`)."""
        return _decode(frame)


def _decode(frame: str | bytes) -> PresenterState | Welcome | ProtocolError | None:
    """One server frame, decoded; None for a frame this version cannot read."""
    try:
        return decode_presenter_frame(frame)
    except ProtocolError as error:
        # Skip it rather than drop the link: the next state frame carries everything.
        logger.warning("ignored a frame from the server: %s", error.message)
        return None
    except Exception:
        # Whatever a frame holds must not drop the link: the server would send it again
        # on every reconnect.
        logger.exception("ignored a frame from the server that could not be decoded")
        return None


def _size(limit: int) -> str:
    """A frame limit for the banner: ``4 MiB`` or ``64 KiB``."""
    if limit >= 2**20:
        return f"{limit / 2**20:g} MiB"
    return f"{limit / 2**10:g} KiB"


def _describe(error: BaseException) -> str:
    """A short reason for the banner, e.g. 'connection refused'."""
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


class ReplayLink(PresenterLink):
    """A fixed sequence of states, one per question, that the chair can step through.

    It answers ``next``, ``previous`` and ``goto`` the way the server would (moving
    to that question's state) and refuses every other command: a past session
    cannot change.

    Args:
        states: one state per question, in deck order (``states[i].index == i``).
        welcome: what the console shows in its session line.
        read_only: the line saying which session this is and when it ran.
        start: the question shown first.
    """

    def __init__(
        self,
        states: Sequence[PresenterState],
        welcome: Welcome,
        read_only: str,
        *,
        start: int = 0,
    ) -> None:
        if not states:
            raise ValueError("a replay needs at least one state")
        self.states = tuple(states)
        self.welcome = welcome
        self.read_only = read_only
        self.index = max(0, min(start, len(self.states) - 1))
        """The question shown now."""
        self._commands: asyncio.Queue[str] = asyncio.Queue()

    async def events(self) -> AsyncIterator[LinkEvent]:
        """The welcome and the first state at once, then one reply per command."""
        yield LinkUp()
        yield self.welcome
        yield self.states[self.index]
        while True:
            reply = self.answer(await self._commands.get())
            if reply is not None:
                yield reply

    async def send(self, command: str) -> None:
        """Queue a command; its answer comes out of :meth:`events`."""
        self._commands.put_nowait(command)

    def answer(self, command: str) -> PresenterState | ProtocolError | None:
        """The state a command leads to, an error for one a past session refuses,
        or None when nothing changes (``next`` on the last question)."""
        try:
            decoded = decode_command(command)
        except ProtocolError as error:
            return error
        moves = {"next": self.index + 1, "previous": self.index - 1, "goto": decoded.index}
        if decoded.action not in moves:
            return ProtocolError(
                "read_only", "This is a past session, shown read-only: it cannot change."
            )
        target = moves[decoded.action]
        if target is None or not 0 <= target < len(self.states) or target == self.index:
            return None
        self.index = target
        return self.states[target]
