"""A phone gateway: holds phones' connections for a room owned elsewhere, via Redis.

``livepoll gateway --redis URL`` serves the voting page and the audience socket, as
a server alone does, but keeps no session: it checks and rate-limits each frame
(``protocol``, ``server.limits``), forwards what passes to the room's inbound
stream, and relays back what the owner publishes: acks and hello states to the phone
they are for, state and results to all its phones (one encode per frame, by
``websockets.broadcast``). Several gateways share one port on one machine
(``SO_REUSEPORT``: the kernel spreads new connections across them) or sit behind a
load balancer on many.

Started without ``--room``, a gateway serves every room of the event whose server
(``serve EVENT.toml --redis``) published the rooms in Redis (:class:`EventGateway`):
each room below ``/r/<id>/`` as its own :class:`Gateway`, ``/`` the rooms page; it
follows the rooms when the owner publishes them anew. Finding neither an event nor an
owner of the room ``default``, it waits for one, listening and answering 503
(:class:`GatewayFront`), since gateways are services that an operator may start
before the owner, in any order.

With ``--tls-cert`` and ``--tls-key`` it speaks TLS with the server's own
:class:`~livepoll.server.tls.ServerTls`; with ``--trusted-proxy`` its per-address cap
counts the address a load balancer forwarded (``server.proxy``), as ``serve`` does.

Its Redis client does not retry (``RedisSettings.client(retry=False)``): a dropped
connection, even one the client could have restored, may have lost replies, so it
counts as Redis being away. While Redis is unreachable a gateway cannot know what the
owner decided, so it
tells its phones it is reconnecting, closes their connections and refuses new ones
(503) until Redis answers again; the page (and the simulated phones) then reconnect
and resend every vote not yet acknowledged, which the owner applies once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from livepoll import protocol
from livepoll.server.app import (
    AUDIENCE_PATH,
    DEFAULT_RATE_LIMIT,
    HELLO_TIMEOUT,
    PHONE_SEND_BUFFER_LIMIT,
    PHONE_STALL_SECONDS,
    RATE_BURST_SECONDS,
    _address,
    loopback_url_host,
    page_file,
    respond,
    screen_phone_frame,
    socket_options,
)
from livepoll.server.assets import StaticFiles
from livepoll.server.bus import (
    CLOSE_PREFIX,
    DEFAULT_ROOM,
    EVENT_KEY,
    RESEND_PREFIX,
    RESTART_PREFIX,
    RoomKeys,
    RoomsListing,
)
from livepoll.server.capacity import Capacity
from livepoll.server.conference import (
    ROOMS_PREFIX,
    message_page,
    plain_response,
    rooms_page,
    rooms_response,
)
from livepoll.server.limits import FrameLimiter
from livepoll.server.proxy import NO_PROXIES, TrustedProxies
from livepoll.server.redis_bus import RedisSettings, explain
from livepoll.server.tls import ServerTls
from livepoll.server.web import PAGE_METHODS, WEBSOCKET_METHODS, method_not_allowed, without_body

logger = logging.getLogger("livepoll.gateway")

DEFAULT_GATEWAY_PORT = 8331
FORWARD_BATCH = 2000
"""Phone messages sent to Redis in one pipeline at most."""
LINES_PER_ENTRY = 250
"""Phone messages in one stream entry at most. One entry per message cost the owner
more (in the client's reply parsing) than applying the message itself; what arrives
within a moment goes as one entry instead."""
REPORT_SECONDS = 1.0
"""How often the gateway reports its phone count (it lasts three times as long)."""
FORWARD_LINGER = 0.004
LINGER_BELOW = 64
"""When fewer messages than this wait, the gateway waits :data:`FORWARD_LINGER` for
more before sending: each round trip to Redis costs both ends CPU, and a vote's ack
already waits for the owner's group commit (≤ 8 ms), so a few ms more is cheap."""
RETRY_SECONDS = 0.5
WAIT_SECONDS = 1.0
"""How often a gateway that found no room owner in Redis looks again."""
LISTING_SECONDS = 3.0
"""How often an event's gateway reads the event's rooms again (an owner restarted with
an edited event file adds, renames or removes rooms)."""
WAITING_FOR_OWNER = "waiting_for_owner"
"""The health check's status while a gateway waits for a room owner."""
WATCH_SECONDS = 0.5
"""How often a gateway checks that Redis is there, is the same Redis, and that the room
has an owner."""
OWNER_GRACE = 5.0
"""How long a room may have no owner (no lease in Redis) before its gateway tells the
phones and refuses new ones: longer than an owner takes to renew its lease (2 s), so a
Redis restarted empty, whose lease the owner takes again at its next renewal, is not
mistaken for an owner gone. An owner killed keeps its lease until it expires (10 s),
and one restarted on the same machine takes it over at once, so a quick restart never
disturbs the phones."""
OWNER_AWAY = "owner_away"
"""The health check's status while a room has no owner."""
_ANSWERS = ('{"type":"ack"', '{"type":"error"', '{"type":"state"')
"""How the owner's answer to a message begins (a notice may follow a hello's state)."""
RECONNECTING = protocol.encode_notice(
    "reconnecting", "The poll server is out of reach; reconnecting…"
)
OWNER_GONE = protocol.encode_notice(
    "reconnecting", "The poll server has stopped; reconnecting until it is back…"
)
ROOM_REMOVED = protocol.encode_notice("room_removed", "This room is no longer part of the event.")
ROOM_REMOVED_REASON = "room removed from the event"


@dataclass(slots=True)
class GatewayConfig:
    """Everything a gateway needs; the CLI builds one from its flags."""

    redis: RedisSettings
    room: str = DEFAULT_ROOM
    host: str | None = None
    port: int = DEFAULT_GATEWAY_PORT
    rate_limit: float = DEFAULT_RATE_LIMIT
    max_per_address: int = 0
    hello_timeout: float = HELLO_TIMEOUT
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    reuse_port: bool = True
    """Share the port with other gateways on this machine (``SO_REUSEPORT``)."""
    tls: ServerTls | None = None
    """Serve HTTPS and WSS (``--tls-cert``/``--tls-key``, as ``serve``; see
    ``livepoll.server.tls``); None serves plain HTTP, behind a TLS load balancer."""
    trusted_proxies: TrustedProxies = NO_PROXIES
    """Peers whose X-Forwarded-For names the phone's address, for the per-address cap
    and the log (``--trusted-proxy``, as ``serve``; see ``server.proxy``)."""


def _loopback_url(config: GatewayConfig, port: int, path: str, *, websocket: bool = False) -> str:
    """A URL of the gateway for a client on this machine, in the scheme it speaks."""
    scheme = ("wss" if websocket else "https") if config.tls else ("ws" if websocket else "http")
    return f"{scheme}://{loopback_url_host(config.host)}:{port}{path}"


@dataclass(slots=True)
class _Phone:
    connection: ServerConnection
    token: str = ""
    """The phone's voter token, once it said hello."""
    joined: bool = False
    """The owner answered its hello with the state: broadcasts reach it from now on.
    Its messages go to the owner as soon as it said hello (the owner reads them in
    order, after the hello, and refuses them if the hello was refused)."""
    address: str = "?"
    waiting: int = 0
    """Messages sent to the owner that have had no answer yet (ack, error or state)."""


@dataclass(slots=True)
class _Outbox:
    lines: list[str] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class Gateway:
    """A running gateway: its phones, its Redis client, its place in the room."""

    def __init__(
        self,
        config: GatewayConfig,
        client: aioredis.Redis,
        identity: str | None = None,
        static: StaticFiles | None = None,
        per_address: Counter[str] | None = None,
    ) -> None:
        """``identity``, ``static`` and ``per_address`` are shared by the rooms of an
        :class:`EventGateway`: one name in Redis, one copy of the page's files, and
        one count of phones per address for the whole process (``--max-per-address``
        caps an address, not an address per room)."""
        self.config = config
        self.client = client
        self.keys = RoomKeys(config.room)
        self.identity = identity or secrets.token_hex(6)
        self._static = static or StaticFiles.load()
        self._capacity = Capacity()
        self._phones: dict[str, _Phone] = {}
        """Open audience connections by the id the owner's replies name them with."""
        self._next_id = 0
        self._per_address: Counter[str] = Counter() if per_address is None else per_address
        self._outbox = _Outbox()
        self._up = asyncio.Event()
        self._up.set()
        self._owner_here = True
        """Whether the room has an owner (its lease is in Redis). A gateway starts out
        trusting that it has; :meth:`_watch_forever` finds out."""
        self._behind: dict[ServerConnection, float] = {}
        self._last_state: str | None = None
        """The latest room state broadcast, for a phone that catches up after a stall."""
        self.port = 0
        self.forwarded = 0
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def problem(self) -> str | None:
        """Why phones cannot vote here now, for the health check: Redis is out of reach,
        or the room has no owner; None while they can."""
        if not self._up.is_set():
            return "redis_unreachable"
        if not self._owner_here:
            return OWNER_AWAY
        return None

    @property
    def phones(self) -> int:
        """Phones whose hello the owner answered."""
        return sum(1 for phone in self._phones.values() if phone.joined)

    @property
    def base_url(self) -> str:
        """The loopback URL of this gateway (https with ``--tls-cert``)."""
        return _loopback_url(self.config, self.port, "/")

    @property
    def audience_url(self) -> str:
        """Loopback WebSocket URL of the audience channel (wss with ``--tls-cert``)."""
        return _loopback_url(self.config, self.port, AUDIENCE_PATH, websocket=True)

    # HTTP

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """The page and its files, the health check, and the audience handshake."""
        return self.route_request(connection, request, urlsplit(request.path).path)

    def route_request(
        self, connection: ServerConnection, request: Request, path: str
    ) -> Response | None:
        """Answer a request for ``path``, the part of the URL below this room."""
        if path == AUDIENCE_PATH:
            if request.method not in WEBSOCKET_METHODS:
                return method_not_allowed(WEBSOCKET_METHODS)
            if not self._up.is_set():
                return connection.respond(503, "The poll server is out of reach; retrying.\n")
            if not self._owner_here:
                return connection.respond(503, "The poll server has stopped; retrying.\n")
            refusal = self._capacity.refusal(len(connection.server.handler_tasks))
            if refusal is not None:
                return refusal
            cap = self.config.max_per_address
            if cap and self._per_address[_address(connection)] >= cap:
                return connection.respond(
                    429, f"Too many phones from one address (at most {cap}).\n"
                )
            origin = request.headers.get("Origin")
            host = request.headers.get("Host", "")
            if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
                return connection.respond(
                    403, "Cross-origin WebSocket connections are not allowed.\n"
                )
            return None
        if request.method not in PAGE_METHODS:
            return method_not_allowed(PAGE_METHODS)
        if path == "/healthz":
            status = {"status": "ok"} if self.problem is None else {"status": self.problem}
            body = (json.dumps(status) + "\n").encode()
            response = respond(200 if self.problem is None else 503, "application/json", body)
        else:
            response = page_file(self._static, path, request)
        return without_body(response) if request.method == "HEAD" else response

    # Phones

    def handle(self, connection: ServerConnection) -> Awaitable[None]:
        """One phone's connection: checked frames go to Redis, replies come back.

        Like every ``handle`` here it returns :meth:`route`'s coroutine rather than
        awaiting it, so a phone's task runs its loop without routing frames kept alive
        beside it (``LivepollServer.route`` says why)."""
        return self.route(
            connection, urlsplit(connection.request.path if connection.request else "").path
        )

    async def route(self, connection: ServerConnection, path: str) -> None:
        """Serve a connection for ``path``, the part of the URL below this room."""
        if path != AUDIENCE_PATH:
            await connection.close(1008, "unknown path")
            return
        self._next_id += 1
        phone_id = str(self._next_id)
        phone = _Phone(connection, address=_address(connection))
        self._phones[phone_id] = phone
        self._per_address[phone.address] += 1
        silent = asyncio.get_running_loop().call_later(
            self.config.hello_timeout, self._close_soon, connection, 1008, "no hello"
        )
        limiter = FrameLimiter(self.config.rate_limit, RATE_BURST_SECONDS)
        try:
            async for frame in connection:
                message = await screen_phone_frame(connection, limiter, frame)
                if message is None:
                    continue
                text = frame if isinstance(frame, str) else frame.decode()
                if isinstance(message, protocol.Hello):
                    silent.cancel()
                    phone.token = message.voter
                    self._forward(phone_id, phone, "h", text)
                elif not phone.token:
                    await connection.send(
                        protocol.encode_error(
                            "no_hello", "say hello with your voter token first", message.seq
                        )
                    )
                else:
                    self._forward(phone_id, phone, "m", text)
        except ConnectionClosed:
            pass
        finally:
            silent.cancel()
            del self._phones[phone_id]
            self._behind.pop(connection, None)
            self._per_address[phone.address] -= 1
            if not self._per_address[phone.address]:
                del self._per_address[phone.address]

    def _forward(self, phone_id: str, phone: _Phone, kind: str, frame: str) -> None:
        """Queue a checked message for the room's stream, as one line of the next entry.

        A newline in a frame that decoded is JSON whitespace (JSON strings cannot hold
        one), so it becomes a space and the line stays one line.
        """
        address = phone.address if kind == "h" else "-"
        line = f"{phone_id} {kind} {phone.token} {address} {frame.replace(chr(10), ' ')}"
        self._outbox.lines.append(line)
        self._outbox.ready.set()
        phone.waiting += 1

    def close_phones(self, code: int, reason: str, notice: str | None = None) -> None:
        """Close every phone's connection with ``code`` and ``reason``, after ``notice``
        (an encoded frame), if given."""
        connections = [phone.connection for phone in self._phones.values()]
        if notice is not None:
            broadcast(connections, notice)
        for connection in connections:
            self._close_soon(connection, code, reason)

    def _close_soon(self, connection: ServerConnection, code: int, reason: str) -> None:
        task = asyncio.create_task(connection.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # Redis

    async def run(self) -> None:
        """Forward, relay and report until cancelled."""
        tasks = [
            asyncio.create_task(self._send_forever(), name="livepoll-gateway-send"),
            asyncio.create_task(self._listen_forever(), name="livepoll-gateway-listen"),
            asyncio.create_task(self._report_forever(), name="livepoll-gateway-report"),
            asyncio.create_task(self._check_behind_forever(), name="livepoll-gateway-behind"),
            asyncio.create_task(self._watch_forever(), name="livepoll-gateway-watch"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _lost(self, error: BaseException) -> None:
        """Redis failed: tell every phone, close them all, refuse new ones until it is back."""
        problem = explain(error, self.config.redis) if isinstance(error, RedisError) else str(error)
        if not self._up.is_set():
            return
        self._up.clear()
        logger.error("redis: %s; phones are told to reconnect", problem)
        self.close_phones(1012, "reconnecting", RECONNECTING)
        self._outbox.lines.clear()
        task = asyncio.create_task(self._recover())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _watch_forever(self) -> None:
        """Notice Redis going away or coming back empty, even when the client hides it.

        The client retries a failed command on a new connection and resubscribes by
        itself, so a Redis that restarted within its retries looks healthy; but what
        the old one held (messages not yet applied, replies in flight) is gone, and
        the phones waiting for those acks would wait forever. A new ``run_id`` is a
        new Redis: its phones are dropped so that they reconnect and resend.

        It also looks for the room's owner (its lease). With no owner, nothing applies
        what the phones send: their votes would pile up in the stream unacknowledged,
        for as long as the owner is away, while the page showed them as being sent. So
        after :data:`OWNER_GRACE` without one the phones are told, closed and refused,
        as while Redis is away; the page keeps its unacknowledged votes and resends
        them once it is back in.
        """
        known: str | None = None
        missing_since: float | None = None
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            if not self._up.is_set():
                known = missing_since = None
                continue
            try:
                async with self.client.pipeline(transaction=False) as pipe:
                    pipe.info("server")
                    pipe.exists(self.keys.lease)
                    info, owners = await pipe.execute()
            except (RedisError, OSError) as error:
                self._lost(error)
                continue
            run_id = str(info.get("run_id", ""))
            if known is not None and run_id != known:
                self._lost(ConnectionError(f"Redis at {self.config.redis.where} restarted"))
                known = None
                continue
            known = run_id
            if owners:
                missing_since = None
                if not self._owner_here:
                    logger.warning("room %s: its owner is back; taking phones", self.keys.room)
                    self._owner_here = True
                continue
            now = time.monotonic()
            missing_since = now if missing_since is None else missing_since
            if self._owner_here and now - missing_since >= OWNER_GRACE:
                self._owner_gone()

    def _owner_gone(self) -> None:
        """The room has had no owner for a while: tell the phones, close them, take no
        more until one is back (their messages would wait in the stream unanswered)."""
        self._owner_here = False
        logger.error(
            "room %s: no owner for %g s (its server stopped); phones are told to reconnect",
            self.keys.room,
            OWNER_GRACE,
        )
        self.close_phones(1012, "reconnecting", OWNER_GONE)
        self._outbox.lines.clear()

    async def _recover(self) -> None:
        while True:
            await asyncio.sleep(RETRY_SECONDS)
            try:
                await self.client.ping()
            except (RedisError, OSError):
                continue
            logger.warning("redis: reachable again; taking phones")
            self._up.set()
            return

    async def _send_forever(self) -> None:
        outbox, inbound = self._outbox, self.keys.inbound
        while True:
            await outbox.ready.wait()
            if len(outbox.lines) < LINGER_BELOW:
                await asyncio.sleep(FORWARD_LINGER)
            outbox.ready.clear()
            while outbox.lines:
                batch = outbox.lines[:FORWARD_BATCH]
                del outbox.lines[:FORWARD_BATCH]
                try:
                    async with self.client.pipeline(transaction=False) as pipe:
                        for start in range(0, len(batch), LINES_PER_ENTRY):
                            lines = "\n".join(batch[start : start + LINES_PER_ENTRY])
                            pipe.xadd(inbound, {"g": self.identity, "m": lines})
                        await pipe.execute()
                except (RedisError, OSError) as error:
                    self._lost(error)
                    break
                self.forwarded += len(batch)

    async def _listen_forever(self) -> None:
        keys = self.keys
        mine = keys.replies(self.identity)
        while True:
            await self._up.wait()
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(mine, keys.broadcast)
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0
                        )
                        if message is None:
                            if not self._up.is_set():
                                break
                            continue
                        data = message["data"]
                        text = data.decode() if isinstance(data, bytes) else str(data)
                        if message["channel"] == mine:
                            self._replies(text)
                        else:
                            self._broadcast(text)
            except (RedisError, OSError) as error:
                self._lost(error)

    def _replies(self, payload: str) -> None:
        """Acks and per-phone frames, one per line: ``<connection id> <frame>``."""
        phones = self._phones
        for line in payload.split("\n"):
            phone_id, _, frame = line.partition(" ")
            phone = phones.get(phone_id)
            if phone is None:
                continue  # it left; it resends after reconnecting, if it must
            if frame.startswith(_ANSWERS):
                phone.waiting -= 1
                if not phone.joined and frame.startswith('{"type":"state"'):
                    phone.joined = True
            broadcast([phone.connection], frame)

    def _broadcast(self, frame: str) -> None:
        """A frame for every phone that keeps up (as the server alone does)."""
        if frame.startswith(CLOSE_PREFIX):
            self.close_phones(1008, frame[len(CLOSE_PREFIX) :])
            return
        if frame.startswith(RESTART_PREFIX):
            self.close_phones(1012, frame[len(RESTART_PREFIX) :])
            return
        if frame.startswith(RESEND_PREFIX):
            for phone in list(self._phones.values()):
                if phone.waiting > 0:
                    self._close_soon(phone.connection, 1012, "please resend")
            return
        if frame.startswith('{"type":"state"'):
            self._last_state = frame
        clock = time.monotonic()
        ready = []
        behind = self._behind
        for phone in self._phones.values():
            connection = phone.connection
            if not phone.joined or connection in behind:
                continue
            if connection.transport.get_write_buffer_size() > PHONE_SEND_BUFFER_LIMIT:
                behind[connection] = clock
                continue
            ready.append(connection)
        broadcast(ready, frame)

    async def _check_behind_forever(self) -> None:
        """Phones that caught up get the current state; those stalled too long are cut."""
        while True:
            await asyncio.sleep(0.5)
            clock = time.monotonic()
            caught_up = []
            for connection, since in list(self._behind.items()):
                if connection.transport.get_write_buffer_size() <= PHONE_SEND_BUFFER_LIMIT:
                    caught_up.append(connection)
                    del self._behind[connection]
                elif clock - since >= PHONE_STALL_SECONDS:
                    connection.transport.abort()
                    del self._behind[connection]
            if caught_up and self._last_state is not None:
                broadcast(caught_up, self._last_state)

    async def _report_forever(self) -> None:
        """Tell the owner how many phones are here, for the chair's turnout."""
        keys = self.keys
        while True:
            await self._up.wait()
            until = int((time.time() + 3 * REPORT_SECONDS) * 1000)
            try:
                await self.client.hset(keys.phones, self.identity, f"{self.phones} {until}")
            except (RedisError, OSError) as error:
                self._lost(error)
            await asyncio.sleep(REPORT_SECONDS)

    async def forget(self) -> None:
        """Remove this gateway's phone count (it stops): the owner's turnout drops it."""
        with contextlib.suppress(RedisError, OSError):
            await self.client.hdel(self.keys.phones, self.identity)


class EventGateway:
    """A gateway for every room of an event: each room's phones below ``/r/<id>/``.

    Each room is a :class:`Gateway` of its own (its stream, its reply and broadcast
    channels, its phones, its watch on Redis), all on one port and one Redis client;
    this front routes each request to its room, and answers ``/`` with the rooms page
    and an unknown room with the same "room does not exist" page the event server
    gives (``server.conference``).

    It reads the event's rooms again every :data:`LISTING_SECONDS`: an owner restarted
    with an edited event file publishes them anew. A new room is served from then on;
    a room that stays keeps its :class:`Gateway`, phones and all, whatever its name
    became; a removed room's phones are told so and closed, and its address then gives
    the "room does not exist" page.
    """

    def __init__(
        self,
        config: GatewayConfig,
        client: aioredis.Redis,
        listing: RoomsListing,
        identity: str | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.listing = listing
        self.identity = identity or secrets.token_hex(6)
        self._static = StaticFiles.load()
        self._per_address: Counter[str] = Counter()
        self._port = 0
        self.rooms = {room: self._room(room) for room in listing.rooms}
        """Room id → its gateway, in the event file's order."""
        self._tasks: dict[str, asyncio.Task[None]] = {}
        """Room id → its gateway running (from :meth:`run`)."""

    def _room(self, room: str) -> Gateway:
        gateway = Gateway(
            replace(self.config, room=room),
            self.client,
            self.identity,
            self._static,
            self._per_address,
        )
        gateway.port = self._port
        return gateway

    @property
    def port(self) -> int:
        """The port every room listens on."""
        return self._port

    @port.setter
    def port(self, port: int) -> None:
        self._port = port
        for room in self.rooms.values():
            room.port = port

    @property
    def phones(self) -> int:
        """Phones whose hello an owner answered, in every room."""
        return sum(room.phones for room in self.rooms.values())

    @property
    def base_url(self) -> str:
        """The loopback URL of the rooms page (https with ``--tls-cert``)."""
        return _loopback_url(self.config, self.port, "/")

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Send a request to its room, or answer with the rooms page or the health check."""
        path = urlsplit(request.path).path
        if path.startswith(ROOMS_PREFIX):
            room_id, slash, rest = path[len(ROOMS_PREFIX) :].partition("/")
            room = self.rooms.get(room_id)
            if room is not None and slash:
                return room.route_request(connection, request, "/" + rest)
            if request.method not in PAGE_METHODS:
                return method_not_allowed(PAGE_METHODS)
            if room is None:
                response = self._page(404, room_id)
            else:
                response = plain_response(301, "text/plain; charset=utf-8", b"Moved.\n")
                response.headers["Location"] = f"{ROOMS_PREFIX}{room_id}/"
        elif request.method not in PAGE_METHODS:
            return method_not_allowed(PAGE_METHODS)
        elif path == "/healthz":
            problems = sorted({room.problem for room in self.rooms.values() if room.problem})
            body = (json.dumps({"status": problems[0] if problems else "ok"}) + "\n").encode()
            response = respond(503 if problems else 200, "application/json", body)
        elif path == "/":
            response = rooms_response(200, rooms_page(self.listing.title, self.listing.rooms, None))
        else:
            response = rooms_response(
                404, rooms_page(self.listing.title, self.listing.rooms, None, missing_path=True)
            )
        return without_body(response) if request.method == "HEAD" else response

    def _page(self, status: int, missing_room: str) -> Response:
        return rooms_response(
            status, rooms_page(self.listing.title, self.listing.rooms, missing_room)
        )

    def handle(self, connection: ServerConnection) -> Awaitable[None]:
        """Route a phone's connection to its room."""
        path = urlsplit(connection.request.path if connection.request else "").path
        room_id, _, rest = path.removeprefix(ROOMS_PREFIX).partition("/")
        room = self.rooms.get(room_id) if path.startswith(ROOMS_PREFIX) else None
        if room is None:
            return connection.close(1008, "unknown path")
        return room.route(connection, "/" + rest)

    async def run(self) -> None:
        """Forward, relay and report for every room, and follow the event's rooms,
        until cancelled."""
        for room_id, room in self.rooms.items():
            self._start(room_id, room)
        try:
            while True:
                await asyncio.sleep(LISTING_SECONDS)
                await self.refresh()
        finally:
            tasks = list(self._tasks.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, room_id: str, room: Gateway) -> None:
        task = asyncio.create_task(room.run(), name=f"livepoll-gateway-{room_id}")
        task.add_done_callback(_report_failure)
        self._tasks[room_id] = task

    async def refresh(self) -> None:
        """Read the event's rooms again and follow what changed. Redis failing is left
        to each room's watch; a listing gone (a Redis that restarted empty) or
        unreadable changes nothing."""
        try:
            listing = await published_rooms(self.client)
        except (RedisError, OSError):
            return
        except ValueError as error:
            logger.error(
                "event: cannot read the event's rooms (%s); serving the rooms as they were", error
            )
            return
        if listing is not None:
            await self.update(listing)

    async def update(self, listing: RoomsListing) -> None:
        """Serve the rooms of ``listing``: start new ones, keep those that stay (their
        phones undisturbed), and close the phones of removed ones."""
        before = self.listing
        if listing.title == before.title and list(listing.rooms.items()) == list(
            before.rooms.items()
        ):
            return
        kept = self.rooms
        rooms: dict[str, Gateway] = {}
        for room_id in listing.rooms:
            room = kept.get(room_id)
            if room is None:
                room = self._room(room_id)
                self._start(room_id, room)
            rooms[room_id] = room
        removed = [(room_id, room) for room_id, room in kept.items() if room_id not in rooms]
        self.rooms = rooms
        self.listing = listing
        added = [room_id for room_id in rooms if room_id not in kept]
        logger.warning(
            "event: the owner published new rooms for %r: %s (added: %s; removed: %s)",
            listing.title,
            ", ".join(f"{room_id} ({name})" for room_id, name in listing.rooms.items()),
            ", ".join(added) or "none",
            ", ".join(room_id for room_id, _ in removed) or "none",
        )
        for room_id, room in removed:
            room.close_phones(1001, ROOM_REMOVED_REASON, ROOM_REMOVED)
            task = self._tasks.pop(room_id)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await room.forget()

    async def forget(self) -> None:
        """Remove this gateway's phone counts (it stops)."""
        for room in self.rooms.values():
            await room.forget()


def _report_failure(task: asyncio.Task[None]) -> None:
    """Log a room's gateway that stopped by a bug (cancelled is how it stops)."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("%s failed", task.get_name(), exc_info=task.exception())


async def published_rooms(client: aioredis.Redis) -> RoomsListing | None:
    """The rooms an event owner published in this Redis, if one did.

    Raises:
        ValueError: the key holds something else.
        RedisError: Redis failed.
    """
    text = await client.get(EVENT_KEY)
    if text is None:
        return None
    return RoomsListing.decode(text.decode() if isinstance(text, bytes) else str(text))


async def owned_rooms(client: aioredis.Redis) -> RoomsListing | str | None:
    """What an owner in this Redis offers a gateway without ``--room``: the event's
    rooms if an event owner published them, else :data:`DEFAULT_ROOM` if that room has
    an owner (its lease), else None (no owner has started yet).

    Raises:
        ValueError: the event's key holds something else.
        RedisError: Redis failed.
    """
    listing = await published_rooms(client)
    if listing is not None:
        return listing
    if await client.exists(RoomKeys(DEFAULT_ROOM).lease):
        return DEFAULT_ROOM
    return None


NOT_STARTED_RETRY = 5
"""Seconds after which the "not started" page loads itself again (and a client may
retry, its Retry-After)."""
NOT_STARTED = message_page(
    "The poll has not started yet",
    "This page opens the poll by itself as soon as it starts.",
    refresh_seconds=NOT_STARTED_RETRY,
)
"""The page a gateway answers while it waits for a room owner."""


class GatewayFront:
    """What a gateway process listens with: its room's :class:`Gateway`, or the
    :class:`EventGateway` of an event's rooms, or, while no owner has started in Redis
    yet, answers that say so.

    Waiting, it listens all the same: the port is taken (a second gateway on it shares
    it, as ever), ``/healthz`` answers 503 ``waiting_for_owner`` so that a load balancer
    sends phones elsewhere, a page is a 503 saying the poll has not started (and loading
    itself again a few seconds later), and a phone's socket is refused with a 503, which
    the page retries. Serving, everything goes to the gateway.
    """

    def __init__(self, config: GatewayConfig, client: aioredis.Redis) -> None:
        self.config = config
        self.client = client
        self.identity = secrets.token_hex(6)
        self.gateway: Gateway | EventGateway | None = None
        """What it serves; None while it waits for an owner."""
        self._port = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._port

    @port.setter
    def port(self, port: int) -> None:
        self._port = port
        if self.gateway is not None:
            self.gateway.port = port

    @property
    def base_url(self) -> str:
        """The loopback URL of the gateway (https with ``--tls-cert``)."""
        return _loopback_url(self.config, self.port, "/")

    @property
    def rooms(self) -> list[str]:
        """The ids of the rooms it serves (none while it waits)."""
        if isinstance(self.gateway, EventGateway):
            return list(self.gateway.rooms)
        return [] if self.gateway is None else [self.gateway.config.room]

    def start(self, found: RoomsListing | None) -> None:
        """Serve the rooms of ``found``, or ``config``'s room if None."""
        gateway: Gateway | EventGateway = (
            Gateway(self.config, self.client, self.identity)
            if found is None
            else EventGateway(self.config, self.client, found, self.identity)
        )
        gateway.port = self._port
        self.gateway = gateway
        self._task = asyncio.create_task(gateway.run(), name="livepoll-gateway")

    async def wait_for_owner(self) -> None:
        """Look for an owner every :data:`WAIT_SECONDS` until one is found, then serve
        what it owns (:func:`owned_rooms`). Redis failing meanwhile is logged once per
        problem, and the looking goes on.

        Raises:
            ValueError: the event's key holds something else.
        """
        trouble: str | None = None
        while True:
            try:
                found = await owned_rooms(self.client)
            except (RedisError, OSError) as error:
                problem = (
                    explain(error, self.config.redis)
                    if isinstance(error, RedisError)
                    else str(error)
                )
                if problem != trouble:
                    logger.error("redis: %s; still waiting for a room owner", problem)
                    trouble = problem
                await asyncio.sleep(WAIT_SECONDS)
                continue
            if found is not None:
                self.start(found if isinstance(found, RoomsListing) else None)
                return
            if trouble is not None:
                logger.warning("redis: reachable again; still waiting for a room owner")
                trouble = None
            await asyncio.sleep(WAIT_SECONDS)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Hand the request to the gateway, or answer that the poll has not started."""
        if self.gateway is not None:
            return self.gateway.process_request(connection, request)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return connection.respond(503, "The poll has not started yet; retrying.\n")
        if request.method not in PAGE_METHODS:
            return method_not_allowed(PAGE_METHODS)
        if urlsplit(request.path).path == "/healthz":
            body = (json.dumps({"status": WAITING_FOR_OWNER}) + "\n").encode()
            response = respond(503, "application/json", body)
        else:
            response = rooms_response(503, NOT_STARTED)
        response.headers["Retry-After"] = str(NOT_STARTED_RETRY)
        return without_body(response) if request.method == "HEAD" else response

    def handle(self, connection: ServerConnection) -> Awaitable[None]:
        """Hand a phone's connection to the gateway."""
        if self.gateway is None:  # refused in process_request; never here
            return connection.close(1013, "the poll has not started")
        return self.gateway.handle(connection)

    async def stop(self) -> None:
        """Stop forwarding, relaying and reporting."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def forget(self) -> None:
        """Remove this gateway's phone counts (it stops): the owner's turnout drops it."""
        if self.gateway is not None:
            await self.gateway.forget()


async def _listen(front: GatewayFront, config: GatewayConfig) -> Server:
    return await serve(
        front.handle,
        config.host,
        config.port,
        process_request=front.process_request,
        **socket_options(config),
        reuse_port=config.reuse_port,
    )


@contextlib.asynccontextmanager
async def running_gateway(
    config: GatewayConfig,
    client: aioredis.Redis,
    listing: RoomsListing | None = None,
    *,
    waiting: bool = False,
) -> AsyncIterator[GatewayFront]:
    """Start a gateway, for ``config``'s room or every room of ``listing``, and stop it
    when the block ends (its phones then reconnect). ``waiting``, it listens but serves
    nothing until :meth:`GatewayFront.wait_for_owner` has found an owner."""
    front = GatewayFront(config, client)
    if not waiting:
        front.start(listing)
    try:
        server = await _listen(front, config)
    except BaseException:
        await front.stop()
        raise
    sockets = server.sockets
    front.port = int(sockets[0].getsockname()[1]) if sockets else config.port
    try:
        yield front
    finally:
        await front.stop()
        server.close()
        await server.wait_closed()
        await front.forget()
