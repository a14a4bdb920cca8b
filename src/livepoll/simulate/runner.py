"""Running a simulation: the phones in this process, or spread over several.

A simulator must not be the bottleneck it measures. Up to
:data:`PHONES_IN_PROCESS` phones share the caller's event loop; beyond that they
are split across worker processes (spawned, one per CPU by default), each
running a :class:`~livepoll.simulate.phones.PhoneGroup` and reporting its
counters and new samples every :data:`REPORT_INTERVAL` seconds through a pipe.
:class:`Simulation` hides the difference: the caller sees one
:class:`~livepoll.simulate.stats.Stats` and can change the phones' behaviour
while they run.

Worker processes stop by themselves when told to, when their parent dies, or
when the optional time limit passes; they ignore SIGINT so that Ctrl-C in a
terminal reaches only the parent, which then stops them cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import re
import signal
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from livepoll.event import ROOM_ID_RULE, is_room_id
from livepoll.simulate.phones import Behaviour, GroupSpec, PhoneGroup
from livepoll.simulate.stats import Counts, Samples, Sightings, Stats

PHONES_IN_PROCESS = 500
"""Up to this many phones run in the caller's process; more are spread over workers."""
REPORT_INTERVAL = 0.2
"""Seconds between a worker's reports of its counters and new samples."""
WORKER_START_SECONDS = 1.5
"""Time given to spawned workers to start (import Python and websockets) before
the ramp begins, so that every worker's phones start on the same clock."""


class SimulationError(Exception):
    """The simulation cannot run (a bad URL, a worker that would not start)."""


