"""The livepoll server: HTTP for the page, WebSockets for phones and the presenter.

One process, one event loop, one session. Phones send votes on the audience channel;
each vote is checked by the protocol and the engine, queued to the store, and
acknowledged only once its transaction has committed. The presenter (the TUI) sends
commands and receives the session state, coalesced and pushed at most ten times a
second, however fast votes arrive. AV desk screens (``/screen``) get the room's part
of that state on a channel of their own that can only listen (``server.screen``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import json
import logging
import math
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from livepoll import __version__, protocol
from livepoll.deck import Deck
from livepoll.engine import (
    MAX_QA_ITEMS,
    MAX_TEXT_ANSWERS,
    MIN_SEGMENT,
    Answer,
    Event,
    EventKind,
    QuestionState,
    Rejection,
    Session,
    StoredQuestionState,
)
from livepoll.server.admission import Gate, JoinMode
from livepoll.server.assets import StaticFiles, content_security_policy
from livepoll.server.bus import PhoneRelay
from livepoll.server.capacity import Capacity
from livepoll.server.guard import PRESENTER_LIMITS, FailureGuard
from livepoll.server.limits import FrameLimiter, RecentCounter
from livepoll.server.network import join_url, url_host
from livepoll.server.proxy import FORWARDED_FOR, NO_PROXIES, TrustedProxies
from livepoll.server.screen import SCREEN_SOCKET, ScreenChannel
from livepoll.server.tls import ServerTls
from livepoll.server.web import (
    PAGE_METHODS,
    REASONS,
    WEBSOCKET_METHODS,
    accepts_gzip,
    add_nosniff,
    method_not_allowed,
    repeated_header,
    without_body,
)
from livepoll.store import SessionMode, Store, voter_key

logger = logging.getLogger("livepoll.server")

DEFAULT_PORT = 8321
PORT_ATTEMPTS = 20
"""How many ports after the default to try when it is taken (only for the default)."""

TICK_SECONDS = 0.1
"""The presenter's refresh period: fast enough to feel live, slow enough to coalesce."""
TICKS_PER_PHONE_UPDATE = 5
"""Phones get live results at most twice a second: thousands of them share the Wi-Fi."""

MAX_WEBSOCKET_MESSAGE = 64 * 1024
"""Hard limit: the connection closes (1009). Frames above protocol.MAX_FRAME_BYTES but
under this get a polite error frame instead, so a confused client is told why."""

LISTEN_BACKLOG = 4096
"""Thousands of phones scan the QR code in the same few seconds."""

DEFAULT_RATE_LIMIT = 5.0
RATE_BURST_SECONDS = 2.0
"""A phone may send ``rate_limit * RATE_BURST_SECONDS`` messages in a quick burst."""

PHONE_SEND_BUFFER_LIMIT = 64 * 1024
"""Bytes waiting to go to one phone (beyond what the kernel's socket buffer holds) above
which broadcasts skip it. websockets' ``broadcast`` applies no backpressure: a phone
that stops reading would otherwise keep every frame sent to it in memory (50 of them
took a server from 41 MB to 909 MB in 20 s). 64 KiB is several ordinary frames, so a
phone on slow Wi-Fi that is a frame behind still gets the next; a skipped phone gets
the current state once it has caught up, so it misses no question change."""
PHONE_STALL_SECONDS = 5.0
"""A phone still over :data:`PHONE_SEND_BUFFER_LIMIT` this long is disconnected, which
frees its buffer at once: a phone that reads nothing for seconds has lost the Wi-Fi or
is not a phone, and the page reconnects and re-syncs by itself."""
HELLO_TIMEOUT = 5.0
"""Seconds a phone has after its handshake to say hello (the page says it at once); a
connection that stays silent is closed, so silent sockets cannot pile up."""

AUDIENCE_PATH = "/ws"
PRESENTER_PATH = "/presenter"

WATCHING_ONLY = protocol.encode_error(
    "read_only", "this console watches the room: it shows the session and changes nothing"
)
STORAGE_PROBLEM_NOTICE = protocol.encode_notice(
    "storage_problem", "Votes are not being saved right now; retrying…"
)


