"""Simulated phones: many audience connections driven by one event loop.

Each phone behaves as the voting page does: it connects to the audience channel,
says hello with a fresh voter token, follows the ``state`` frames the server
pushes, answers each newly opened question once after a think time, waits for
the ack, and after a dropped connection reconnects with the same token and resends
what was not acknowledged, with the same ``seq``. What it sees goes into the
group's :class:`~livepoll.simulate.stats.Stats`; a few observer phones also record
when each live results frame arrived and how many answers it counted, so that a
benchmark can tell how long a vote takes to reach the charts on the phones.

A phone is one task (its connection's read loop) plus a timer while it thinks;
nothing here blocks, so thousands share a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import resource
import secrets
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.connection import broadcast
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from livepoll import __version__
from livepoll.simulate.answers import ReplyContext, make_reply, nickname_message, reply_answer
from livepoll.simulate.stats import Stats

OPEN_TIMEOUT = 15.0
"""Seconds a connection attempt may take (TCP and WebSocket handshake)."""
CLOSE_TIMEOUT = 2.0
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Back-off between reconnection attempts, with jitter, as the page does."""
CONNECT_CONCURRENCY = 100
"""Handshakes in flight at once per process: a storm of thousands of SYNs at the
same instant would test the kernel's backlog rather than the server."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the phones answer; can be changed while a simulation runs."""

    think: float = 3.0
    """Mean seconds between a question opening and a phone's answer. Each phone
    waits a uniform random time in 0..2×think, so answers arrive at an even rate
    of phones / (2 × think) per second."""
    keep_voting: bool = False
    """After each ack, change the answer again (after another think time) for as
    long as the question stays open: a load test of answer changes."""


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """The phones one process simulates: ``count`` phones numbered ``first``,
    ``first + step``, ... out of ``total``."""

    url: str
    first: int
    step: int
    count: int
    total: int
    ramp: float = 0.0
    """Phones connect evenly over this many seconds (in global number order)."""
    behaviour: Behaviour = Behaviour()
    seed: int | None = None
    connect_concurrency: int = CONNECT_CONCURRENCY
    observers: int = 0
    """Phones, out of ``total``, that record every live results frame they receive
    (see :func:`observer_numbers`); the group's own are those among its numbers."""


