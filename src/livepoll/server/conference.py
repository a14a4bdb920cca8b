"""The event server: every room of a conference on one port, one store, one process.

``livepoll serve EVENT.toml`` runs each room of the event file as a room server
(:class:`~livepoll.server.app.LivepollServer`, the same code a one-room ``serve``
runs) below ``/r/<room id>/``: its page, its phones' socket, its presenter channel
and its AV screen. In front of them, this module answers what belongs to the event:

- ``/`` lists the rooms for someone who typed only the host name, and ``/r/<id>/``
  of a room that does not exist answers 404 with the same list;
- ``/control`` is the organiser's channel: one summary row per room, pushed about
  once a second, and the command that moves a room to its next session;
- ``/healthz`` is the event's (one store, so one health).

Tokens are derived from the database's secret (:func:`event_tokens`): one presenter
token per room, which opens that room's console and no other; one organiser token,
which opens the control room and, for watching or running it, any room's console.
Wrong tokens on any of them are counted together per address.

Each room keeps its own ticker, so a busy room's broadcasts never wait on another's;
all rooms share the one store writer, whose group commit then batches every room's
votes into the same transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import logging
import math
import time
from base64 import b64encode
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from livepoll import protocol
from livepoll.event import Event, Room
from livepoll.presenter_token import derived_token
from livepoll.server.app import (
    LivepollServer,
    ServerConfig,
    health_response,
    open_room,
    refuse_repeated_header,
)
from livepoll.server.app import _address as remote_address
from livepoll.server.app import _listen as listen
from livepoll.server.capacity import Capacity
from livepoll.server.guard import PRESENTER_LIMITS, FailureGuard
from livepoll.server.network import join_url
from livepoll.server.web import (
    PAGE_METHODS,
    REASONS,
    WEBSOCKET_METHODS,
    add_nosniff,
    method_not_allowed,
)
from livepoll.store import SessionMode, Store

logger = logging.getLogger("livepoll.server")

ROOMS_PREFIX = "/r/"
CONTROL_PATH = "/control"
CONTROL_PERIOD = 1.0
"""Seconds between the control room's summaries: a wall of rooms, not a live chart."""

