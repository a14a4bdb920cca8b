"""One event server, many rooms: what a whole conference costs the server per vote.

    python bench/rooms.py [--rooms 20] [--phones 500] [--sustain 5] [--json PATH]

Three servers in turn, each a fresh subprocess with its own SQLite file, driven the
same way (the same driver processes, chairs and phases):

- ``one room``: ``livepoll serve polls/socitm-spring.toml``, today's one-room server,
  with --phones phones: the single-room figure;
- ``event, 1 room``: ``livepoll serve EVENT.toml`` with one room, to tell the event
  server's own cost from the cost of many rooms;
- ``event, N rooms``: ``livepoll serve EVENT.toml`` with --rooms rooms of --phones
  phones each, all in one server process.

The event file is generated in a temporary directory; every room's programme is the
project's own decks (``polls/socitm-spring.toml`` then ``digital-leadership.toml``).
Each room's chair is a presenter client on that room's channel with that room's
token. Phases, in every room at once:

1. connect: the phones join (evenly over phones/2000 s) and say hello; server RSS
   above the idle server, per phone.
2. burst: each chair opens the first question; every phone answers once, at a
   uniform random moment within one second. Server CPU per 1,000 votes, ack latency,
   and per room: acked by the phones = stored in the database.
3. steady: each chair opens the second question; every phone changes its answer
   0-0.5 s after each ack for --sustain seconds, then the chair closes it. Votes per
   second and server CPU per 1,000 votes; per room, acked = stored (rows + changes).

The phones run in driver processes (this file with ``--drive``), each holding the
simulated phones of several rooms (one :class:`~livepoll.simulate.Simulation` per
room, so every room's counts stay apart), so the driver is the same code whichever
server it drives. Everything talks to 127.0.0.1 only; every wait is bounded. Keep the
runs short on a shared machine: the phones and the server share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from livepoll import deck as decks
from livepoll.simulate import Behaviour, Simulation, SimulationConfig, audience_url, percentile
from livepoll.simulate.stats import QuestionCounts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # noqa: E402  (bench/run.py, beside this file)
    STEADY_THINK,
    Presenter,
    _die_with_parent,
    cpu_seconds,
    is_closed,
    is_open,
    is_pending,
    log,
    machine,
)

HERE = Path(__file__).resolve().parent
POLLS = HERE.parent / "polls"
PROGRAMME = ("socitm-spring.toml", "digital-leadership.toml")
HOST = "127.0.0.1"
DRIVERS = 2
"""Driver processes for many rooms (as bench/run.py uses for 10,000 phones on two
cores); one room's phones fit in one."""
REPLY_LIMIT = 1 << 28
"""Bytes a driver's reply line may take: the ack latencies of a phase are in it."""
REPORT_EVERY = 0.25
"""Seconds between the parent's polls of the drivers while it waits."""
WAIT_LIMIT = 180.0
"""Bound on every wait for phones or votes."""


# Drivers: simulated phones of several rooms in one process ---------------------------