@dataclass(slots=True)
class ServerConfig:
    """Everything needed to start a server; the CLI builds one from its flags."""

    deck: Deck
    database: Path
    host: str | None = None
    """Address to listen on; None listens on every interface."""
    port: int = DEFAULT_PORT
    port_fallback: bool = False
    """Try the next ports when ``port`` is taken (for the default port only)."""
    public_url: str | None = None
    presenter_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    screen_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    """Opens the AV desk's read-only screen view (``/screen``); it controls nothing."""
    session_mode: SessionMode = "auto"
    end_session_on_stop: bool = True
    """A clean stop ends the session, so the next start on this deck begins anew."""
    rate_limit: float = DEFAULT_RATE_LIMIT
    """Messages a second one phone may send on average (votes, questions, upvotes)."""
    join_mode: JoinMode = "open"
    """Who may vote: any phone, phones with the room code, or phones with a ticket."""
    max_per_address: int = 0
    """Phones allowed from one IP address; 0 (the default) is no cap, because a whole
    conference may sit behind one NAT address."""
    min_segment: int = MIN_SEGMENT
    """Cross-tab segments with fewer respondents than this are not shown on the console."""
    hello_timeout: float = HELLO_TIMEOUT
    """Seconds a phone connection has to say hello before it is closed."""
    handshake_timeout: float = 10.0
    """Seconds a client has to complete the WebSocket opening handshake (a client that
    sends half a request and stalls is disconnected then)."""
    ping_interval: float = 20.0
    """Seconds between keepalive pings to each connection."""
    ping_timeout: float = 20.0
    """Seconds to wait for the pong; a connection that does not answer is closed."""
    max_qa_items: int = MAX_QA_ITEMS
    """Items one Q&A question takes from phones (see :data:`livepoll.engine.MAX_QA_ITEMS`)."""
    max_text_answers: int = MAX_TEXT_ANSWERS
    """Answers one text question takes (see :data:`livepoll.engine.MAX_TEXT_ANSWERS`)."""
    room_id: str | None = None
    """The event's room this server is (its sessions are stored with it); None on a
    one-room server."""
    room_name: str = ""
    programme: tuple[Deck, ...] = ()
    """An event room's decks, in order; empty on a one-room server, which runs ``deck``."""
    path_prefix: str = ""
    """Where the room lives below the server's root: ``/r/<id>`` in an event, else empty."""
    organiser_token: str | None = None
    """The event's organiser token, which opens this room's console too (the control
    room attaches with it); None on a one-room server."""
    tls: ServerTls | None = None
    """Serve HTTPS and WSS (``--tls-cert``/``--tls-key``, see ``livepoll.server.tls``);
    None serves plain HTTP, for a laptop or behind a proxy."""
    trusted_proxies: TrustedProxies = NO_PROXIES
    """Peers whose X-Forwarded-For names the phone's address (see ``server.proxy``)."""


class PortInUse(Exception):
    """The requested port is taken by another program."""