_ROOMS_STYLE = (
    "body{font:18px/1.5 system-ui,sans-serif;margin:0 auto;max-width:40rem;padding:1rem;"
    "color:#0b0c0c;background:#fff}a{color:#1d4ed8}li{margin:.5rem 0}"
    "@media (prefers-color-scheme:dark){body{color:#f3f4f6;background:#111827}"
    "a{color:#93c5fd}}"
)
_ROOMS_POLICY = (
    "default-src 'none'; "
    f"style-src 'sha256-{b64encode(hashlib.sha256(_ROOMS_STYLE.encode()).digest()).decode()}'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The rooms page has no script and one style block, allowed by its hash."""


@dataclass(frozen=True, slots=True)
class EventTokens:
    """Every secret of an event, derived from its database (see
    :func:`livepoll.presenter_token.derived_token`)."""

    organiser: str
    presenters: dict[str, str]
    """Room id → the token of that room's console."""
    screens: dict[str, str]
    """Room id → the token of that room's AV screen."""


def event_tokens(secret: bytes, event: Event) -> EventTokens:
    """The tokens of ``event`` in the database whose secret is ``secret``."""
    return EventTokens(
        organiser=derived_token(secret, "organiser"),
        presenters={
            room.id: derived_token(secret, f"presenter\0{room.id}") for room in event.rooms
        },
        screens={room.id: derived_token(secret, f"screen\0{room.id}") for room in event.rooms},
    )


async def programme_position(store: Store, room: Room) -> tuple[int, SessionMode]:
    """Which deck of ``room``'s programme runs when the server starts, and how.

    The room's sessions are its programme so far, in order: the latest one resumes if
    it did not end (a restart mid-session); if it ended (the chair moved on and the
    server stopped before the next began), the next deck starts. A programme that
    has run out stays on its last deck.
    """
    sessions = await store.room_sessions(room.id)
    if not sessions:
        return 0, "new"
    last = len(room.decks) - 1
    done = len(sessions)
    _, ended = sessions[-1]
    if not ended:
        return min(done - 1, last), "auto"
    if done <= last:
        return done, "new"
    return last, "resume"


def plain_response(
    status: int, content_type: str, body: bytes, *, policy: bool = False
) -> Response:
    """A response of the event's own (the rooms page, a redirect, the health check)."""
    headers = Headers()
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    headers["Cache-Control"] = "no-cache"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    if policy:
        headers["Content-Security-Policy"] = _ROOMS_POLICY
    return Response(status, REASONS.get(status, "OK"), headers, body)


def rooms_response(status: int, page: str) -> Response:
    """The rooms page (from :func:`rooms_page`) as a response, with its policy."""
    return plain_response(status, "text/html; charset=utf-8", page.encode(), policy=True)


def rooms_page(
    title: str, rooms: dict[str, str], missing_room: str | None, *, missing_path: bool = False
) -> str:
    """The list of ``rooms`` (id → name) of the event ``title``, as a page; with a
    sentence first when the address asked for a room (or a page) that does not exist.

    The event server and the gateways of an event on Redis both answer with it, so a
    phone meets the same page whichever process holds it.
    """
    escaped = html.escape(title)
    if missing_room is not None:
        heading = "This room does not exist"
        lead = (
            f"<p>There is no room “{html.escape(missing_room)}” at {escaped}. "
            "Check the address on the screen, or choose your room:</p>"
        )
    elif missing_path:
        heading = "Page not found"
        lead = f"<p>There is no such page at {escaped}. Choose your room:</p>"
    else:
        heading = escaped
        lead = "<p>Choose your room to vote:</p>"
    items = "".join(
        f'<li><a href="{ROOMS_PREFIX}{html.escape(room_id)}/">{html.escape(name)}</a></li>'
        for room_id, name in rooms.items()
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(heading)}</title><style>{_ROOMS_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(heading)}</h1>{lead}"
        f'<nav aria-label="Rooms"><ul>{items}</ul></nav></main></body></html>\n'
    )


def message_page(heading: str, text: str, *, refresh_seconds: int = 0) -> str:
    """A page of one heading and one paragraph, in the rooms page's style (and under
    its policy); with ``refresh_seconds``, the browser loads the address again after
    that long (a page that says the poll has not started yet replaces itself with the
    poll once it has)."""
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{refresh}'
        f"<title>{html.escape(heading)}</title><style>{_ROOMS_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(heading)}</h1><p>{html.escape(text)}</p>"
        "</main></body></html>\n"
    )