async def drive() -> None:
    """(``--drive``) Run the phones of the rooms named on the first line of stdin, and
    answer the parent's commands, one JSON line each, until told to stop."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    spec = json.loads(await reader.readline())
    simulations = {
        room: Simulation(
            SimulationConfig(
                url,
                voters=spec["phones"],
                ramp=spec["ramp"],
                behaviour=Behaviour(think=0.5),
                processes=1,
                seed=spec["seed"] + index,
                time_limit=900,
            )
        )
        for index, (room, url) in enumerate(spec["rooms"].items())
    }
    for simulation in simulations.values():
        await simulation.start()
    marks = {room: s.stats.samples.marks() for room, s in simulations.items()}
    while line := await reader.readline():
        command = json.loads(line)
        name = command["command"]
        if name == "behave":
            behaviour = Behaviour(think=command["think"], keep_voting=command["keep"])
            await asyncio.gather(*(s.set_behaviour(behaviour) for s in simulations.values()))
        elif name == "mark":
            marks = {room: s.stats.samples.marks() for room, s in simulations.items()}
        elif name == "stop":
            for simulation in simulations.values():
                await simulation.stop()
        answer: dict[str, Any] = {
            "rooms": {
                room: simulation.stats.counts.to_wire() for room, simulation in simulations.items()
            },
            # Ack latencies since the last mark, only when asked: they are many.
            "latencies": [
                value
                for room, simulation in simulations.items()
                for value in simulation.stats.samples.since(marks[room]).latencies
            ]
            if command.get("latencies")
            else [],
        }
        print(json.dumps(answer), flush=True)
        if name == "stop":
            return


@dataclass
class Driver:
    """A driver process and the rooms whose phones it runs."""

    process: asyncio.subprocess.Process
    rooms: list[str]

    async def ask(self, command: str, **arguments: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write((json.dumps({"command": command, **arguments}) + "\n").encode())
        await self.process.stdin.drain()
        async with asyncio.timeout(60):
            line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError("a driver process stopped; see its output above")
        return dict(json.loads(line))

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid) if self.process.pid else 0.0


async def start_drivers(
    rooms: dict[str, str], phones: int, ramp: float, count: int
) -> list[Driver]:
    """Spread the rooms (id → audience socket URL) over ``count`` driver processes."""
    names = list(rooms)
    drivers = []
    for index in range(count):
        mine = names[index::count]
        if not mine:
            continue
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--drive",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            preexec_fn=_die_with_parent,
            limit=REPLY_LIMIT,
        )
        spec = {
            "rooms": {room: rooms[room] for room in mine},
            "phones": phones,
            "ramp": ramp,
            "seed": 1000 * index,
        }
        assert process.stdin is not None
        process.stdin.write((json.dumps(spec) + "\n").encode())
        drivers.append(Driver(process, mine))
    return drivers


@dataclass
class Poll:
    """What every driver reported at one moment: counts per room and ack latencies."""

    rooms: dict[str, dict[str, Any]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    def question(self, room: str, question_id: str) -> tuple[int, int, int, int]:
        """(answered, acked, rejected, phones) of a room's question so far."""
        counts = QuestionCounts(*self.rooms[room]["questions"].get(question_id, ()))
        return counts.answered, counts.acked, counts.rejected, counts.phones

    def total(self, question_id: str) -> int:
        """Acks of this question over every room."""
        return sum(self.question(room, question_id)[1] for room in self.rooms)


async def poll(drivers: list[Driver], command: str = "report", **arguments: Any) -> Poll:
    result = Poll()
    for answer in await asyncio.gather(*(d.ask(command, **arguments) for d in drivers)):
        result.rooms.update(answer["rooms"])
        result.latencies.extend(answer["latencies"])
    return result


async def wait_for(drivers: list[Driver], done: Any, within: float = WAIT_LIMIT) -> Poll:
    """Poll the drivers until ``done(poll)`` holds or ``within`` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        current = await poll(drivers)
        if done(current) or time.monotonic() > deadline:
            return current
        await asyncio.sleep(REPORT_EVERY)


# Servers -------------------------------------------------------------------------


@dataclass
class Room:
    """One room of the server under test: its chair's channel and its session."""

    id: str
    base_url: str
    token: str
    session: int


@dataclass
class Server:
    label: str
    process: subprocess.Popen[bytes]
    database: Path
    rooms: list[Room]

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        """SIGINT (a clean stop), then SIGKILL after 20 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def write_event(workdir: Path, rooms: int) -> Path:
    """An event file of ``rooms`` rooms, each running the project's decks in turn."""
    for name in PROGRAMME:
        shutil.copy(POLLS / name, workdir / name)
    lines = ['title = "Benchmark conference"', ""]
    programme = ", ".join(f'"{name}"' for name in PROGRAMME)
    for number in range(1, rooms + 1):
        lines += [
            "[[rooms]]",
            f'id = "room-{number:02d}"',
            f'name = "Room {number}"',
            f"sessions = [{programme}]",
            "",
        ]
    path = workdir / f"event-{rooms}.toml"
    path.write_text("\n".join(lines))
    return path