def observer_numbers(total: int, observers: int) -> frozenset[int]:
    """The numbers of ``observers`` phones out of ``total``, spread evenly (the middle
    of each of ``observers`` equal slices), so that they join early and late in a
    ramp and land in every worker process of a large simulation."""
    count = min(max(0, observers), total)
    return frozenset((2 * i + 1) * total // (2 * count) for i in range(count))


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to the hard limit; returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
    return soft


@dataclass(slots=True)
class _Pending:
    question_id: str
    message: dict[str, Any]
    sent_at: float


class PhoneGroup:
    """A set of simulated phones in the running event loop."""

    def __init__(self, spec: GroupSpec) -> None:
        self.spec = spec
        self.behaviour = spec.behaviour
        self.stats = Stats()
        self.stats.counts.phones = spec.count
        self.rng = random.Random(spec.seed)
        self.stopping = False
        self._phones: list[_Phone] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.connect_slots = asyncio.Semaphore(max(1, spec.connect_concurrency))
        self.observers = observer_numbers(spec.total, spec.observers)

    def start(self) -> None:
        """Start every phone; each connects after its share of the ramp."""
        raise_open_file_limit()
        spec = self.spec
        for n in range(spec.count):
            number = spec.first + n * spec.step
            delay = spec.ramp * number / max(1, spec.total)
            phone = _Phone(self, number)
            self._phones.append(phone)
            self.spawn(phone.run(delay))

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` as a task the group keeps (and cancels on stop)."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def set_behaviour(self, behaviour: Behaviour, version: int = 0) -> None:
        """Change how the phones answer from now on (questions opened later, and
        phones still thinking keep their drawn time)."""
        self.behaviour = behaviour
        self.stats.counts.behaviour_version = max(self.stats.counts.behaviour_version, version)

    def think_time(self) -> float:
        """A phone's think time, drawn afresh each time."""
        think = self.behaviour.think
        return self.rng.uniform(0.0, 2.0 * think) if think > 0 else 0.0

    async def stop(self, grace: float = CLOSE_TIMEOUT + 1.0) -> None:
        """Close every connection (politely, for up to ``grace`` seconds), stop the phones."""
        self.stopping = True
        closing = [phone.shut() for phone in self._phones]
        if closing:
            await asyncio.wait([asyncio.ensure_future(c) for c in closing], timeout=grace)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=grace)


class _Phone:
    """One simulated phone."""

    __slots__ = (
        "group",
        "number",
        "token",
        "connection",
        "seq",
        "pending",
        "answers",
        "open_question",
        "items",
        "timer",
        "named",
        "observer",
        "watched",
    )

    def __init__(self, group: PhoneGroup, number: int) -> None:
        self.group = group
        self.number = number
        self.token = secrets.token_urlsafe(16)
        """A fresh 128-bit voter token, 22 base64url characters, as the page makes."""
        self.connection: ClientConnection | None = None
        self.seq = 0
        self.pending: dict[int, _Pending] = {}
        """Answers sent and not yet acknowledged, by seq."""
        self.answers: dict[str, Any] = {}
        """The latest answer this phone gave to each question."""
        self.open_question: Mapping[str, Any] | None = None
        self.items: Sequence[Mapping[str, Any]] = ()
        self.timer: asyncio.TimerHandle | None = None
        self.named = False
        """Whether this phone has been asked for its quiz nickname (it may have declined)."""
        self.observer = number in group.observers
        """Whether this phone records each results frame in the group's sightings."""
        self.watched: object = None
        """The question of the latest live results this phone received."""

    async def run(self, delay: float) -> None:
        """Connect (after ``delay``), follow the server, reconnect until stopped."""
        group, counts = self.group, self.group.stats.counts
        if delay > 0:
            await asyncio.sleep(delay)
        failures = 0
        while not group.stopping:
            try:
                async with group.connect_slots:
                    connection = await connect(
                        group.spec.url,
                        compression=None,
                        open_timeout=OPEN_TIMEOUT,
                        ping_interval=None,
                        close_timeout=CLOSE_TIMEOUT,
                        max_size=1 << 20,
                        user_agent_header=f"livepoll-simulate/{__version__}",
                    )
            except (OSError, TimeoutError, InvalidHandshake) as error:
                counts.refused += 1
                counts.failures[f"connect: {_describe(error)}"] += 1
                failures += 1
                await self._back_off(failures)
                continue
            failures = 0
            counts.connects += 1
            counts.connected += 1
            self.connection = connection
            try:
                await self._converse(connection)
            except ConnectionClosed:
                pass
            finally:
                counts.connected -= 1
                self.connection = None
            if not group.stopping:
                counts.dropped += 1
                counts.failures["connection lost"] += 1
                await self._back_off(1)

    async def _back_off(self, failures: int) -> None:
        base = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS)) - 1]
        await asyncio.sleep(base * self.group.rng.uniform(0.5, 1.5))

    async def shut(self) -> None:
        """Stop thinking and close the connection."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        connection = self.connection
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _converse(self, connection: ClientConnection) -> None:
        await connection.send(json.dumps({"type": "hello", "voter": self.token}))
        if self.pending:
            # The page resends what was not acknowledged, with the same seq: the
            # server treats a repeat as the same answer.
            self.group.stats.counts.resent += len(self.pending)
            for seq in sorted(self.pending):
                await connection.send(json.dumps({**self.pending[seq].message, "seq": seq}))
        async for frame in connection:
            self._receive(frame)

    def _receive(self, frame: str | bytes) -> None:
        counts = self.group.stats.counts
        try:
            message = json.loads(frame)
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            counts.failures["unreadable frame"] += 1
            return
        if kind == "state":
            counts.states += 1
            self._follow(message)
        elif kind == "ack":
            self._acked(message)
        elif kind == "results":
            counts.results += 1
            self.items = message.get("items") or ()
            question_id = message.get("q")
            if question_id != self.watched and isinstance(question_id, str):
                self.watched = question_id
                counts.question(question_id).watched += 1
            if self.observer:
                self.group.stats.sightings.add(
                    time.monotonic(), _answers_shown(message.get("results")), self.number
                )
        elif kind == "error":
            self._refused(message)

    def _follow(self, state: Mapping[str, Any]) -> None:
        """Follow the chair: think about a newly opened question, drop a closed one."""
        question = state.get("question")
        status = state.get("status")
        self.items = state.get("items") or ()
        counts = self.group.stats.counts
        now = time.monotonic()
        if now >= counts.last_state[0]:
            label = (
                f"{question['id']} {status}" if question else f"#{state.get('index', 0)} waiting"
            )
            counts.last_state = (now, label)
        open_now = question if question and status == "open" else None
        was = self.open_question
        if open_now is not None and was is not None and open_now["id"] == was["id"]:
            return
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.open_question = open_now
        if open_now is None:
            return
        question_id = open_now["id"]
        your_answer = state.get("your_answer")
        if your_answer is not None and question_id not in self.answers:
            self.answers[question_id] = your_answer  # answered before a reconnect
        if open_now.get("type") == "quiz" and not self.named:
            self._give_nickname()
        if question_id not in self.answers:
            self._think(question_id)

    def _give_nickname(self) -> None:
        """As the page asks once per session, before the first quiz: most give a name.

        Sent with its own ``seq`` but not kept pending: its ack is then ignored, and a
        nickname lost to a dropped connection only leaves that phone anonymous.
        """
        self.named = True
        message = nickname_message(self.group.rng, self.number)
        if message is None or self.connection is None:
            return
        self.seq += 1
        broadcast((self.connection,), json.dumps({**message, "seq": self.seq}))

    def _think(self, question_id: str) -> None:
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(self.group.think_time(), self._answer, question_id)

    def _answer(self, question_id: str) -> None:
        self.timer = None
        question = self.open_question
        if question is None or question["id"] != question_id or self.group.stopping:
            return
        group = self.group
        counts = group.stats.counts
        previous = self.answers.get(question_id)
        message = make_reply(ReplyContext(question, group.rng, previous, self.items))
        if message is None:
            if previous is None:
                counts.skipped += 1
                self.answers[question_id] = None
            return
        self.seq += 1
        now = time.monotonic()
        self.pending[self.seq] = _Pending(question_id, message, now)
        self.answers[question_id] = reply_answer(message)
        counts.answered += 1
        per_question = counts.question(question_id)
        per_question.answered += 1
        if previous is None:
            per_question.phones += 1
        group.stats.samples.sent_at.append(now)
        connection = self.connection
        if connection is not None:
            # broadcast() to one connection writes at once without a task or a lock:
            # the cheapest send websockets has, so thousands of phones share a core.
            # A connection that is closing skips it; the answer stays pending and
            # goes out with the others on reconnection.
            broadcast((connection,), json.dumps({**message, "seq": self.seq}))

    def _acked(self, ack: Mapping[str, Any]) -> None:
        pending = self.pending.pop(ack.get("seq"), None)  # type: ignore[arg-type]
        if pending is None:
            return  # the ack of a resend already acknowledged
        group = self.group
        now = time.monotonic()
        counts = group.stats.counts
        counts.acked += 1
        counts.question(pending.question_id).acked += 1
        samples = group.stats.samples
        samples.latencies.append(now - pending.sent_at)
        samples.acked_at.append(now)
        question = self.open_question
        if (
            group.behaviour.keep_voting
            and question is not None
            and question["id"] == pending.question_id
            and self.timer is None
            and not group.stopping
        ):
            self._think(pending.question_id)

    def _refused(self, error: Mapping[str, Any]) -> None:
        counts = self.group.stats.counts
        code = str(error.get("code", "error"))
        counts.failures[code] += 1
        pending = self.pending.pop(error.get("seq"), None)  # type: ignore[arg-type]
        if pending is not None:
            counts.rejected += 1
            counts.question(pending.question_id).rejected += 1


def _answers_shown(results: Any) -> int:
    """The answers a results summary counts: the sum of a choice question's counts
    (each phone's one answer to a single or quiz question adds one), or -1."""
    counts = results.get("counts") if isinstance(results, dict) else None
    if not isinstance(counts, list):
        return -1
    return sum(count for count in counts if isinstance(count, int))


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    text = str(error)
    return f"{type(error).__name__}: {text}"[:80] if text else type(error).__name__
