"""The room owner on Redis: applies what gateways' phones send, in stream order.

``livepoll serve DECK --redis URL`` runs the server as always (engine, store,
presenter channel, its own phones) and also owns its room for the gateways:

* It holds the room's **lease** (``SET NX PX``, renewed), so a second owner for the
  room refuses to start. An owner that died on this machine (its process is gone)
  does not block its own restart.
* It reads the room's **inbound stream** from the position its database says it has
  applied, applies each entry in order (hello, vote, question, upvote, nickname),
  queues the writes of one read as one group in the store, and ends the group with
  the stream position: the votes and the position are committed in the same SQLite
  transaction. Killed at any moment, it resumes exactly after its last commit, and
  an entry applied twice is never counted twice.
* Only after that commit does it **publish the replies** (acks, hello states,
  errors) on each gateway's reply channel, so an ack still means durable.
* It sends the room's **broadcasts** (state, results, notices) once per tick on the
  room's broadcast channel, through :class:`RedisRelay`, the :class:`PhoneRelay` the
  server uses without knowing Redis.

``livepoll serve EVENT.toml --redis URL`` does all this for every room of the event
at once (:func:`serve_event_owning`): one lease, one stream and one stream position
per room, in the one event server.

Phone tokens reach the owner in stream entries (the owner keys voters by them, as a
server alone does); the presenter and screen tokens never leave this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from livepoll import protocol
from livepoll.engine import Rejection
from livepoll.event import Event
from livepoll.server.app import (
    STORAGE_PROBLEM_NOTICE,
    LivepollServer,
    PortInUse,
    ServerConfig,
    running_server,
)
from livepoll.server.bus import (
    CLOSE_PREFIX,
    EVENT_KEY,
    RESEND_PREFIX,
    RESTART_PREFIX,
    RoomKeys,
    RoomsListing,
)
from livepoll.server.conference import ConferenceServer, running_conference
from livepoll.server.redis_bus import RedisSettings, RedisSetupError, connect, explain
from livepoll.store import StorageError, UnstorableValue, voter_key

logger = logging.getLogger("livepoll.owner")

LEASE_MS = 10_000
"""How long the lease lasts unrenewed: an owner that vanished (its machine lost power)
is replaced after this long."""
RENEW_SECONDS = 2.0
READ_COUNT = 1000
"""Stream entries read (and committed) at once at most."""
READ_BLOCK_MS = 1000
READ_LINGER = 0.004
LINGER_BELOW = 8
"""After a read of fewer entries than this, wait :data:`READ_LINGER` before the next."""
TRIM_SECONDS = 1.0
"""How often applied entries are trimmed from the stream."""
PHONES_SECONDS = 1.0
"""How often the gateways' phone counts are read, for the chair's turnout."""
RETRY_SECONDS = 0.5

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""


Entry = tuple[str, dict[str, str]]
"""A stream entry as the client gives it: its id and its fields: the gateway ``g`` and
``m``, phone messages one a line, each ``<connection> <kind> <token> <address> <frame>``
(kind ``h`` for a hello, ``m`` for anything else; the address only on a hello)."""


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class OwnerRefused(Exception):
    """The room already has an owner, or this one lost its lease to another."""


def _holder_is_dead_here(holder: str) -> bool:
    """Whether a lease's holder is a process of this machine that no longer runs."""
    host, _, rest = holder.partition(" ")
    pid_text = rest.partition(" ")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(slots=True)
class _Outgoing:
    """Replies to publish once ``saved`` (the commit that made them true) resolves."""

    saved: asyncio.Future[None] | None
    replies: list[tuple[str, str, str]] = field(default_factory=list)
    position: str = ""
    """The stream entry whose commit ``saved`` is (none for a broadcast)."""
    """(gateway, connection, frame); gateway ``*`` is the room's broadcast channel."""