def start_server(label: str, workdir: Path, target: Path, *, event: bool) -> Server:
    """Start ``livepoll serve TARGET`` on a free loopback port; read its ready line."""
    database = workdir / f"{label.replace(' ', '-').replace(',', '')}.db"
    token = secrets.token_urlsafe(24)
    command = [sys.executable, "-m", "livepoll", "serve", str(target), "--host", HOST]
    command += ["--port", "0", "--db", str(database), "--ready-json"]
    if not event:
        command.append("--new-session")
    log_file = workdir / f"{database.stem}.log"
    environment = dict(os.environ, PYTHONASYNCIODEBUG="")
    environment.pop("LIVEPOLL_PRESENTER_TOKEN", None)
    if not event:  # an event server makes its own tokens, and refuses one given
        environment["LIVEPOLL_PRESENTER_TOKEN"] = token
    process = subprocess.Popen(
        command,
        preexec_fn=_die_with_parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=open(log_file, "wb"),  # noqa: SIM115 - the child keeps it
        env=environment,
    )
    assert process.stdout is not None
    ready_to_read, _, _ = select.select([process.stdout], [], [], 60)
    line = process.stdout.readline() if ready_to_read else b""
    if not line:
        process.kill()
        process.wait(5)
        raise RuntimeError(f"{label} did not start: {log_file.read_text()[-2000:]}")
    ready = json.loads(line)
    if event:
        rooms = [
            Room(room_id, room["base_url"], room["token"], room["session"])
            for room_id, room in ready["rooms"].items()
        ]
    else:
        rooms = [Room("room", ready["base_url"], token, ready["session"])]
    return Server(label, process, database, rooms)


def stored(database: Path, session: int, question_id: str) -> int:
    """Votes stored for a session's question: a row per voter plus its changes."""
    with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
        rows, changes = db.execute(
            "SELECT count(*), coalesce(sum(changes), 0) FROM responses"
            " WHERE session_id = ? AND question_id = ?",
            (session, question_id),
        ).fetchone()
    return int(rows) + int(changes)


# One server, every phase -----------------------------------------------------------