class ConferenceServer:
    """The front of an event server: routes each request to its room, or answers it."""

    def __init__(
        self, event: Event, store: Store, rooms: dict[str, LivepollServer], organiser: str
    ) -> None:
        self.event = event
        self.store = store
        self.rooms = rooms
        """Room id → its server, in the event file's order."""
        self._organiser = organiser.encode()
        self.guard = FailureGuard("wrong organiser or presenter tokens", PRESENTER_LIMITS)
        self.controllers: set[ServerConnection] = set()
        self._capacity = Capacity()
        self._sent_summary = ""
        self.port = 0
        self.join_url = ""
        """The event's address: the rooms page (each room is ``r/<id>/`` below it)."""
        for room in rooms.values():
            # One count of wrong tokens per address for the whole event: trying each
            # room's channel in turn is no faster than trying one.
            room.presenter_guard = self.guard
        store.on_problem_changed = self._storage_problem_changed

    @property
    def organiser_token(self) -> str:
        """The organiser's token (a secret: it runs every room)."""
        return self._organiser.decode()

    @property
    def base_url(self) -> str:
        """The loopback URL of the event, for clients on this machine."""
        first = next(iter(self.rooms.values()))
        return first.base_url.removesuffix(f"{first.config.path_prefix}/") + "/"

    def _storage_problem_changed(self, problem: str | None) -> None:
        for room in self.rooms.values():
            room._storage_problem_changed(problem)  # noqa: SLF001

    # HTTP

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Send a request to its room, or answer the event's own pages and channel."""
        refusal = refuse_repeated_header(connection, request)
        if refusal is not None:
            return refusal
        path = urlsplit(request.path).path
        if path.startswith(ROOMS_PREFIX):
            room_id, slash, rest = path[len(ROOMS_PREFIX) :].partition("/")
            room = self.rooms.get(room_id)
            if room is None:
                return self._no_such_room(room_id)
            if not slash:
                return self._redirect(f"{ROOMS_PREFIX}{room_id}/")
            return room.route_request(connection, request, "/" + rest)
        if path == CONTROL_PATH:
            if request.method not in WEBSOCKET_METHODS:
                return method_not_allowed(WEBSOCKET_METHODS)
            return self._control_handshake(connection, request)
        if request.method not in PAGE_METHODS:
            return method_not_allowed(PAGE_METHODS)
        if path == "/healthz":
            return self._health()
        if path == "/":
            return self._page(200, self._rooms_page(None))
        return self._page(404, self._rooms_page(None, missing_path=True))

    def process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> Response:
        """Every response, the library's own included, says ``nosniff``."""
        return add_nosniff(response)

    def _health(self) -> Response:
        """The event's health: its one store's, then any room's link to its gateways."""
        return health_response(self.store.problem, self.gateway_problem)

    @property
    def gateway_problem(self) -> str | None:
        """Why the gateways' phones cannot reach the rooms (every room of an event owned
        on Redis shares one client, so one sentence says it); None while they can."""
        for room in self.rooms.values():
            problem = room.gateway_problem
            if problem is not None:
                return problem
        return None

    def _no_such_room(self, room_id: str) -> Response:
        return self._page(404, self._rooms_page(room_id))

    def _redirect(self, location: str) -> Response:
        response = self._respond(301, "text/plain; charset=utf-8", b"Moved.\n")
        response.headers["Location"] = location
        return response

    def _page(self, status: int, body: str) -> Response:
        return rooms_response(status, body)

    def _respond(
        self, status: int, content_type: str, body: bytes, *, policy: bool = False
    ) -> Response:
        return plain_response(status, content_type, body, policy=policy)

    def _rooms_page(self, missing_room: str | None, *, missing_path: bool = False) -> str:
        rooms = {room_id: room.config.room_name or room_id for room_id, room in self.rooms.items()}
        return rooms_page(self.event.title, rooms, missing_room, missing_path=missing_path)

    def _control_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        """The organiser: the token, with wrong ones limited and logged per address."""
        refusal = self._capacity.refusal(len(connection.server.handler_tasks))
        if refusal is not None:
            return refusal
        address = remote_address(connection)
        now = time.monotonic()
        wait = self.guard.wait(address, now)
        if wait > 0:
            response = connection.respond(
                429, "Too many wrong tokens from this address; wait and retry.\n"
            )
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credentials.strip().encode(), self._organiser
        ):
            self.guard.failed(address, now)
            return connection.respond(401, "The control room needs the organiser token.\n")
        return None

    # WebSocket

    def handle(self, connection: ServerConnection) -> Awaitable[None]:
        """Route a WebSocket connection to its room's channel, or the control room (the
        channel's coroutine is returned for the connection's task to run, as
        :meth:`LivepollServer.route` does)."""
        path = urlsplit(connection.request.path if connection.request else "").path
        if path == CONTROL_PATH:
            return self._control(connection)
        room_id, _, rest = path.removeprefix(ROOMS_PREFIX).partition("/")
        room = self.rooms.get(room_id) if path.startswith(ROOMS_PREFIX) else None
        if room is None:
            return connection.close(1008, "unknown path")
        return room.route(connection, "/" + rest)

    async def _control(self, connection: ServerConnection) -> None:
        self.controllers.add(connection)
        try:
            await connection.send(self.summary())
            async for frame in connection:
                try:
                    command = protocol.decode_control_command(frame)
                except protocol.ProtocolError as error:
                    await connection.send(protocol.encode_error(error.code, error.message))
                    continue
                room = self.rooms.get(command.room)
                if room is None:
                    known = ", ".join(self.rooms)
                    await connection.send(
                        protocol.encode_error(
                            "no_such_room", f"no room {command.room!r} (rooms: {known})"
                        )
                    )
                    continue
                refusal = await room.next_session()
                if refusal is not None:
                    await connection.send(protocol.encode_error("no_next_session", refusal))
                    continue
                logger.info("control room: %s moved to its next session", command.room)
                self._push_summary()
        except ConnectionClosed:
            pass
        finally:
            self.controllers.discard(connection)

    def summary(self) -> str:
        """The control room's frame as of now."""
        now = time.time()
        return protocol.encode_event_summary(
            self.event.title,
            [room.summary(now) for room in self.rooms.values()],
            self.store.problem,
            self.gateway_problem,
        )

    def _push_summary(self) -> None:
        if not self.controllers:
            return
        summary = self.summary()
        if summary != self._sent_summary:
            self._sent_summary = summary
            broadcast(self.controllers, summary)

    async def summarise_forever(self) -> None:
        """Push the rooms' summary to the control room when it changed, once a second."""
        while True:
            await asyncio.sleep(CONTROL_PERIOD)
            self._push_summary()