def audience_url(url: str, room: str | None = None) -> str:
    """The audience WebSocket URL for a join URL, as the voting page derives it.

    ``http://host:port/`` becomes ``ws://host:port/ws`` (``https`` gives ``wss``);
    a join URL with a path prefix keeps it (``https://venue.example/poll/`` gives
    ``wss://venue.example/poll/ws``); a ``ws://`` or ``wss://`` URL is used as
    given, with ``/ws`` added when it has no path. A room's join URL on an event
    server (``http://host/r/main-hall/``, the final slash optional) gives that
    room's socket, ``ws://host/r/main-hall/ws``.

    Args:
        room: an event room's id: the socket of ``/r/ROOM/`` on the server ``url``
            names (its address, or any of its rooms' URLs).

    Raises:
        SimulationError: not an http(s) or ws(s) URL with a host, a room id no event
            can have, or a room URL that names another room than ``room``.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise SimulationError(
            f"{url!r} is not a join URL (expected e.g. http://192.168.1.20:8321/)"
        )
    if room is not None and not is_room_id(room):
        raise SimulationError(f"--room {room!r}: a room id {ROOM_ID_RULE}")
    socket_scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    named = _ROOM_PATH.match(parts.path)
    if named:
        prefix, in_url = named.group("prefix"), named.group("room")
        if room is not None and room != in_url:
            raise SimulationError(f"{url!r} is the URL of room {in_url!r}, not of --room {room!r}")
        return urlunsplit((socket_scheme, parts.netloc, f"{prefix}r/{in_url}/ws", "", ""))
    if scheme in ("ws", "wss") and room is None:
        path = parts.path if parts.path not in ("", "/") else "/ws"
        return urlunsplit((scheme, parts.netloc, path, parts.query, ""))
    directory = parts.path[: parts.path.rfind("/") + 1] if "/" in parts.path else "/"
    if room is not None:
        return urlunsplit((socket_scheme, parts.netloc, f"{directory}r/{room}/ws", "", ""))
    return urlunsplit((socket_scheme, parts.netloc, f"{directory}ws", "", ""))


_ROOM_PATH = re.compile(r"^(?P<prefix>(?:/[^/]*)*?/)r/(?P<room>[^/]+)(?:/[^/]*)?\Z")
"""A room's page or socket on an event server: ``PREFIX/r/ROOM``, optionally followed
by one more part (``/``, ``/index.html``, ``/ws``)."""


def process_count(voters: int, requested: int | None = None) -> int:
    """How many processes to use for ``voters`` phones (``requested`` wins if set)."""
    if requested is not None:
        return max(1, min(requested, voters))
    if voters <= PHONES_IN_PROCESS:
        return 1
    cpus = os.cpu_count() or 1
    return max(2, min(cpus, math.ceil(voters / PHONES_IN_PROCESS)))


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """What to simulate."""

    url: str
    """The join URL (http://host:port/) or the audience WebSocket URL."""
    voters: int
    ramp: float = 0.0
    """Seconds over which the phones connect (0: all at once)."""
    behaviour: Behaviour = field(default_factory=Behaviour)
    processes: int | None = None
    """Processes to spread the phones over; None chooses (1 up to 500 phones)."""
    seed: int | None = None
    """Seed for the answers and think times (tokens are always fresh)."""
    time_limit: float | None = None
    """Worker processes stop by themselves after this many seconds (a safety net)."""
    observers: int = 0
    """Phones that record each live results frame they receive (arrival time, answers
    counted) in :attr:`Stats.sightings`, spread evenly over the phones' numbers."""


class Simulation:
    """Phones connected to a livepoll server, answering as the chair moves on.

    Use as an async context manager, or call :meth:`start` and :meth:`stop`::

        async with Simulation(SimulationConfig(url, voters=100)) as simulation:
            await simulation.wait_until(lambda s: s.counts.connected == 100, within=10)
            ...
        print(simulation.stats.counts.acked)
    """

    def __init__(self, config: SimulationConfig) -> None:
        if config.voters < 1:
            raise SimulationError("simulate at least one voter")
        self.config = config
        self.url = audience_url(config.url)
        self.processes = process_count(config.voters, config.processes)
        self._group: PhoneGroup | None = None
        self._workers: list[_Worker] = []
        self._samples = Samples()
        self._sightings = Sightings()
        self._behaviour_version = 0
        self._stopped: Stats | None = None

    async def __aenter__(self) -> Simulation:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the phones (in worker processes when there are many).

        Raises:
            SimulationError: a worker process could not be started.
        """
        config = self.config
        spec = GroupSpec(
            url=self.url,
            first=0,
            step=self.processes,
            count=config.voters,
            total=config.voters,
            ramp=config.ramp,
            behaviour=config.behaviour,
            seed=config.seed,
            observers=config.observers,
        )
        if self.processes == 1:
            self._group = PhoneGroup(spec)
            self._group.start()
            return
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")
        start_at = time.monotonic() + WORKER_START_SECONDS
        for index in range(self.processes):
            count = len(range(index, config.voters, self.processes))
            worker_spec = replace(
                spec,
                first=index,
                count=count,
                seed=None if config.seed is None else config.seed * 1000 + index,
            )
            self._workers.append(
                _Worker.launch(context, worker_spec, start_at, config.time_limit, self, loop)
            )

    @property
    def pids(self) -> list[int]:
        """The processes running the phones (this one when there are few phones)."""
        if self._workers:
            return [w.process.pid for w in self._workers if w.process.pid is not None]
        return [os.getpid()]

    @property
    def stats(self) -> Stats:
        """What the phones have seen so far (a snapshot of the counters)."""
        if self._stopped is not None:
            return self._stopped
        if self._group is not None:
            return self._group.stats
        counts = Counts()
        for worker in self._workers:
            counts.add(worker.counts)
        counts.behaviour_version = min(
            (worker.counts.behaviour_version for worker in self._workers), default=0
        )
        return Stats(counts, self._samples, self._sightings)

    async def wait_until(
        self, predicate: Callable[[Stats], bool], within: float, poll: float = 0.05
    ) -> bool:
        """Wait until ``predicate(stats)`` holds; False if ``within`` seconds passed first."""
        deadline = time.monotonic() + within
        while not predicate(self.stats):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(poll)
        return True

    async def set_behaviour(self, behaviour: Behaviour, within: float = 10.0) -> bool:
        """Change how the phones answer; returns once every process applied it.

        Returns:
            False if a worker did not confirm within ``within`` seconds.
        """
        self._behaviour_version += 1
        version = self._behaviour_version
        if self._group is not None:
            self._group.set_behaviour(behaviour, version)
            return True
        for worker in self._workers:
            worker.send(("behaviour", version, behaviour))
        return await self.wait_until(lambda s: s.counts.behaviour_version >= version, within)

    async def stop(self, grace: float = 10.0) -> Stats:
        """Close every phone's connection (waiting up to ``grace`` seconds for the
        workers) and return the final stats."""
        if self._stopped is not None:
            return self._stopped
        if self._group is not None:
            await self._group.stop()
            self._stopped = self._group.stats
            return self._stopped
        for worker in self._workers:
            worker.send(("stop",))
        await self.wait_until(lambda _: all(w.final for w in self._workers), grace)
        stats = self.stats
        for worker in self._workers:
            await asyncio.to_thread(worker.finish)
        self._stopped = stats
        return stats

    def _report(self, worker: _Worker, report: dict[str, Any]) -> None:
        worker.counts = Counts.from_wire(report["counts"])
        worker.final = worker.final or bool(report["final"])
        for name in ("latencies", "acked_at", "sent_at"):
            getattr(self._samples, name).frombytes(report[name])
        for name in ("at", "shown", "phone"):
            getattr(self._sightings, name).frombytes(report[f"sightings_{name}"])


class _Worker:
    """A simulator process seen from the parent: its pipes and its latest report."""

    def __init__(self, process: BaseProcess, control: Connection, reports: Connection) -> None:
        self.process = process
        self.control = control
        self.reports = reports
        self.counts = Counts()
        self.final = False
        self.reader: threading.Thread | None = None

    @classmethod
    def launch(
        cls,
        context: Any,
        spec: GroupSpec,
        start_at: float,
        time_limit: float | None,
        simulation: Simulation,
        loop: asyncio.AbstractEventLoop,
    ) -> _Worker:
        control_out, control_in = context.Pipe(duplex=False)
        reports_out, reports_in = context.Pipe(duplex=False)
        process = context.Process(
            target=worker_main,
            args=(spec, start_at, time_limit, control_out, reports_in),
            name=f"livepoll-simulate-{spec.first}",
            daemon=True,
        )
        try:
            process.start()
        except OSError as error:
            raise SimulationError(f"cannot start a simulator process: {error}") from error
        control_out.close()
        reports_in.close()
        worker = cls(process, control_in, reports_out)
        worker.counts.phones = spec.count
        worker.reader = threading.Thread(
            target=worker.read_reports,
            args=(simulation, loop),
            name=f"livepoll-simulate-reports-{spec.first}",
            daemon=True,
        )
        worker.reader.start()
        return worker

    def send(self, message: tuple[Any, ...]) -> None:
        """Send a control message; a worker that is gone is ignored."""
        with contextlib.suppress(OSError, ValueError):
            self.control.send(message)

    def read_reports(self, simulation: Simulation, loop: asyncio.AbstractEventLoop) -> None:
        """(Thread) Hand each report to the simulation in its event loop, until EOF."""
        while True:
            try:
                report = self.reports.recv()
            except (EOFError, OSError):
                break
            try:
                loop.call_soon_threadsafe(simulation._report, self, report)
            except RuntimeError:  # the loop is closed
                break
            if report.get("final"):
                break

    def finish(self, timeout: float = 5.0) -> None:
        """(Blocking) Wait for the process to exit; terminate it if it does not."""
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        for connection in (self.control, self.reports):
            connection.close()
        if self.reader is not None:
            self.reader.join(timeout)


def worker_main(
    spec: GroupSpec,
    start_at: float,
    time_limit: float | None,
    control: Connection,
    reports: Connection,
) -> None:
    """Entry point of a simulator process: run ``spec``'s phones until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_work(spec, start_at, time_limit, control, reports))