class LivepollServer:
    """One room's server: its session, its connections, and the store it writes to.

    On its own it is the one-room server ``livepoll serve DECK`` runs, listening on
    its own port. An event server (:mod:`livepoll.server.conference`) runs one per
    room on a shared port and store, each below ``/r/<id>``, and moves a room from
    one deck of its programme to the next (:meth:`next_session`).
    """

    def __init__(
        self,
        config: ServerConfig,
        store: Store,
        session: Session,
        session_id: int,
        salt: bytes,
        gate: Gate,
    ) -> None:
        self.config = config
        self.gate = gate
        self.store = store
        self.session = session
        self.session_id = session_id
        self.resumed = False
        self._salt = salt
        self._static = StaticFiles.load()
        self.audience: set[ServerConnection] = set()
        self.presenters: set[ServerConnection] = set()
        self._pages: dict[ServerConnection, tuple[str, int]] = {}
        """Per presenter, the Q&A and the moderation page it asked for (the first
        page of any other question)."""
        self.port = 0
        self.join_url = ""
        self.notices: list[str] = []
        """Things the chair should know, shown by the TUI and printed by ``serve``."""
        self._sent_version = -1
        self._sent_phones = -1
        self._sent_problem: str | None = None
        self._sent_gateway_problem: str | None = None
        self._sent_results_version = -1
        self._behind: dict[ServerConnection, float] = {}
        """Phones over the send-buffer bound, with when they were first seen over it."""
        self.phones_dropped = 0
        """Phones disconnected for not reading what they were sent."""
        self._per_address: Counter[str] = Counter()
        """Open audience connections per remote address (never logged or stored)."""
        self._voters: Counter[str] = Counter()
        """Open audience connections that said hello, per voter key: one phone (one
        token) with many tabs or connections is one phone in the turnout."""
        self._server: Server | None = None
        self._capacity = Capacity()
        self.presenter_guard = FailureGuard("wrong presenter tokens", PRESENTER_LIMITS)
        self.screens = ScreenChannel(self, config.screen_token)
        self.relay: PhoneRelay | None = None
        """The phones this process does not hold (gateways on Redis), when it owns a
        room for them; None on a server alone, which holds every phone itself."""
        self._closing: set[asyncio.Task[None]] = set()
        """Closes of connections the server ended (silent ones, revoked ones)."""
        self._watching: set[ServerConnection] = set()
        """Consoles that watch (read-only): the organiser looking at a room."""
        self.programme_index = 0
        """The current session's deck in ``config.programme``."""
        self._moving = False
        self.answers = RecentCounter(60)
        """Answers (votes and Q&A questions) accepted in the last minute."""
        store.on_problem_changed = self._storage_problem_changed

    @property
    def token(self) -> str:
        """The presenter token (a secret: it controls the session)."""
        return self.config.presenter_token

    @property
    def chair_attached(self) -> bool:
        """Whether a console that controls the room (not one watching) is connected."""
        return len(self.presenters) > len(self._watching)

    @property
    def phones(self) -> int:
        """Distinct voters connected now (a connection that has not said hello is none),
        with those the gateways hold (counted there, per connection)."""
        if self.relay is None:
            return len(self._voters)
        return len(self._voters) + self.relay.phones

    @property
    def gateway_problem(self) -> str | None:
        """Why the phones on gateways cannot reach this room now (Redis fails); None
        while they can, and always on a server alone, which has no gateways."""
        return None if self.relay is None else self.relay.problem

    def _count_voter(self, voter: str, change: int) -> None:
        self._voters[voter] += change
        if not self._voters[voter]:
            del self._voters[voter]

    @property
    def base_url(self) -> str:
        """The loopback URL of this server, for clients on the same machine."""
        scheme = "https" if self.config.tls else "http"
        host = loopback_url_host(self.config.host)
        return f"{scheme}://{host}:{self.port}{self.config.path_prefix}/"

    @property
    def screen_url(self) -> str:
        """The AV desk's read-only screen view, at the join URL's host, with its token."""
        return self.screens.url(self.join_url)

    @property
    def audience_url(self) -> str:
        """Loopback WebSocket URL of the audience channel."""
        scheme = "wss" if self.config.tls else "ws"
        host = loopback_url_host(self.config.host)
        return f"{scheme}://{host}:{self.port}{self.config.path_prefix}{AUDIENCE_PATH}"

    @property
    def presenter_url(self) -> str:
        """Loopback WebSocket URL of the presenter channel."""
        scheme = "wss" if self.config.tls else "ws"
        host = loopback_url_host(self.config.host)
        return f"{scheme}://{host}:{self.port}{self.config.path_prefix}{PRESENTER_PATH}"

    # HTTP

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer plain HTTP; let WebSocket handshakes on known paths go on.

        The rules for methods and repeated headers are in ``livepoll.server.web``.
        """
        refusal = refuse_repeated_header(connection, request)
        if refusal is not None:
            return refusal
        return self.route_request(connection, request, urlsplit(request.path).path)

    def route_request(
        self, connection: ServerConnection, request: Request, path: str
    ) -> Response | None:
        """Answer a request for ``path``, the part of the URL below this room."""
        if path in (AUDIENCE_PATH, PRESENTER_PATH, SCREEN_SOCKET):
            if request.method not in WEBSOCKET_METHODS:
                return method_not_allowed(WEBSOCKET_METHODS)
            if path == AUDIENCE_PATH:
                return self._audience_handshake(connection, request)
            if path == SCREEN_SOCKET:  # its token comes in the first frame
                refusal = self._capacity.refusal(len(connection.server.handler_tasks))
                return refusal or self._check_origin(connection, request)
            return self._presenter_handshake(connection, request)
        if request.method not in PAGE_METHODS:
            return method_not_allowed(PAGE_METHODS)
        response = self._page(path, request)
        return without_body(response) if request.method == "HEAD" else response

    def _page(self, path: str, request: Request) -> Response:
        """The page, its files and the health check, as answered to a GET."""
        if path == "/healthz":
            return self._health()
        return page_file(self._static, path, request)

    def _health(self) -> Response:
        """200 while every phone's votes can reach the room and be saved; 503 naming
        the problem while they cannot (see :func:`health_response`)."""
        return health_response(self.store.problem, self.gateway_problem)

    def _audience_handshake(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Phones: a margin of descriptors, the per-address cap, then the origin check."""
        # One handler task per open socket, handshakes in progress and this one included.
        refusal = self._capacity.refusal(len(connection.server.handler_tasks))
        if refusal is not None:
            return refusal
        cap = self.config.max_per_address
        if cap and self._per_address[_address(connection)] >= cap:
            return connection.respond(429, f"Too many phones from one address (at most {cap}).\n")
        return self._check_origin(connection, request)

    def _presenter_handshake(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """The chair: the token, with wrong ones limited and logged per address."""
        address = _address(connection)
        now = time.monotonic()
        wait = self.presenter_guard.wait(address, now)
        if wait > 0:
            response = connection.respond(
                429, "Too many wrong presenter tokens from this address; wait and retry.\n"
            )
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        authorization = request.headers.get("Authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        given = credentials.strip().encode()
        organiser = self.config.organiser_token
        if scheme.lower() != "bearer" or not (
            hmac.compare_digest(given, self.token.encode())
            | (organiser is not None and hmac.compare_digest(given, organiser.encode()))
        ):
            self.presenter_guard.failed(address, now)
            return connection.respond(401, "The presenter channel needs the session token.\n")
        if "watch" in parse_qs(urlsplit(request.path).query):
            self._watching.add(connection)
        return None

    def _check_origin(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse cross-site handshakes: a browser's Origin must match the Host it asked."""
        origin = request.headers.get("Origin")
        if origin is None:
            return None
        host = request.headers.get("Host", "")
        if urlsplit(origin).netloc.lower() == host.lower():
            return None
        return connection.respond(403, "Cross-origin WebSocket connections are not allowed.\n")

    def process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> Response:
        """Every response, the library's own included, says ``nosniff``."""
        return add_nosniff(response)

    # WebSocket

    def handle(self, connection: ServerConnection) -> Awaitable[None]:
        """Route a WebSocket connection to its channel (see :meth:`route`)."""
        return self.route(
            connection, urlsplit(connection.request.path if connection.request else "").path
        )

    def route(self, connection: ServerConnection, path: str) -> Awaitable[None]:
        """Serve a WebSocket connection on ``path``, the part of the URL below this room.

        Not a coroutine itself: it returns the channel's coroutine for the connection's
        task to run, so a phone's task runs its loop directly, without a routing frame
        kept alive beside it for the connection's life and passed through on every
        message (one room or an event's, through the front's ``handle``).
        """
        if path == PRESENTER_PATH:
            return self._presenter(connection)
        if path == AUDIENCE_PATH:
            return self._audience(connection)
        if path == SCREEN_SOCKET:
            return self.screens.handle(connection, _address(connection))
        return connection.close(1008, "unknown path")

    async def _audience(self, connection: ServerConnection) -> None:
        voter: str | None = None
        address = _address(connection)
        self._per_address[address] += 1
        silent = asyncio.get_running_loop().call_later(
            self.config.hello_timeout, self._close_soon, connection, "no hello"
        )
        limiter = FrameLimiter(self.config.rate_limit, RATE_BURST_SECONDS)
        try:
            async for frame in connection:
                message = await screen_phone_frame(connection, limiter, frame)
                if message is None:
                    continue
                if isinstance(message, protocol.Hello):
                    silent.cancel()
                    candidate = voter_key(self._salt, message.voter)
                    try:
                        await self.gate.admit(
                            candidate,
                            message.voter,
                            message.code,
                            message.ticket,
                            time.time(),
                            address,
                        )
                    except Rejection as rejection:
                        await connection.send(
                            protocol.encode_error(rejection.code, rejection.message)
                        )
                        continue
                    if voter is not None:
                        self._count_voter(voter, -1)
                    voter = candidate
                    self._count_voter(voter, +1)
                    self.audience.add(connection)
                    await connection.send(self._hello_state(voter))
                    if self.store.problem is not None:
                        # A phone that joins during a disk problem learns of it at once,
                        # not only from the next change of it.
                        await connection.send(STORAGE_PROBLEM_NOTICE)
                elif voter is None:
                    await connection.send(
                        protocol.encode_error(
                            "no_hello", "say hello with your voter token first", message.seq
                        )
                    )
                else:
                    try:
                        reply = await self._handle(voter, message)
                    except Rejection as rejection:
                        reply = protocol.encode_error(
                            rejection.code, rejection.message, message.seq
                        )
                    await connection.send(reply)
        except ConnectionClosed:
            pass
        finally:
            silent.cancel()
            self.audience.discard(connection)
            if voter is not None:
                self._count_voter(voter, -1)
            self._behind.pop(connection, None)
            self._per_address[address] -= 1
            if not self._per_address[address]:
                del self._per_address[address]

    def _close_soon(self, connection: ServerConnection, reason: str, code: int = 1008) -> None:
        """Close a phone's connection from outside its handler (a policy violation, or
        with 1012 a new session the page reconnects to)."""
        task = asyncio.create_task(connection.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _hello_state(self, voter: str) -> str:
        """The state for a phone that (re)connects, with its own answer or upvotes."""
        state = self.session.current
        your_answer: Answer | None = state.answers.get(voter)
        if state.qa is not None:
            your_answer = tuple(i for i, item in state.qa.items.items() if voter in item.voters)
        return protocol.encode_audience_state(self.session, your_answer, now=time.time())

    async def _handle(
        self,
        voter: str,
        message: protocol.Vote | protocol.Ask | protocol.Upvote | protocol.Nickname,
    ) -> str:
        """Apply one phone message, wait until it is durable, and return the ack.

        Raises:
            Rejection: the engine refused it; the phone gets an error frame.
        """
        ack, saved = self.apply_message(voter, message, time.time())
        await saved
        return ack

    def apply_message(
        self,
        voter: str,
        message: protocol.Vote | protocol.Ask | protocol.Upvote | protocol.Nickname,
        now: float,
    ) -> tuple[str, asyncio.Future[None]]:
        """Apply one phone message to the session and queue its write: the ack to send
        once the returned future (the write's commit) resolves.

        The write is queued synchronously right after the engine accepted it, so the
        store sees changes in the engine's order even when one voter has two tabs open
        (and a room owner on Redis can queue a whole read of its stream as one group).

        Raises:
            Rejection: the engine refused it; the phone gets an error frame.
        """
        session, session_id = self.session, self.session_id
        match message:
            case protocol.Vote(question_id, answer, seq):
                accepted = session.apply_vote(voter, question_id, answer, now)
                self.answers.add(now)
                saved = self.store.save_response(
                    session_id, question_id, voter, accepted.answer, now
                )
                return protocol.encode_ack(seq, question_id, accepted.answer), saved
            case protocol.Ask(question_id, text, seq):
                item = session.post_question(voter, question_id, text, now)
                self.answers.add(now)
                saved = self.store.save_qa_item(session_id, question_id, item)
                return protocol.encode_ack(seq, question_id, item=item.id), saved
            case protocol.Upvote(question_id, item_id, up, seq):
                session.upvote(voter, question_id, item_id, up, now)
                saved = self.store.save_upvote(session_id, question_id, item_id, voter, up, now)
                return protocol.encode_ack(seq, question_id, item=item_id), saved
            case protocol.Nickname(name, seq):
                chosen = session.set_nickname(voter, name)
                saved = self.store.save_nickname(session_id, voter, chosen)
                return protocol.encode_ack(seq, None, chosen), saved
        raise AssertionError(f"unhandled message {message!r}")

    async def _presenter(self, connection: ServerConnection) -> None:
        self.presenters.add(connection)
        read_only = connection in self._watching
        try:
            await connection.send(
                protocol.encode_welcome(
                    self.join_url,
                    str(self.store.path),
                    __version__,
                    self.notices,
                    self.screen_url,
                    read_only=read_only,
                )
            )
            await connection.send(self._presenter_state())
            async for frame in connection:
                try:
                    command = protocol.decode_command(frame)
                except protocol.ProtocolError as error:
                    await connection.send(protocol.encode_error(error.code, error.message))
                    continue
                if read_only and command.action != "page":
                    await connection.send(WATCHING_ONLY)
                    continue
                if command.action == "next_session":
                    refusal = await self.next_session()
                    if refusal is not None:
                        await connection.send(protocol.encode_error("no_next_session", refusal))
                    continue
                if command.action == "page":
                    # Only this console's view changes: it moderates another page.
                    offset = command.offset or 0
                    self._pages[connection] = (self.session.current.question.id, offset)
                    await connection.send(self._presenter_state(offset))
                    continue
                self.apply_command(command)
        except ConnectionClosed:
            pass
        finally:
            self.presenters.discard(connection)
            self._watching.discard(connection)
            self._pages.pop(connection, None)

    def apply_command(self, command: protocol.Command) -> None:
        """Carry out a chair's command: change the session, log it, tell everyone."""
        now = time.time()
        session = self.session
        events: list[Event] = []
        match command.action:
            case "toggle_voting":
                event = session.toggle_voting(now)
            case "open":
                event = session.open_voting(now)
            case "close":
                event = session.close_voting(now)
            case "toggle_results":
                event = session.toggle_results(now)
            case "extend":
                event = session.extend(now)
            case "rotate_code" | "rotate_code_readmit":
                readmit = command.action == "rotate_code_readmit"
                if self.gate.rotate(now, readmit=readmit) is not None:
                    detail = "readmit" if readmit else ""
                    question_id = session.current.question.id
                    events.append(Event(EventKind.CODE_ROTATED, question_id, now, detail))
                    if readmit:
                        # Their connections were admitted with the old code: each
                        # phone reconnects and is asked for the new one.
                        for phone in list(self.audience):
                            self._close_soon(phone, "room code changed")
                        self.audience.clear()
                        if self.relay is not None:
                            self.relay.close_phones("room code changed")
                event = None
            case "moderate":
                assert command.item is not None
                assert command.state is not None
                event = session.moderate(command.item, command.state, now)
            case "segment":
                # A view for the chair, not a change to the session: nothing to log.
                if session.cycle_segment_view():
                    self._push_presenter_state()
                event = None
            case "next":
                event, events = None, session.next(now)
            case "previous":
                event, events = None, session.previous(now)
            case "goto":
                event, events = None, session.go_to(command.index or 0, now)
            case _:
                event = None
        if event is not None:
            events.append(event)
        self._changed(events, now)

    def _changed(self, events: list[Event], now: float) -> None:
        """Persist state changes and tell phones and presenters at once."""
        if not events:
            return
        session = self.session
        changed = {event.question_id for event in events}
        qa_states = []
        for event in events:
            if event.kind is EventKind.QA_MODERATED:
                item_id, _, state = event.detail.partition(":")
                qa_states.append((event.question_id, int(item_id), state))
        self.store.save_events(
            self.session_id,
            events,
            current_index=session.current_index,
            question_states=[(qid, stored_state(session.states[qid])) for qid in changed],
            qa_states=qa_states,
            phones=self.phones,
        )
        if any(event.kind is not EventKind.QA_MODERATED for event in events):
            self._send_to_phones(protocol.encode_audience_state(session, now=now))
            self._sent_results_version = session.version
        # The chair pressed a key: show it now rather than at the next tick.
        self._push_presenter_state()

    # Presenter updates

    def _presenter_state(self, qa_offset: int = 0) -> str:
        self._sent_version = self.session.version
        self._sent_phones = self.phones
        self._sent_problem = self.store.problem
        self._sent_gateway_problem = self.gateway_problem
        return protocol.encode_presenter_state(
            self.session,
            phones=self._sent_phones,
            now=time.time(),
            storage_problem=self._sent_problem,
            gateway_problem=self._sent_gateway_problem,
            join=self.join_info(),
            qa_offset=qa_offset,
            programme=self.programme(),
        )

    def programme(self) -> protocol.Programme | None:
        """Where an event's room is in its programme; None on a one-room server."""
        decks = self.config.programme
        if not decks:
            return None
        following = self.programme_index + 1
        return protocol.Programme(
            self.config.room_name or self.config.room_id or "",
            following,
            len(decks),
            decks[following].title if following < len(decks) else None,
        )

    def summary(self, now: float) -> protocol.RoomSummary:
        """This room's row in the organiser's control room."""
        state = self.session.current
        programme = self.programme()
        return protocol.RoomSummary(
            id=self.config.room_id or "",
            name=self.config.room_name,
            url=self.join_url,
            deck=self.session.deck.title,
            position=programme.position if programme else 1,
            length=programme.length if programme else 1,
            next_title=programme.next_title if programme else None,
            question=state.question.prompt,
            index=self.session.current_index,
            count=len(self.session.deck.questions),
            status=state.status.value,
            phones=self.phones,
            answers_last_minute=self.answers.total(now),
            chair_attached=self.chair_attached,
            session=self.session_id,
        )

    async def next_session(self) -> str | None:
        """End this room's session and start the next deck of its programme as a new one.

        Phones are disconnected with "service restart" (1012): each page reconnects by
        itself within a second and says hello to the new session, so nobody rescans. The
        room code stays the same, so phones that joined with it get in again.

        Returns:
            Why the room cannot move on, for the console; None once it has.
        """
        decks = self.config.programme
        if not decks:
            return "this server runs one deck; start the next one with 'livepoll run'"
        if self._moving:
            return "the room is already moving to its next session"
        following = self.programme_index + 1
        if following >= len(decks):
            return f"this is the last session of the programme in {self.config.room_name}"
        if self.store.problem is not None:
            # Ending the session waits for the disk; the console that asked would wait
            # with it, unable to do anything else, for as long as the disk fails.
            return (
                f"the database cannot be written ({self.store.problem}); the room can move "
                "on once answers are being saved again"
            )
        self._moving = True
        try:
            now = time.time()
            await self.store.end_session(self.session_id, now)
            record = await self.store.begin_session(
                decks[following], "new", now, self.config.join_mode, room=self.config.room_id
            )
            gate = await Gate.open(self.config.join_mode, self.store, record.id)
        finally:
            self._moving = False
        gate.continue_from(self.gate)
        ended = self.session_id
        self.session = new_session(decks[following], self.config)
        self.session_id, self._salt, self.gate = record.id, record.salt, gate
        self.programme_index = following
        self.resumed = False
        self._pages.clear()
        self._sent_results_version = -1
        self.screens.forget_sent()
        logger.info(
            "room %s: session %d ended; session %d runs %r",
            self.config.room_id,
            ended,
            record.id,
            decks[following].title,
        )
        for phone in list(self.audience):
            self._close_soon(phone, "next session", code=1012)
        self.audience.clear()
        if self.relay is not None:
            self.relay.restart_phones("next session")
        self._push_presenter_state()
        return None

    def join_info(self) -> protocol.JoinInfo:
        """How phones join right now: the URL for the QR code, with the room code."""
        code = self.gate.room_code
        url = f"{self.join_url}?code={code}" if code else self.join_url
        return protocol.JoinInfo(url, self.gate.mode, code)

    def _push_presenter_state(self) -> None:
        """Send the state to every presenter, encoded once per moderation page asked for."""
        if not self.presenters:
            return
        current = self.session.current.question.id
        by_page: dict[int, list[ServerConnection]] = {}
        for presenter in self.presenters:
            question_id, offset = self._pages.get(presenter, (current, 0))
            by_page.setdefault(offset if question_id == current else 0, []).append(presenter)
        for offset, group in by_page.items():
            broadcast(group, self._presenter_state(offset))

    def _storage_problem_changed(self, problem: str | None) -> None:
        """Disk trouble is loud: the log, the chair (next tick) and every phone hear of it.

        Votes keep being accepted and queued but are not acknowledged until they are
        committed, so phones keep showing them as not yet saved.
        """
        if problem is not None:
            logger.error("storage: %s", problem)
            notice = STORAGE_PROBLEM_NOTICE
        else:
            logger.warning("storage: recovered; queued votes are being saved")
            notice = protocol.encode_notice("storage_ok", "Saving works again.")
        self._send_to_phones(notice)

    async def tick_forever(self) -> None:
        """The server's clock: timers, the presenter at ~10 Hz, phones at ~2 Hz.

        Votes never trigger a send by themselves: whatever changed during a tick
        goes out once, encoded once, however many votes arrived.
        """
        ticks = 0
        while True:
            await asyncio.sleep(TICK_SECONDS)
            ticks += 1
            now = time.time()
            expired = self.session.expire(now)
            if expired is not None:
                self._changed([expired], now)
            timer_running = self.session.current.deadline is not None
            if (
                self.session.version != self._sent_version
                or self.phones != self._sent_phones
                or self.store.problem != self._sent_problem
                or self.gateway_problem != self._sent_gateway_problem
                or (timer_running and ticks % TICKS_PER_PHONE_UPDATE == 0)
            ):
                self._push_presenter_state()
            self.screens.tick(ticks)
            if ticks % TICKS_PER_PHONE_UPDATE == 0:
                self._push_audience_results()
                self._check_phones_behind(time.monotonic(), now)

    def _push_audience_results(self) -> None:
        if self.session.version == self._sent_results_version or not (self.audience or self.relay):
            return
        self._sent_results_version = self.session.version
        message = protocol.encode_audience_results(self.session)
        if message is not None:
            self._send_to_phones(message)

    def _send_to_phones(self, message: str) -> None:
        """Broadcast to every phone that keeps up; a phone over the send-buffer bound
        is skipped (and noted, with the time) rather than buffered."""
        if self.relay is not None:
            self.relay.send_to_phones(message)
        clock = time.monotonic()
        ready = []
        behind = self._behind
        for connection in self.audience:
            if connection in behind:
                continue
            if connection.transport.get_write_buffer_size() > PHONE_SEND_BUFFER_LIMIT:
                behind[connection] = clock
                continue
            ready.append(connection)
        broadcast(ready, message)

    def _check_phones_behind(self, clock: float, now: float) -> None:
        """Send the current state to phones that caught up; disconnect those that did not
        within :data:`PHONE_STALL_SECONDS`."""
        if not self._behind:
            return
        caught_up = []
        dropped = 0
        for connection, since in list(self._behind.items()):
            if connection.transport.get_write_buffer_size() <= PHONE_SEND_BUFFER_LIMIT:
                caught_up.append(connection)
                del self._behind[connection]
            elif clock - since >= PHONE_STALL_SECONDS:
                # abort() drops the buffered bytes at once; a close handshake would queue
                # behind them. The handler then ends and forgets the connection.
                connection.transport.abort()
                del self._behind[connection]
                dropped += 1
        if caught_up:
            broadcast(caught_up, protocol.encode_audience_state(self.session, now=now))
            if self.store.problem is not None:
                broadcast(caught_up, STORAGE_PROBLEM_NOTICE)
        if dropped:
            self.phones_dropped += dropped
            logger.warning(
                "disconnected %d phone(s) that read nothing for %g s", dropped, PHONE_STALL_SECONDS
            )


async def screen_phone_frame(
    connection: ServerConnection, limiter: FrameLimiter, frame: str | bytes
) -> protocol.AudienceMessage | None:
    """A phone's frame through the rate limit, the flood rule and decoding, as both the
    server alone and a gateway take it.

    Returns:
        The message; None when the frame was dropped, answered with an error frame, or
        when the phone was disconnected for flooding (its handler's next read ends it).
    """
    fate = limiter.check(time.monotonic())
    if fate != "pass":
        if fate == "warn":
            await connection.send(protocol.encode_error("rate_limited", limiter.warning()))
        elif fate == "flood":
            # The close frame goes out at once; the handshake then waits at most
            # close_timeout, since a flooder's unread frames fill the queue.
            await connection.close(1008, "too many messages")
        return None
    try:
        return protocol.decode_audience(frame)
    except protocol.ProtocolError as error:
        await connection.send(protocol.encode_error(error.code, error.message, error.seq))
        return None


class _Connection(ServerConnection):
    """A connection whose library-built error responses also say ``nosniff``.

    websockets answers some malformed requests (a request line or headers too long)
    itself, before ``process_request`` or ``process_response`` see anything. It also
    carries the server's trusted proxies, to find the phone's address behind them.
    """

    trusted_proxies: TrustedProxies = NO_PROXIES
    """Set per server by :func:`_connection_class`."""

    def __init__(self, protocol: ServerProtocol, *args: Any, **kwargs: Any) -> None:
        reject = protocol.reject

        def reject_nosniff(status: Any, text: str) -> Response:
            return add_nosniff(reject(status, text))

        protocol.reject = reject_nosniff  # type: ignore[method-assign]
        super().__init__(protocol, *args, **kwargs)


def _connection_class(trusted_proxies: TrustedProxies) -> type[_Connection]:
    """The connection class for one server: websockets takes a class, not an instance
    or a factory with arguments, so the server's trusted proxies ride on a subclass."""
    return type("_Connection", (_Connection,), {"trusted_proxies": trusted_proxies})


def refuse_repeated_header(connection: ServerConnection, request: Request) -> Response | None:
    """400 for a request that repeats a header that must appear once, logged once."""
    repeated = repeated_header(request.headers)
    if repeated is None:
        return None
    logger.warning(
        "HTTP 400: a request repeated its %s header (from %s)", repeated, _address(connection)
    )
    return connection.respond(400, f"The {repeated} header may appear only once.\n")


def respond(
    status: int,
    content_type: str,
    body: bytes,
    *,
    policy: str | None = None,
    gzipped: bool = False,
    etag: str = "",
) -> Response:
    """A response livepoll builds; ``policy`` (a Content-Security-Policy) marks a
    file of the page, which also varies by Accept-Encoding."""
    static = policy is not None
    headers = Headers()
    headers["Content-Type"] = content_type
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    if static:
        headers["Vary"] = "Accept-Encoding"
    if etag:
        headers["ETag"] = etag
    if status != 304:  # a 304 has no body, and no length of its own
        headers["Content-Length"] = str(len(body))
    headers["Cache-Control"] = "no-cache"  # always revalidated: a new version shows at once
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    if policy is not None:
        headers["Content-Security-Policy"] = policy
    return Response(status, REASONS.get(status, "OK"), headers, body)


def health_response(storage_problem: str | None, gateway_problem: str | None) -> Response:
    """``/healthz``: 200 ``{"status":"ok"}`` while every phone's votes reach the room and
    are saved; otherwise 503 naming the problem, the disk's first (a vote that cannot
    be saved matters more than one that cannot arrive): ``storage_problem``, or
    ``redis_problem`` when an owner on Redis cannot reach it (its gateways' phones are
    then cut off, though its own still vote). A monitor reads the status code; a
    person reads the sentence."""
    if storage_problem is not None:
        status, problem = "storage_problem", storage_problem
    elif gateway_problem is not None:
        status, problem = "redis_problem", gateway_problem
    else:
        return respond(200, "application/json", b'{"status":"ok"}\n')
    body = json.dumps({"status": status, "problem": problem}) + "\n"
    return respond(503, "application/json", body.encode())


def page_file(static: StaticFiles, path: str, request: Request) -> Response:
    """A file of the page as answered to a GET: gzipped when asked, 304 when unchanged."""
    asset = static.get(path)
    if asset is None:
        return respond(404, "text/plain; charset=utf-8", b"Not found.\n")
    policy = content_security_policy(request.headers.get("Host"))
    gzipped = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    etag = asset.etag_for(gzipped)
    if asset.not_modified(request.headers.get("If-None-Match"), gzipped):
        return respond(304, asset.content_type, b"", policy=policy, etag=etag)
    body = asset.gzipped if gzipped else asset.body
    return respond(200, asset.content_type, body, policy=policy, gzipped=gzipped, etag=etag)


def _address(connection: ServerConnection) -> str:
    """The phone's IP address, for the per-address cap, the guards and log lines: the
    TCP peer's, or the one a trusted proxy forwarded (``livepoll.server.proxy``)."""
    remote = connection.remote_address
    peer = str(remote[0]) if remote else "?"
    if not isinstance(connection, _Connection) or connection.request is None:
        return peer
    forwarded = connection.request.headers.get_all(FORWARDED_FOR)
    return connection.trusted_proxies.client_address(peer, forwarded)


def stored_state(state: QuestionState) -> StoredQuestionState:
    """The part of a question's state the store keeps to resume after a restart."""
    return StoredQuestionState(state.status, state.results_shown, state.opened_at, state.deadline)


class Listener(Protocol):
    """What answers a listening socket: one room's server, or an event's front."""

    def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None: ...

    def process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> Response: ...

    def handle(self, connection: ServerConnection) -> Awaitable[None]: ...


class SocketSettings(Protocol):
    """What :func:`socket_options` reads: a server's or a gateway's configuration."""

    tls: ServerTls | None
    trusted_proxies: TrustedProxies
    ping_interval: float
    ping_timeout: float


def socket_options(config: SocketSettings) -> dict[str, Any]:
    """The options of ``websockets.serve`` for a socket phones connect to, the same for
    the server alone and for a gateway: the size and queue limits a phone may use, the
    keepalive, TLS and the trusted proxies, no compression (it costs CPU per frame for
    frames of a few dozen bytes)."""
    return {
        "create_connection": _connection_class(config.trusted_proxies),
        "ssl": config.tls.context if config.tls else None,
        "compression": None,
        "max_size": MAX_WEBSOCKET_MESSAGE,
        "max_queue": 8,
        "ping_interval": config.ping_interval,
        "ping_timeout": config.ping_timeout,
        "close_timeout": 2,
        "server_header": f"livepoll/{__version__}",
        "backlog": LISTEN_BACKLOG,
        "logger": logging.getLogger("livepoll.websockets"),
    }


async def _listen(server: Listener, config: ServerConfig) -> Server:
    ports = [config.port]
    if config.port_fallback and config.port != 0:
        ports = list(range(config.port, config.port + PORT_ATTEMPTS))
    last_error: OSError | None = None
    for port in ports:
        try:
            return await serve(
                server.handle,
                config.host,
                port,
                process_request=server.process_request,
                process_response=server.process_response,
                **socket_options(config),
                open_timeout=config.handshake_timeout,
            )
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            last_error = error
    where = f"{config.host or 'all interfaces'}"
    if len(ports) > 1:
        raise PortInUse(
            f"ports {ports[0]}-{ports[-1]} on {where} are all in use; choose one with --port"
        ) from last_error
    raise PortInUse(
        f"port {config.port} on {where} is already in use (is another livepoll running?); "
        "choose another with --port"
    ) from last_error


def new_session(deck: Deck, config: ServerConfig) -> Session:
    """A fresh engine session for ``deck`` with the limits ``config`` sets."""
    return Session(
        deck,
        max_qa_items=config.max_qa_items,
        max_text_answers=config.max_text_answers,
        min_segment=config.min_segment,
    )


async def open_room(
    config: ServerConfig, store: Store, *, programme_index: int = 0, mode: SessionMode | None = None
) -> LivepollServer:
    """Begin (or resume) a room's session in ``store`` and make its server, not listening.

    ``programme_index`` picks the deck of an event room's programme; ``mode`` overrides
    ``config.session_mode``.
    """
    deck = config.programme[programme_index] if config.programme else config.deck
    record = await store.begin_session(
        deck,
        mode or config.session_mode,
        time.time(),
        config.join_mode,
        room=config.room_id,
    )
    session = new_session(deck, config)
    if record.resumed:
        session.restore(
            record.current_index,
            record.statuses,
            record.answers,
            record.qa_items,
            record.nicknames,
        )
    gate = await Gate.open(config.join_mode, store, record.id)
    server = LivepollServer(config, store, session, record.id, record.salt, gate)
    server.programme_index = programme_index
    server.resumed = record.resumed
    return server


@contextlib.asynccontextmanager
async def running_server(config: ServerConfig) -> AsyncIterator[LivepollServer]:
    """Start a one-room server for ``config`` and stop it cleanly when the block ends.

    Raises:
        PortInUse: the port is taken.
        livepoll.store.StorageError: the database cannot be used.
    """
    store = await Store.open(config.database)
    try:
        server = await open_room(config, store)
        session_id = server.session_id
        websocket_server = await _listen(server, config)
        sockets = websocket_server.sockets
        server.port = int(sockets[0].getsockname()[1]) if sockets else config.port
        server.join_url, warning = join_url(
            config.host, server.port, config.public_url, tls=config.tls is not None
        )
        if server.port != config.port and config.port != 0:
            server.notices.append(f"port {config.port} was taken; using {server.port}")
        if warning:
            server.notices.append(warning)
        if server.resumed:
            server.notices.append(f"resumed session {session_id} from the database")
        ticker = asyncio.create_task(server.tick_forever(), name="livepoll-ticker")
        try:
            yield server
        finally:
            ticker.cancel()
            websocket_server.close()
            await websocket_server.wait_closed()
            if config.end_session_on_stop:
                await store.end_session(server.session_id, time.time())
    finally:
        await store.close()


def loopback_url_host(host: str | None) -> str:
    """The host a client on this machine should dial for a server bound to ``host``."""
    if host is None or host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return url_host(host)