async def measure(server: Server, phones: int, sustain: float, drivers: int) -> dict[str, Any]:
    """Connect, burst and steady phases against ``server``; returns its figures."""
    deck = decks.from_file(POLLS / PROGRAMME[0])
    first, second = deck.questions[0].id, deck.questions[1].id
    rooms = server.rooms
    total = phones * len(rooms)
    chairs = {
        room.id: Presenter(
            await connect(
                room.base_url.replace("http://", "ws://", 1) + "presenter",
                additional_headers={"Authorization": f"Bearer {room.token}"},
                compression=None,
                max_size=1 << 22,
            )
        )
        for room in rooms
    }
    result: dict[str, Any] = {"server": server.label, "rooms": len(rooms), "phones": total}
    running: list[Driver] = []
    try:
        await asyncio.sleep(1.0)
        result["rss_idle_kib"] = server.rss_kib()
        ramp = total / 2000
        log(f"{server.label}: connecting {total:,} phones in {len(rooms)} room(s)")
        sockets = {room.id: audience_url(room.base_url) for room in rooms}
        running = await start_drivers(sockets, phones, ramp, min(drivers, len(rooms)))
        started = time.monotonic()
        everyone = await wait_for(
            running,
            lambda p: sum(r["connected"] for r in p.rooms.values()) >= total,
            within=ramp + 90,
        )
        result["connect_s"] = time.monotonic() - started
        connected = sum(r["connected"] for r in everyone.rooms.values())
        result["connected"] = connected
        result["refused"] = sum(r["refused"] for r in everyone.rooms.values())
        await asyncio.sleep(1.5)
        result["rss_connected_kib"] = server.rss_kib()
        result["rss_per_phone_kib"] = (result["rss_connected_kib"] - result["rss_idle_kib"]) / max(
            1, connected
        )

        # Burst: every chair opens the first question at once; each phone answers once.
        log(f"{server.label}: burst")
        await poll(running, "mark")
        cpu = server.cpu_seconds()
        driver_cpu = sum(d.cpu_seconds() for d in running)
        opened = time.monotonic()
        await asyncio.gather(*(chair.command("open", is_open(0)) for chair in chairs.values()))

        def burst_done(p: Poll) -> bool:
            return all(
                (q := p.question(room.id, first))[3] >= phones and q[1] + q[2] >= q[0]
                for room in rooms
            )

        await wait_for(running, burst_done)
        seconds = time.monotonic() - opened
        cpu = server.cpu_seconds() - cpu
        driver_cpu = sum(d.cpu_seconds() for d in running) - driver_cpu
        after = await poll(running, latencies=True)
        acked = after.total(first)
        result["burst"] = {
            "complete": burst_done(after),
            "acked": acked,
            "seconds": seconds,
            "cpu_s": cpu,
            "cpu_per_1000_s": 1000 * cpu / max(1, acked),
            "driver_cpu_per_1000_s": 1000 * driver_cpu / max(1, acked),
            "latency_p50": percentile(after.latencies, 0.5),
            "latency_p99": percentile(after.latencies, 0.99),
        }
        await asyncio.gather(*(chair.command("close", is_closed) for chair in chairs.values()))
        acked_first = {room.id: after.question(room.id, first)[1] for room in rooms}

        # Steady: the second question, every phone changing its answer about 4 times a second.
        log(f"{server.label}: steady for {sustain:g} s")
        await poll(running, "behave", think=STEADY_THINK, keep=True)
        await asyncio.gather(*(chair.command("next", is_pending(1)) for chair in chairs.values()))
        await asyncio.gather(*(chair.command("open", is_open(1)) for chair in chairs.values()))
        before = await poll(running, "mark")
        cpu = server.cpu_seconds()
        driver_cpu = sum(d.cpu_seconds() for d in running)
        started = time.monotonic()
        await asyncio.sleep(sustain)
        window = await poll(running, latencies=True)
        cpu = server.cpu_seconds() - cpu
        driver_cpu = sum(d.cpu_seconds() for d in running) - driver_cpu
        seconds = time.monotonic() - started
        votes = window.total(second) - before.total(second)
        await asyncio.gather(*(chair.command("close", is_closed) for chair in chairs.values()))
        await poll(running, "behave", think=0.5, keep=False)
        final = await wait_for(
            running,
            lambda p: all((q := p.question(room.id, second))[1] + q[2] >= q[0] for room in rooms),
            within=60,
        )
        result["steady"] = {
            "votes_per_s": votes / seconds,
            "cpu_s": cpu,
            "cpu_per_1000_s": 1000 * cpu / max(1, votes),
            "cpu_cores": cpu / seconds,
            "driver_cpu_cores": driver_cpu / seconds,
            "latency_p50": percentile(window.latencies, 0.5),
            "latency_p99": percentile(window.latencies, 0.99),
        }
        acked_second = {room.id: final.question(room.id, second)[1] for room in rooms}
        result["rss_end_kib"] = server.rss_kib()
        stopped = await poll(running, "stop")
        failures: dict[str, int] = {}
        for counts in stopped.rooms.values():
            for kind, count in counts["failures"].items():
                failures[kind] = failures.get(kind, 0) + count
        result["errors"] = sum(failures.values())
        result["failures"] = failures
        # Every phone's connection is closed before the store is read back.
        await asyncio.sleep(0.5)
        per_room = []
        for room in rooms:
            per_room.append(
                {
                    "room": room.id,
                    "burst_acked": acked_first[room.id],
                    "burst_stored": stored(server.database, room.session, first),
                    "steady_acked": acked_second[room.id],
                    "steady_stored": stored(server.database, room.session, second),
                }
            )
        result["per_room"] = per_room
        result["acked_equals_stored"] = all(
            r["burst_acked"] == r["burst_stored"] and r["steady_acked"] == r["steady_stored"]
            for r in per_room
        )
    finally:
        for driver in running:
            if driver.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):  # it stopped as told
                    driver.process.kill()
                await driver.process.wait()
        for chair in chairs.values():
            await chair.close()
        server.stop()
    return result