@contextlib.asynccontextmanager
async def running_conference(event: Event, config: ServerConfig) -> AsyncIterator[ConferenceServer]:
    """Start an event server for ``event`` with ``config``'s listening and limits.

    A clean stop does not end the rooms' sessions: restarting the server resumes each
    room where it was; a session ends when its room moves on.

    Raises:
        PortInUse: the port is taken.
        livepoll.store.StorageError: the database cannot be used.
    """
    store = await Store.open(config.database)
    try:
        tokens = event_tokens(await store.secret(), event)
        rooms: dict[str, LivepollServer] = {}
        for room in event.rooms:
            index, mode = await programme_position(store, room)
            room_config = replace(
                config,
                deck=room.decks[0],
                programme=room.decks,
                room_id=room.id,
                room_name=room.name,
                path_prefix=f"{ROOMS_PREFIX.rstrip('/')}/{room.id}",
                join_mode=room.join,
                presenter_token=tokens.presenters[room.id],
                screen_token=tokens.screens[room.id],
                organiser_token=tokens.organiser,
                end_session_on_stop=False,
            )
            rooms[room.id] = await open_room(room_config, store, programme_index=index, mode=mode)
        front = ConferenceServer(event, store, rooms, tokens.organiser)
        websocket_server = await listen(front, config)
        sockets = websocket_server.sockets
        front.port = int(sockets[0].getsockname()[1]) if sockets else config.port
        front.join_url, warning = join_url(
            config.host, front.port, config.public_url, tls=config.tls is not None
        )
        for room_id, served in rooms.items():
            served.port = front.port
            served.join_url = f"{front.join_url}r/{room_id}/"
            if warning:
                served.notices.append(warning)
            if served.resumed:
                served.notices.append(f"resumed session {served.session_id} from the database")
        tasks = [
            asyncio.create_task(served.tick_forever(), name=f"livepoll-ticker-{room_id}")
            for room_id, served in rooms.items()
        ]
        tasks.append(asyncio.create_task(front.summarise_forever(), name="livepoll-control"))
        try:
            yield front
        finally:
            for task in tasks:
                task.cancel()
            websocket_server.close()
            await websocket_server.wait_closed()
    finally:
        await store.close()