class RedisRelay:
    """The :class:`livepoll.server.bus.PhoneRelay` of a room owned on Redis."""

    def __init__(self, owner: RoomOwner) -> None:
        self._owner = owner
        self.phones = 0
        """Phones on every gateway, as they last reported (see :data:`PHONES_SECONDS`)."""

    @property
    def problem(self) -> str | None:
        """Why Redis fails, while it does: the gateways' phones are then cut off (their
        gateways tell them to reconnect), though the owner's own phones still vote."""
        return self._owner.redis_problem

    def send_to_phones(self, message: str) -> None:
        """Publish a frame for every gateway's phones (in order with the acks)."""
        self._owner.outbox.put_nowait(_Outgoing(None, [("*", "", message)]))

    def close_phones(self, reason: str) -> None:
        """Tell every gateway to close its phones (a room code rotated, re-admitting)."""
        self._owner.outbox.put_nowait(_Outgoing(None, [("*", "", CLOSE_PREFIX + reason)]))

    def restart_phones(self, reason: str) -> None:
        """Tell every gateway to close its phones as a service restart (next session)."""
        self._owner.outbox.put_nowait(_Outgoing(None, [("*", "", RESTART_PREFIX + reason)]))


class RoomOwner:
    """Owns one room on Redis for a running :class:`LivepollServer`."""

    def __init__(
        self,
        client: aioredis.Redis,
        settings: RedisSettings,
        room: str,
        remedy: str = "give this server another --room",
    ) -> None:
        self._server: LivepollServer | None = None
        self._remedy = remedy
        """What else the user may do when the room is taken (beside stopping its owner)."""
        self.client = client
        self.settings = settings
        self.keys = RoomKeys(room)
        self.identity = f"{socket.gethostname()} {os.getpid()} {secrets.token_hex(4)}"
        self.outbox: asyncio.Queue[_Outgoing] = asyncio.Queue()
        self.relay = RedisRelay(self)
        self.position = "0-0"
        """The last stream entry read (and applied, or queued to be): where to read on."""
        self.committed = "0-0"
        """How far the committed writes go: an entry id, or ``<entry id>#<line>`` when
        the last commit ended inside an entry."""
        self.applied = 0
        """Phone messages (stream lines) applied since start."""
        self._admitted: set[str] = set()
        """Tokens with a bound ticket (checked once: a binding is never undone)."""
        self._voters: dict[str, str] = {}
        """Voter keys by phone token, so the keyed hash is not recomputed per vote."""
        self._voters_salt = b""
        """The session salt the keys in :attr:`_voters` were made with."""
        self.redis_problem: str | None = None
        """Why Redis failed last, while it does (logged once, not per retry)."""
        self.task: asyncio.Task[None] | None = None
        """Applying and publishing, once :meth:`serve` started it; it ends only by
        raising (a bug: Redis failures are retried)."""
        self.lease_task: asyncio.Task[None] | None = None
        """Renewing the lease (from :func:`claimed_room`); ends only by raising
        :class:`OwnerRefused`, when another owner has the room."""

    @property
    def server(self) -> LivepollServer:
        """The server whose room this is (set by :meth:`serve`)."""
        assert self._server is not None, "serve() first"
        return self._server

    async def acquire(self) -> None:
        """Take the room's lease, or refuse.

        Raises:
            OwnerRefused: another live owner holds it (the message says which).
        """
        keys = self.keys
        if await self.client.set(keys.lease, self.identity, nx=True, px=LEASE_MS):
            return
        holder = _text(await self.client.get(keys.lease))
        if holder is not None and _holder_is_dead_here(holder):
            if await self.client.eval(
                _TAKE_OVER, 1, keys.lease, holder, self.identity, str(LEASE_MS)
            ):
                logger.warning("took over room %s from a dead owner (%s)", keys.room, holder)
                return
        if holder is None and await self.client.set(
            keys.lease, self.identity, nx=True, px=LEASE_MS
        ):
            return
        raise OwnerRefused(
            f"room {keys.room!r} already has an owner ({holder or 'unknown'}) on Redis at "
            f"{self.settings.where}: stop it first, or {self._remedy}; "
            f"an owner that died elsewhere frees the room within {LEASE_MS // 1000} s"
        )

    async def release(self) -> None:
        """Give the lease back (a clean stop), if it is still ours."""
        with contextlib.suppress(RedisError, OSError):
            await self.client.eval(_RENEW, 1, self.keys.lease, self.identity, "1")

    @contextlib.asynccontextmanager
    async def serve(self, server: LivepollServer) -> AsyncIterator[None]:
        """Apply the stream to ``server``'s session while the block runs."""
        self._server = server
        stored = await server.store.stream_position(self.keys.room)
        self.position = self.committed = stored or "0-0"
        server.relay = self.relay
        # Acks of a previous owner's last commits may never have been published.
        self.outbox.put_nowait(_Outgoing(None, [("*", "", RESEND_PREFIX + "owner started")]))
        self.task = asyncio.create_task(self._run(), name=f"livepoll-owner-{self.keys.room}")
        try:
            yield
        finally:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OwnerRefused):
                await self.task
            server.relay = None

    async def _run(self) -> None:
        """Apply the stream, publish replies, count phones and trim, until cancelled."""
        tasks = [
            asyncio.create_task(self._consume(), name="livepoll-owner-consume"),
            asyncio.create_task(self._publish(), name="livepoll-owner-publish"),
            asyncio.create_task(self._count_phones(), name="livepoll-owner-phones"),
            asyncio.create_task(self._trim(), name="livepoll-owner-trim"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _trouble(self, error: BaseException) -> None:
        problem = explain(error, self.settings) if isinstance(error, RedisError) else str(error)
        if problem != self.redis_problem:
            logger.error("redis: %s; retrying", problem)
            self.redis_problem = problem

    def _recovered(self) -> None:
        if self.redis_problem is not None:
            logger.warning("redis: reachable again")
            self.redis_problem = None

    async def _consume(self) -> None:
        inbound = self.keys.inbound
        await self._finish_partial_entry()
        while True:
            try:
                answer = await self.client.xread(
                    {inbound: self.position}, count=READ_COUNT, block=READ_BLOCK_MS
                )
            except (RedisError, OSError) as error:
                self._trouble(error)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self._recovered()
            for _stream, entries in cast(list[tuple[str, list[Entry]]], answer or []):
                await self._apply(entries)
                if len(entries) < LINGER_BELOW:
                    # Like the store's commit linger: a read per entry would cost more
                    # CPU than the votes in it; let a few gateways' entries gather.
                    await asyncio.sleep(READ_LINGER)

    async def _finish_partial_entry(self) -> None:
        """After a restart that stopped inside an entry (an admission awaited its
        write), apply the rest of that entry before reading on."""
        entry_id, _, done = self.committed.partition("#")
        self.position = entry_id
        if not done:
            return
        while True:
            try:
                entries = await self.client.xrange(self.keys.inbound, entry_id, entry_id)
                break
            except (RedisError, OSError) as error:
                self._trouble(error)
                await asyncio.sleep(RETRY_SECONDS)
        await self._apply(cast(list[Entry], entries), skip=int(done) + 1)

    async def _apply(self, entries: list[Entry], skip: int = 0) -> None:
        """Apply one read of the stream: groups of writes, each ended by its position.

        Each entry carries many phone messages, one a line (a gateway sends what
        arrived in a moment as one entry). A hello that must be admitted (room code,
        ticket) awaits its own write, so it ends the group before it; the position
        then names the line (``<entry id>#<line>``), so a restart resumes inside the
        entry exactly where the last commit stopped.
        """
        lines: list[tuple[str, str, str]] = []
        """(position after this line, gateway, line)"""
        for entry_id, fields in entries:
            gateway = fields.get("g", "")
            payload = fields.get("m", "").split("\n")
            last = len(payload) - 1
            for number, line in enumerate(payload):
                if number >= skip:
                    lines.append(
                        (entry_id if number == last else f"{entry_id}#{number}", gateway, line)
                    )
            skip = 0
        if entries:
            self.position = entries[-1][0]
        admissions = self.server.gate.mode != "open"
        store = self.server.store
        index = 0
        while index < len(lines):
            out = _Outgoing(None)
            marker: str | None = None
            now = time.time()
            with store.group():
                while index < len(lines):
                    position, gateway, line = lines[index]
                    if admissions and line.split(" ", 2)[1:2] == ["h"]:
                        break
                    self._apply_line(gateway, line, now, out.replies)
                    marker = position
                    index += 1
            if marker is not None:
                self._queue_position(marker, out)
            if index < len(lines):
                position, gateway, line = lines[index]
                out = _Outgoing(None)
                await self._admit(gateway, line, out.replies)
                self._queue_position(position, out)
                index += 1

    def _queue_position(self, marker: str, out: _Outgoing) -> None:
        out.saved = self.server.store.save_stream_position(self.keys.room, marker)
        out.position = marker
        self.outbox.put_nowait(out)

    def _voter(self, token: str) -> str:
        salt = self.server._salt
        if salt != self._voters_salt:
            # A new session (the room moved on) keys its voters with its own salt.
            self._voters.clear()
            self._voters_salt = salt
        voter = self._voters.get(token)
        if voter is None:
            if len(self._voters) >= 200_000:
                self._voters.clear()
            voter = self._voters[token] = voter_key(salt, token)
        return voter

    def _read_line(
        self, gateway: str, line: str, out: list[tuple[str, str, str]]
    ) -> tuple[str, str, str, protocol.AudienceMessage] | None:
        """One stream line as (connection, token, address, message), counted as applied;
        None once a malformed line is logged or an undecodable frame answered."""
        self.applied += 1
        parts = line.split(" ", 4)
        if len(parts) != 5:
            logger.warning("ignored a malformed stream line from gateway %s", gateway)
            return None
        connection, _kind, token, address, frame = parts
        try:
            message = protocol.decode_audience(frame)
        except protocol.ProtocolError as error:
            out.append(
                (gateway, connection, protocol.encode_error(error.code, error.message, error.seq))
            )
            return None
        return connection, token, address, message

    def _apply_line(
        self, gateway: str, line: str, now: float, out: list[tuple[str, str, str]]
    ) -> None:
        """Apply one phone message (no await: the writes join the open group)."""
        read = self._read_line(gateway, line, out)
        if read is None:
            return
        connection, token, _address, message = read
        if not protocol.VOTER_TOKEN.match(token):
            out.append(
                (gateway, connection, protocol.encode_error("bad_message", "bad voter token"))
            )
            return
        voter = self._voter(token)
        if isinstance(message, protocol.Hello):
            self._hello_reply(gateway, connection, voter, out)
            return
        refusal = self._not_admitted(token, voter)
        if refusal is not None:
            out.append((gateway, connection, protocol.encode_error(*refusal, message.seq)))
            return
        try:
            reply, _saved = self.server.apply_message(voter, message, now)
        except Rejection as rejection:
            reply = protocol.encode_error(rejection.code, rejection.message, message.seq)
        except UnstorableValue as error:
            reply = protocol.encode_error("bad_message", str(error), message.seq)
        out.append((gateway, connection, reply))

    def _not_admitted(self, token: str, voter: str) -> tuple[str, str] | None:
        """Why a phone's message is refused in a room with a code or tickets (a server
        alone knows its connection said a good hello; the owner checks each time, from
        what the gate keeps durably)."""
        gate = self.server.gate
        if gate.mode == "open" or token in self._admitted:
            return None
        if gate.mode == "code" and not gate.is_admitted(voter):
            return "code_needed", "enter the room code shown on the screen"
        if gate.mode == "tickets" and not gate.holds_ticket(token):
            return "ticket_needed", "enter the ticket code from your badge"
        if gate.mode == "tickets":
            self._admitted.add(token)  # a ticket binding is never undone
        return None

    def _hello_reply(
        self, gateway: str, connection: str, voter: str, out: list[tuple[str, str, str]]
    ) -> None:
        out.append((gateway, connection, self.server._hello_state(voter)))
        if self.server.store.problem is not None:
            out.append((gateway, connection, STORAGE_PROBLEM_NOTICE))

    async def _admit(self, gateway: str, line: str, out: list[tuple[str, str, str]]) -> None:
        """A hello in a room with a code or tickets: admitted (durably) or told why not."""
        read = self._read_line(gateway, line, out)
        if read is None:
            return
        connection, _token, address, hello = read
        if not isinstance(hello, protocol.Hello):
            return
        voter = self._voter(hello.voter)
        try:
            await self.server.gate.admit(
                voter, hello.voter, hello.code, hello.ticket, time.time(), address
            )
        except Rejection as rejection:
            out.append(
                (gateway, connection, protocol.encode_error(rejection.code, rejection.message))
            )
            return
        self._hello_reply(gateway, connection, voter, out)

    async def _publish(self) -> None:
        """Publish replies in order, each batch only once its commit is done."""
        client, keys = self.client, self.keys
        while True:
            out = await self.outbox.get()
            batches = [out]
            if out.saved is not None:
                await out.saved
            # What else is ready (committed, or a broadcast) goes in the same pipeline;
            # stopping at the first that is not keeps the replies in stream order.
            while not self.outbox.empty():
                following: _Outgoing = self.outbox._queue[0]  # type: ignore[attr-defined]
                if following.saved is not None and not following.saved.done():
                    break
                batches.append(self.outbox.get_nowait())
            for batch in batches:
                if batch.position:
                    self.committed = batch.position
            by_channel: dict[str, list[str]] = {}
            broadcasts: list[str] = []
            for batch in batches:
                for gateway, connection, frame in batch.replies:
                    if gateway == "*":
                        broadcasts.append(frame)
                    else:
                        by_channel.setdefault(gateway, []).append(f"{connection} {frame}")
            try:
                async with client.pipeline(transaction=False) as pipe:
                    for gateway, lines in by_channel.items():
                        pipe.publish(keys.replies(gateway), "\n".join(lines))
                    for frame in broadcasts:
                        pipe.publish(keys.broadcast, frame)
                    await pipe.execute()
            except (RedisError, OSError) as error:
                # The phones waiting for these acks resend after they reconnect (their
                # gateways drop them while Redis is away); the resend is idempotent.
                self._trouble(error)

    async def _keep_lease(self) -> None:
        keys = self.keys
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                if await self.client.eval(_RENEW, 1, keys.lease, self.identity, str(LEASE_MS)):
                    continue
                # Gone (Redis restarted empty, or we were away too long): take it again.
                if await self.client.set(keys.lease, self.identity, nx=True, px=LEASE_MS):
                    logger.warning("room %s: lease taken again", keys.room)
                    continue
                holder = _text(await self.client.get(keys.lease))
            except (RedisError, OSError) as error:
                self._trouble(error)
                continue
            raise OwnerRefused(
                f"room {keys.room!r} was taken over by another owner ({holder}); "
                "this one stops so that only one applies its votes"
            )

    async def _count_phones(self) -> None:
        while True:
            await asyncio.sleep(PHONES_SECONDS)
            try:
                counts = await self.client.hgetall(self.keys.phones)
            except (RedisError, OSError) as error:
                self._trouble(error)
                continue
            now_ms = time.time() * 1000
            total = 0
            for value in counts.values():
                count, _, until = str(value).partition(" ")
                if until.isdigit() and int(until) >= now_ms and count.isdigit():
                    total += int(count)
            self.relay.phones = total

    async def _trim(self) -> None:
        """Drop applied and committed entries from the stream, so it holds only work."""
        trimmed = ""
        while True:
            await asyncio.sleep(TRIM_SECONDS)
            committed = self.committed.partition("#")[0]
            if committed == trimmed or committed == "0-0":
                continue
            try:
                await self.client.xtrim(self.keys.inbound, minid=committed, approximate=False)
            except (RedisError, OSError) as error:
                self._trouble(error)
                continue
            trimmed = committed


@contextlib.asynccontextmanager
async def claimed_room(
    client: aioredis.Redis,
    settings: RedisSettings,
    room: str,
    remedy: str = "give this server another --room",
) -> AsyncIterator[RoomOwner]:
    """Hold ``room``'s lease while the block runs (renewed), and give it back after.

    Taken before the server opens its database, so a refused second owner touches
    nothing; :meth:`RoomOwner.serve` then applies the stream to the running server.

    Raises:
        OwnerRefused: the room has another owner.
    """
    owner = RoomOwner(client, settings, room, remedy)
    await owner.acquire()
    lease = asyncio.create_task(owner._keep_lease(), name="livepoll-owner-lease")
    owner.lease_task = lease
    try:
        yield owner
    finally:
        lease.cancel()
        with contextlib.suppress(asyncio.CancelledError, OwnerRefused):
            await lease
        await owner.release()


async def serve_owning(
    config: ServerConfig,
    settings: RedisSettings,
    room: str,
    announce: Callable[[LivepollServer], None],
    stop: asyncio.Event,
) -> int:
    """``livepoll serve DECK --redis URL``: the server, owning ``room`` for gateways,
    until ``stop`` is set; returns the exit code (problems are printed plainly)."""

    async def own(client: aioredis.Redis) -> None:
        async with claimed_room(client, settings, room) as owner:
            async with running_server(config) as server, owner.serve(server):
                announce(server)
                await _until_stopped(stop, [owner])

    return await _run_owner(settings, own)


async def _run_owner(
    settings: RedisSettings, own: Callable[[aioredis.Redis], Awaitable[None]]
) -> int:
    """Connect to Redis and ``own`` with the client; the exit code, with each reason an
    owner cannot start or go on (Redis, a lease held elsewhere, the port, the disk)
    printed as one line."""
    try:
        client = await connect(settings)
    except RedisSetupError as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    try:
        await own(client)
    except (OwnerRefused, PortInUse, StorageError) as error:
        print(f"livepoll: {error}", file=sys.stderr)
        return 1
    except RedisError as error:
        print(f"livepoll: {explain(error, settings)}", file=sys.stderr)
        return 1
    finally:
        await client.aclose()
    return 0


async def _until_stopped(stop: asyncio.Event, owners: list[RoomOwner]) -> None:
    """Wait for ``stop``, or for an owner to fail (a bug) or lose its lease (raised)."""
    watched: list[asyncio.Task[None]] = []
    for owner in owners:
        assert owner.task is not None
        assert owner.lease_task is not None
        watched += [owner.task, owner.lease_task]
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopped, *watched], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    for task in done:
        if task is not stopped:
            task.result()


async def _keep_listing(client: aioredis.Redis, listing: str) -> None:
    """Write the event's rooms again every :data:`RENEW_SECONDS`: a Redis that restarted
    empty has them back within that long, so that a gateway started then finds the
    event instead of waiting for an owner that is there. Failures are left to the
    rooms' own retries."""
    while True:
        await asyncio.sleep(RENEW_SECONDS)
        with contextlib.suppress(RedisError, OSError):
            await client.set(EVENT_KEY, listing)


async def serve_event_owning(
    event: Event,
    config: ServerConfig,
    settings: RedisSettings,
    announce: Callable[[ConferenceServer], None],
    stop: asyncio.Event,
) -> int:
    """``livepoll serve EVENT.toml --redis URL``: the event server, owning every room
    of the event for gateways, until ``stop`` is set; returns the exit code.

    Every room's lease is taken before the database is opened, so an owner refused for
    one room (another owner runs the event, or that room) touches nothing. Each room
    then consumes its own stream and commits its own position with its votes, exactly
    as a one-room owner does; the presenter channels, the control room and the screens
    stay in this process. The rooms' ids and names are published for the gateways
    (:data:`~livepoll.server.bus.EVENT_KEY`), and again every few seconds.
    """
    remedy = "run one event per Redis (or rename the room in the event file)"

    async def own(client: aioredis.Redis) -> None:
        async with contextlib.AsyncExitStack() as stack:
            owners: dict[str, RoomOwner] = {}
            for room in event.rooms:
                owners[room.id] = await stack.enter_async_context(
                    claimed_room(client, settings, room.id, remedy)
                )
            listing = RoomsListing(event.title, {room.id: room.name for room in event.rooms})
            await client.set(EVENT_KEY, listing.encode())
            keeper = asyncio.create_task(
                _keep_listing(client, listing.encode()), name="livepoll-owner-listing"
            )
            stack.callback(keeper.cancel)
            front = await stack.enter_async_context(running_conference(event, config))
            for room_id, owner in owners.items():
                await stack.enter_async_context(owner.serve(front.rooms[room_id]))
            announce(front)
            await _until_stopped(stop, list(owners.values()))

    return await _run_owner(settings, own)