# Report ---------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    """The figures side by side, one column per server, as Markdown."""

    def row(name: str, pick: Any) -> str:
        cells = []
        for result in results:
            try:
                cells.append(pick(result))
            except (KeyError, TypeError):
                cells.append("-")
        return f"| {name} | " + " | ".join(cells) + " |"

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f} ms"

    lines = [
        "| figure | " + " | ".join(r["server"] for r in results) + " |",
        "| --- |" + " --- |" * len(results),
        row("phones connected", lambda r: f"{r['connected']:,} of {r['phones']:,}"),
        row("server RSS per phone", lambda r: f"{r['rss_per_phone_kib']:.1f} KiB"),
        row("burst: votes acked", lambda r: f"{r['burst']['acked']:,}"),
        row("burst: server CPU per 1,000 votes", lambda r: f"{r['burst']['cpu_per_1000_s']:.3f} s"),
        row(
            "burst: ack latency p50 / p99",
            lambda r: f"{ms(r['burst']['latency_p50'])} / {ms(r['burst']['latency_p99'])}",
        ),
        row("steady: votes per second", lambda r: f"{r['steady']['votes_per_s']:,.0f}"),
        row(
            "steady: server CPU per 1,000 votes", lambda r: f"{r['steady']['cpu_per_1000_s']:.3f} s"
        ),
        row(
            "steady: CPU cores busy, server / phones",
            lambda r: f"{r['steady']['cpu_cores']:.2f} / {r['steady']['driver_cpu_cores']:.2f}",
        ),
        row(
            "steady: ack latency p50 / p99",
            lambda r: f"{ms(r['steady']['latency_p50'])} / {ms(r['steady']['latency_p99'])}",
        ),
        row("acked = stored in every room", lambda r: "yes" if r["acked_equals_stored"] else "NO"),
        row(
            "phone errors",
            lambda r: ", ".join(f"{kind} {count}" for kind, count in r["failures"].items()) or "0",
        ),
    ]
    return "\n".join(lines)


async def main(arguments: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="livepoll-rooms-") as temporary:
        workdir = Path(temporary)
        plan = [
            ("one room", POLLS / PROGRAMME[0], False),
            ("event, 1 room", write_event(workdir, 1), True),
            (f"event, {arguments.rooms} rooms", write_event(workdir, arguments.rooms), True),
        ]
        for label, target, event in plan:
            server = start_server(label, workdir, target, event=event)
            results.append(await measure(server, arguments.phones, arguments.sustain, DRIVERS))
    return results


if __name__ == "__main__":
    if sys.argv[1:] == ["--drive"]:
        asyncio.run(drive())
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--phones", type=int, default=500, help="phones per room")
    parser.add_argument("--sustain", type=float, default=5.0, help="seconds of steady voting")
    parser.add_argument("--json", type=Path, help="write every figure here")
    options = parser.parse_args()
    from livepoll.simulate.phones import raise_open_file_limit

    raise_open_file_limit()
    load_before = os.getloadavg()
    figures = asyncio.run(main(options))
    print(table(figures))
    if options.json:
        options.json.write_text(
            json.dumps(
                {"machine": machine(), "load_before": load_before, "results": figures}, indent=2
            )
            + "\n"
        )