async def _work(
    spec: GroupSpec,
    start_at: float,
    time_limit: float | None,
    control: Connection,
    reports: Connection,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = None if time_limit is None else time.monotonic() + time_limit
    stop, wake = asyncio.Event(), asyncio.Event()
    group = PhoneGroup(spec)

    def on_control() -> None:
        try:
            message = control.recv()
        except (EOFError, OSError):  # the parent is gone
            loop.remove_reader(control.fileno())
            stop.set()
            wake.set()
            return
        if message[0] == "behaviour":
            group.set_behaviour(message[2], message[1])
        elif message[0] == "stop":
            stop.set()
        wake.set()

    loop.add_reader(control.fileno(), on_control)
    delay = start_at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    group.start()
    parent = multiprocessing.parent_process()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), REPORT_INTERVAL)
            wake.clear()
            if not _send_report(reports, group, final=False):
                break
            if parent is not None and not parent.is_alive():
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(control.fileno())
        await group.stop()
        _send_report(reports, group, final=True)


def _send_report(reports: Connection, group: PhoneGroup, *, final: bool) -> bool:
    samples, group.stats.samples = group.stats.samples, Samples()
    sightings, group.stats.sightings = group.stats.sightings, Sightings()
    report = {
        "counts": group.stats.counts.to_wire(),
        "final": final,
        "latencies": _bytes(samples.latencies),
        "acked_at": _bytes(samples.acked_at),
        "sent_at": _bytes(samples.sent_at),
        **{
            f"sightings_{name}": getattr(sightings, name).tobytes()
            for name in ("at", "shown", "phone")
        },
    }
    try:
        reports.send(report)
    except (OSError, ValueError):
        return False
    return True


def _bytes(values: array[float]) -> bytes:
    return values.tobytes()
