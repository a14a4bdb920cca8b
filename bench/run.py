"""livepoll against the thinnest server on its stack: one command, one run, one machine.

    python bench/run.py [--sizes 100,1000,5000,10000] [--sustain 5] [--json PATH]

For each number of phones N, both servers in turn (the baseline of
``bench/baseline_server.py``, then the real ``livepoll serve`` with a real SQLite
file and a presenter client attached) are started as subprocesses and driven by
the same simulator (:mod:`livepoll.simulate`) with the same phases:

1. connect: N phones join (evenly over N/2000 s) and say hello; RSS above the
   idle server, failed connection attempts.
2. burst (q1): the chair opens q1; every phone answers once, at a uniform random
   moment within one second. Ack latency, acked vs stored.
3. steady (q2): the chair opens q2; every phone changes its answer 0-0.5 s after
   each ack (about 4 a second, inside livepoll's per-phone rate limit), for
   --sustain seconds, then the chair closes it. Votes per second and server CPU
   per 1,000 votes (from /proc/PID/stat); from 5,000 phones on this saturates.
4. rate (q3, N >= 2,000): the phones answer once, spread so that 2,000 votes
   arrive per second; vote → visible to the presenter (livepoll only).
5. watch (q4, N >= 2,000): the same on a question whose results phones see live
   (livepoll pushes them at 2 Hz to every phone; the baseline pushes nothing):
   results frames per phone per second, CPU per 1,000 votes, whether every phone
   received results, and vote → visible on the phones (below).

Vote → visible on the phones: the votes are ordered by ack time; the k-th is visible
on an observer phone (eight, spread over the room, record every results frame they
receive: its arrival time and the answers it counts) once that phone has received a
frame counting at least k answers. The figure is that delay, for every vote on every
observer, pooled (0 when the frame came first: the server counts a vote before its
ack, which waits for the commit). A results frame carries counts, not votes, so this
is the delay until a phone shows as many votes as had been acked, which is
indifferent to the order votes are counted in and to how many one push carries; a
frame that never reaches k leaves that vote unseen on that phone, and is reported.
The same from each vote's send is recorded beside it. ``bench/gateways.py`` (which
runs this phase at any size) gives the same figure through gateways.

It prints Markdown tables (figure, livepoll, baseline, ratio, target) and writes
every figure as JSON. Everything talks to 127.0.0.1 only; every wait is bounded.
Run it on an otherwise idle machine: the phones and the server share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import http.client
import json
import os
import platform
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from livepoll.simulate import Behaviour, Simulation, SimulationConfig, Stats, percentile
from livepoll.simulate.phones import observer_numbers, raise_open_file_limit
from livepoll.simulate.stats import Samples, Sightings

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
DECK = """title = "Benchmark deck"

[[questions]]
id = "q1"
type = "single"
prompt = "Burst: which of these holds your organisation back most?"
options = ["Legacy systems", "Culture", "Skills", "Budget"]

[[questions]]
id = "q2"
type = "single"
prompt = "Steady: which would you fix first?"
options = ["Legacy systems", "Culture", "Skills", "Budget"]

[[questions]]
id = "q3"
type = "multi"
prompt = "Rate: which of these hold your organisation back?"
options = ["Legacy systems", "Culture", "Skills", "Budget", "Data sharing rules"]
max_choices = 2

[[questions]]
id = "q4"
type = "single"
prompt = "Watch: which matters most next year?"
options = ["Legacy systems", "Culture", "Skills", "Budget"]
results = "live"
"""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1
STEADY_THINK = 0.25
"""Steady phase: a phone changes its answer 0-0.5 s after each ack, i.e. at most
about 4 times a second, inside livepoll's per-phone limit of 5 messages a second."""
PRESENTER_RATE = 2000
"""Votes per second for the vote → presenter visibility phase."""
OBSERVERS = 8
"""Phones per simulation that record every live results frame they receive."""
WATCH_MIN_SECONDS = 1.0
"""The live-results phase spreads the votes over at least this long, so that a run
with fewer than 2,000 phones still spans more than one results push."""


# Server processes -------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def driver_cpu(simulation: Simulation) -> float:
    """CPU time used so far by the processes running the simulated phones."""
    return sum(cpu_seconds(pid) for pid in simulation.pids)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerProcess:
    """A server under test, started as a child process of this benchmark."""

    kind: str
    process: subprocess.Popen[bytes]
    port: int
    token: str
    database: Path | None
    startup: float
    """Seconds from launch to the first 200 from /healthz."""

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process (all its threads) so far."""
        return cpu_seconds(self.process.pid)

    def rss_kib(self) -> int:
        """Resident set size now, in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def stop(self) -> None:
        """SIGINT (a clean stop: livepoll ends its session), then SIGKILL after 20 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _die_with_parent() -> None:
    """(In the child) Linux: SIGTERM the server if this benchmark dies first."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection(HOST, port, timeout=0.5)
        connection.request("GET", "/healthz")
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


SERVER_SOURCE: Path | None = None
"""With ``--server-src DIR``, the livepoll server runs from that source tree while the
phones and the measurement stay this one's: an A/B of two versions of the server with
one driver, so a change in the simulator cannot pass for a change in the server."""


def start_server(kind: str, workdir: Path, deck: Path) -> ServerProcess:
    """Start a server and time it until /healthz answers (polled every 5 ms)."""
    port = free_port()
    token = secrets.token_urlsafe(24)
    database: Path | None = None
    if kind == "livepoll":
        database = workdir / f"bench-{port}.db"
        command = [
            sys.executable,
            "-m",
            "livepoll",
            "serve",
            str(deck),
            "--host",
            HOST,
            "--port",
            str(port),
            "--db",
            str(database),
            "--new-session",
            "--ready-json",
        ]
    else:
        command = [sys.executable, str(HERE / "baseline_server.py"), str(deck), "--port", str(port)]
    environment = dict(os.environ, LIVEPOLL_PRESENTER_TOKEN=token, PYTHONASYNCIODEBUG="")
    if kind == "livepoll" and SERVER_SOURCE is not None:
        environment["PYTHONPATH"] = str(SERVER_SOURCE)
    launched = time.monotonic()
    process = subprocess.Popen(
        command,
        preexec_fn=_die_with_parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / f"{kind}-{port}.log", "wb"),  # noqa: SIM115 - the child keeps it
        env=environment,
    )
    deadline = launched + 30
    while not healthy(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{kind} did not start; see {workdir}/{kind}-{port}.log")
        time.sleep(0.005)
    return ServerProcess(kind, process, port, token, database, time.monotonic() - launched)


# The presenter ----------------------------------------------------------------


@dataclass
class Frame:
    at: float
    index: int
    question: str | None
    status: str
    respondents: int | None


class Presenter:
    """The chair: sends commands and records every state frame with its arrival time."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.frames: list[Frame] = []
        self.bytes = 0
        self._changed = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def attach(cls, server: ServerProcess) -> Presenter:
        connection = await connect(
            f"ws://{HOST}:{server.port}/presenter",
            additional_headers={"Authorization": f"Bearer {server.token}"},
            compression=None,
            max_size=1 << 22,
        )
        return cls(connection)

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.connection:
                now = time.monotonic()
                self.bytes += len(raw)
                message = json.loads(raw)
                if message.get("type") != "state":
                    continue
                question = message.get("question") or {}
                self.frames.append(
                    Frame(
                        now,
                        int(message.get("index", 0)),
                        question.get("id"),
                        str(message.get("status")),
                        message.get("respondents"),
                    )
                )
                self._changed.set()

    async def command(self, action: str, expect: Callable[[Frame], bool]) -> float:
        """Send a command; wait (≤10 s) for a state frame showing it; returns send time."""
        sent = time.monotonic()
        await self.connection.send(json.dumps({"type": "command", "action": action}))
        async with asyncio.timeout(10):
            while not (self.frames and self.frames[-1].at >= sent and expect(self.frames[-1])):
                self._changed.clear()
                await self._changed.wait()
        return sent

    async def close(self) -> None:
        await self.connection.close()
        self._reader.cancel()


def is_open(index: int) -> Callable[[Frame], bool]:
    return lambda frame: frame.index == index and frame.status == "open"


def is_closed(frame: Frame) -> bool:
    return frame.status == "closed"


def is_pending(index: int) -> Callable[[Frame], bool]:
    return lambda frame: frame.index == index and frame.status == "pending"


# Phases -------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench] {time.monotonic():.1f} {message}", file=sys.stderr, flush=True)


def settled(question_id: str, expected: int) -> Callable[[Stats], bool]:
    """Every phone answered ``question_id`` and every answer got its reply."""

    def check(stats: Stats) -> bool:
        counts = stats.counts.questions.get(question_id)
        if counts is None:
            return expected == 0
        return counts.phones >= expected and counts.acked + counts.rejected >= counts.answered

    return check


def drained(stats: Stats) -> bool:
    counts = stats.counts
    return counts.acked + counts.rejected >= counts.answered


def latency_figures(samples: Samples) -> dict[str, float | None]:
    return {
        "p50": percentile(samples.latencies, 0.50),
        "p95": percentile(samples.latencies, 0.95),
        "p99": percentile(samples.latencies, 0.99),
        "max": percentile(samples.latencies, 1.0),
    }


def stored(database: Path, question_id: str) -> tuple[int, int]:
    """(rows, changes) stored for a question: a row per voter, plus its changes."""
    with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
        rows, changes = db.execute(
            "SELECT count(*), coalesce(sum(changes), 0) FROM responses WHERE question_id = ?",
            (question_id,),
        ).fetchone()
    return int(rows), int(changes)


def visibility(samples: Samples, frames: list[Frame], question_id: str) -> list[float]:
    """Vote → visible to the presenter: the k-th vote sent is visible once a state
    frame counts k respondents (each phone answers once, so counts only grow)."""
    shown = [(f.at, f.respondents or 0) for f in frames if f.question == question_id]
    delays = []
    j = 0
    for k, sent in enumerate(sorted(samples.sent_at), start=1):
        while j < len(shown) and shown[j][1] < k:
            j += 1
        if j == len(shown):
            break
        delays.append(max(0.0, shown[j][0] - sent))
    return delays


def watch_think(phones: int) -> float:
    """The live-results phase's think time: each phone answers once, 2,000 a second
    in all, or fewer phones spread over :data:`WATCH_MIN_SECONDS`."""
    return max(phones / PRESENTER_RATE, WATCH_MIN_SECONDS) / 2


def shown_after(times: Sequence[float], frames: Sequence[tuple[float, int]]) -> list[float]:
    """For the k-th of ``times`` (sorted), seconds until ``frames`` (one phone's
    (arrival, answers counted), in arrival order) first counted k answers, 0 if that
    frame came first; stops at the first vote the frames never reached."""
    delays = []
    j, best, at = 0, -1, 0.0
    for k, moment in enumerate(times, start=1):
        while best < k and j < len(frames):
            if frames[j][1] > best:
                best, at = frames[j][1], frames[j][0]
            j += 1
        if best < k:
            break
        delays.append(max(0.0, at - moment))
    return delays


def visible_on_phones(
    acked_at: Sequence[float], sent_at: Sequence[float], groups: Sequence[tuple[Sightings, int]]
) -> dict[str, Any]:
    """Vote → visible on the phones (see the module's docstring) for the votes acked at
    ``acked_at``, from each group's observers: (their sightings, the group's phones)."""
    acks, sends = sorted(acked_at), sorted(sent_at)
    pooled: list[float] = []
    from_send: list[float] = []
    per_group = []
    for sightings, phones in groups:
        expected = len(observer_numbers(phones, OBSERVERS))
        seen = sightings.by_phone()
        delays: list[float] = []
        complete = 0
        for frames in seen.values():
            shown = shown_after(acks, frames)
            complete += len(shown) == len(acks)
            delays += shown
            from_send += shown_after(sends, frames)
        pooled += delays
        per_group.append(
            {
                "observers": expected,
                "received_results": len(seen),
                "saw_every_vote": complete,
                "p50": percentile(delays, 0.5),
                "p95": percentile(delays, 0.95),
                "max": percentile(delays, 1.0),
            }
        )
    return {
        "votes": len(acks),
        "observers": sum(g["observers"] for g in per_group),
        "every_observer_saw_every_vote": all(
            g["saw_every_vote"] == g["observers"] for g in per_group
        ),
        "p50": percentile(pooled, 0.5),
        "p95": percentile(pooled, 0.95),
        "max": percentile(pooled, 1.0),
        "from_send_p95": percentile(from_send, 0.95),
        "groups": per_group,
    }


async def measure(
    kind: str,
    phones: int,
    workdir: Path,
    deck: Path,
    sustain: float,
    *,
    live_results: bool = False,
) -> dict[str, Any]:
    """Run every phase against one fresh server; returns its figures.

    Args:
        live_results: run the live-results phase with fewer than 2,000 phones too
            (``bench/gateways.py``'s comparison at any size).
    """
    server = start_server(kind, workdir, deck)
    result: dict[str, Any] = {"server": kind, "phones": phones, "startup_s": server.startup}
    presenter = await Presenter.attach(server)
    simulation: Simulation | None = None
    try:
        await asyncio.sleep(1.0)
        result["rss_idle_kib"] = server.rss_kib()
        ramp = phones / 2000
        simulation = Simulation(
            SimulationConfig(
                server.base_url,
                voters=phones,
                ramp=ramp,
                behaviour=Behaviour(think=0.5),
                time_limit=600,
                observers=OBSERVERS,
            )
        )
        started = time.monotonic()
        log(f"{kind}: connecting {phones:,} phones")
        await simulation.start()
        all_in = await simulation.wait_until(
            lambda s: s.counts.connected >= phones, within=ramp + 90
        )
        result["connect_s"] = time.monotonic() - started
        counts = simulation.stats.counts
        result["connected"] = counts.connected
        result["refused"] = counts.refused
        result["all_connected"] = all_in
        await asyncio.sleep(1.5)
        result["rss_connected_kib"] = server.rss_kib()
        result["rss_per_phone_kib"] = (result["rss_connected_kib"] - result["rss_idle_kib"]) / max(
            1, counts.connected
        )

        # Burst: q1, every phone within one second.
        log(f"{kind}: burst")
        expected = simulation.stats.counts.connected
        marks = simulation.stats.samples.marks()
        cpu, driver = server.cpu_seconds(), driver_cpu(simulation)
        opened = await presenter.command("open", is_open(0))
        done = await simulation.wait_until(settled("q1", expected), within=120)
        cpu, driver = server.cpu_seconds() - cpu, driver_cpu(simulation) - driver
        burst = simulation.stats.samples.since(marks)
        q1 = simulation.stats.counts.question("q1")
        last_ack = max(burst.acked_at, default=opened)
        result["burst"] = {
            "complete": done,
            "answered": q1.answered,
            "acked": q1.acked,
            "rejected": q1.rejected,
            "seconds": last_ack - opened,
            "votes_per_s": q1.acked / max(1e-9, last_ack - opened),
            "cpu_s": cpu,
            "cpu_per_1000_s": 1000 * cpu / max(1, q1.acked),
            "driver_cpu_per_1000_s": 1000 * driver / max(1, q1.acked),
            "latency": latency_figures(burst),
        }
        await presenter.command("close", is_closed)

        # Steady: q2, every phone keeps changing its answer, about 4 times a second.
        log(f"{kind}: steady")
        await simulation.set_behaviour(Behaviour(think=STEADY_THINK, keep_voting=True))
        await presenter.command("next", is_pending(1))
        marks = simulation.stats.samples.marks()
        cpu, driver = server.cpu_seconds(), driver_cpu(simulation)
        opened = await presenter.command("open", is_open(1))
        await asyncio.sleep(sustain)
        cpu, driver = server.cpu_seconds() - cpu, driver_cpu(simulation) - driver
        closed = await presenter.command("close", is_closed)
        await simulation.set_behaviour(Behaviour(think=0.5))
        drained_ok = await simulation.wait_until(drained, within=60)
        steady = simulation.stats.samples.since(marks)
        window = [t for t in steady.acked_at if opened <= t <= closed]
        q2 = simulation.stats.counts.question("q2")
        result["steady"] = {
            "complete": drained_ok,
            "answered": q2.answered,
            "acked": q2.acked,
            "rejected": q2.rejected,
            "seconds": closed - opened,
            "acked_in_window": len(window),
            "votes_per_s": len(window) / (closed - opened),
            "cpu_s": cpu,
            "cpu_per_1000_s": 1000 * cpu / max(1, len(window)),
            "driver_cpu_per_1000_s": 1000 * driver / max(1, len(window)),
            "latency": latency_figures(steady),
        }

        # Rate: q3 at 2,000 votes/s; vote → visible to the presenter.
        if phones >= PRESENTER_RATE:
            log(f"{kind}: 2,000 votes/s")
            think = phones / PRESENTER_RATE / 2
            await simulation.set_behaviour(Behaviour(think=think))
            await presenter.command("next", is_pending(2))
            expected = simulation.stats.counts.connected
            marks = simulation.stats.samples.marks()
            cpu = server.cpu_seconds()
            opened = await presenter.command("open", is_open(2))
            done = await simulation.wait_until(settled("q3", expected), within=2 * think + 60)
            await asyncio.sleep(0.5)  # the last presenter ticks
            cpu = server.cpu_seconds() - cpu
            rate = simulation.stats.samples.since(marks)
            q3 = simulation.stats.counts.question("q3")
            seen = visibility(rate, presenter.frames, "q3") if kind == "livepoll" else []
            result["rate"] = {
                "complete": done,
                "answered": q3.answered,
                "acked": q3.acked,
                "rejected": q3.rejected,
                "target_votes_per_s": PRESENTER_RATE,
                "votes_per_s": q3.answered / (2 * think),
                "cpu_per_1000_s": 1000 * cpu / max(1, q3.acked),
                "latency": latency_figures(rate),
                "visible": {
                    "votes": len(seen),
                    "p50": percentile(seen, 0.5),
                    "p95": percentile(seen, 0.95),
                    "p99": percentile(seen, 0.99),
                }
                if seen
                else None,
            }
            await presenter.command("close", is_closed)

        # Watch: q4 shows live results on the phones while they vote at 2,000/s.
        if phones >= PRESENTER_RATE or live_results:
            log(f"{kind}: live results")
            if phones < PRESENTER_RATE:  # the rate phase did not run: pass q3 over
                think = watch_think(phones)
                await simulation.set_behaviour(Behaviour(think=think))
                await presenter.command("next", is_pending(2))
                expected = simulation.stats.counts.connected
            await presenter.command("next", is_pending(3))
            marks = simulation.stats.samples.marks()
            sightings = simulation.stats.sightings.mark()
            frames_before = simulation.stats.counts.results
            cpu = server.cpu_seconds()
            opened = await presenter.command("open", is_open(3))
            done = await simulation.wait_until(settled("q4", expected), within=2 * think + 60)
            await asyncio.sleep(1.0)  # the last results pushes
            cpu = server.cpu_seconds() - cpu
            watch = simulation.stats.samples.since(marks)
            q4 = simulation.stats.counts.question("q4")
            received = simulation.stats.counts.results - frames_before
            result["watch"] = {
                "complete": done,
                "answered": q4.answered,
                "acked": q4.acked,
                "rejected": q4.rejected,
                "results_frames": received,
                "results_frames_per_phone_per_s": received
                / max(1, expected)
                / (time.monotonic() - opened),
                "cpu_per_1000_s": 1000 * cpu / max(1, q4.acked),
                "cpu_cores": cpu / (time.monotonic() - opened),
                "latency": latency_figures(watch),
            }
            await presenter.command("close", is_closed)
            result["watch"]["phones"] = expected
            result["watch"]["received_results"] = q4.watched
            if kind == "livepoll":
                result["watch"]["visible_on_phones"] = visible_on_phones(
                    watch.acked_at,
                    watch.sent_at,
                    [(simulation.stats.sightings.since(sightings), phones)],
                )

        result["rss_end_kib"] = server.rss_kib()
        result["presenter_frames"] = len(presenter.frames)
        final = await simulation.stop()
        result["errors"] = dict(final.counts.failures)
        result["dropped"] = final.counts.dropped
        if server.database is not None:
            rows1, _ = stored(server.database, "q1")
            rows2, changes2 = stored(server.database, "q2")
            result["burst"]["stored"] = rows1
            result["steady"]["stored"] = rows2 + changes2
            if "rate" in result:
                result["rate"]["stored"], _ = stored(server.database, "q3")
            if "watch" in result:
                result["watch"]["stored"], _ = stored(server.database, "q4")
        else:
            counted = json.loads(fetch(server.port, "/counted")[1])
            result["burst"]["stored"] = counted.get("q1", 0)
            result["steady"]["stored"] = counted.get("q2", 0)
            if "rate" in result:
                result["rate"]["stored"] = counted.get("q3", 0)
            if "watch" in result:
                result["watch"]["stored"] = counted.get("q4", 0)
    finally:
        if simulation is not None:
            await simulation.stop()
        await presenter.close()
        server.stop()
    return result


# Page and start-up ----------------------------------------------------------------


def fetch(port: int, path: str, gzip: bool = False) -> tuple[int, bytes]:
    """GET ``path``; returns (bytes on the wire: status line + headers + body, body)."""
    accept = "Accept-Encoding: gzip, deflate, br\r\n" if gzip else ""
    with socket.create_connection((HOST, port), timeout=5) as raw:
        raw.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{accept}\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = raw.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        match = re.search(rb"content-length:\s*(\d+)", head, re.IGNORECASE)
        length = int(match.group(1)) if match else 0
        while len(body) < length:
            chunk = raw.recv(65536)
            if not chunk:
                break
            body += chunk
    return len(head) + 4 + len(body), body


EXTERNAL = re.compile(
    rb"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|(?:fetch|import)\(\s*["'](?:https?:)?//""",
    re.IGNORECASE,
)


PAGE_FILES = ("/", "/boot.js", "/app.js", "/app.css", "/en.json")


def page_figures(workdir: Path, deck: Path) -> dict[str, Any]:
    """Bytes transferred for the voting page, and whether it asks anything of others."""
    server = start_server("livepoll", workdir, deck)
    try:
        sizes: dict[str, int] = {}
        compressed: dict[str, int] = {}
        external: list[str] = []
        # What a first visit in English fetches: the page, its boot script (which dials
        # the socket early), the script, the styles and one message catalogue.
        for path in PAGE_FILES:
            wire, body = fetch(server.port, path)
            sizes[path] = wire
            compressed[path] = fetch(server.port, path, gzip=True)[0]
            external += [path for _ in EXTERNAL.finditer(body)]
    finally:
        server.stop()
    return {
        "bytes": sizes,
        "total_bytes": sum(sizes.values()),
        "gzip_bytes": compressed,
        "total_gzip_bytes": sum(compressed.values()),
        "external_references": external,
    }


def startup_figures(workdir: Path, deck: Path, runs: int = 3) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        server = start_server("livepoll", workdir, deck)
        times.append(server.startup)
        server.stop()
    return {"runs": times, "worst_s": max(times)}


# Report ----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": f"{int(memory) / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "websockets": websockets.__version__,
        "sqlite": sqlite3.sqlite_version,
        "open_files": " / ".join(
            str(n) for n in __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)
        ),
    }


def fmt(value: Any, form: str, scale: float = 1.0) -> str:
    return "-" if value is None else format(value * scale, form)


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def ratio(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return "-"
    return f"{ours / theirs:.2f}×"


def pick(results: list[dict[str, Any]], kind: str, phones: int) -> dict[str, Any] | None:
    for result in results:
        if result["server"] == kind and result["phones"] == phones:
            return result
    return None


def dig(result: dict[str, Any] | None, *path: str) -> Any:
    value: Any = result
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def markdown(report: dict[str, Any]) -> str:
    results = report["results"]
    sizes = sorted({r["phones"] for r in results})
    lines: list[str] = []

    def row(figure: str, ours: str, theirs: str, times: str, target: str) -> None:
        lines.append(f"| {figure} | {ours} | {theirs} | {times} | {target} |")

    lines += [
        "| figure | livepoll | baseline | ratio | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    steady_n = 1000 if 1000 in sizes else sizes[0]
    burst_n = 5000 if 5000 in sizes else sizes[-1]
    big_n = sizes[-1]
    for phase, n, label in (("steady", steady_n, "answer changes"), ("burst", burst_n, "burst")):
        ours, theirs = pick(results, "livepoll", n), pick(results, "baseline", n)
        a, b = dig(ours, phase, "cpu_per_1000_s"), dig(theirs, phase, "cpu_per_1000_s")
        row(
            f"server CPU per 1,000 votes ({label}, {n:,} phones)",
            f"{a * 1000:.0f} ms" if a else "-",
            f"{b * 1000:.0f} ms" if b else "-",
            ratio(a, b),
            "≤ 1.5× baseline",
        )
    ours, theirs = pick(results, "livepoll", steady_n), pick(results, "baseline", steady_n)
    a, b = dig(ours, "steady", "votes_per_s"), dig(theirs, "steady", "votes_per_s")
    row(
        f"votes/s, saturated ({steady_n:,} phones)",
        f"{a:,.0f}" if a else "-",
        f"{b:,.0f}" if b else "-",
        ratio(a, b),
        "",
    )
    ours, theirs = pick(results, "livepoll", burst_n), pick(results, "baseline", burst_n)
    for q in ("p50", "p99"):
        a, b = dig(ours, "burst", "latency", q), dig(theirs, "burst", "latency", q)
        row(
            f"burst: {burst_n:,} phones vote within 1 s, ack {q}",
            ms(a),
            ms(b),
            ratio(a, b),
            "p99 ≤ 1.5 s" if q == "p99" else "",
        )
    for name, which in (
        ("acknowledged", "acked"),
        ("stored (rows; counted for baseline)", "stored"),
    ):
        a, b = dig(ours, "burst", which), dig(theirs, "burst", which)
        row(
            f"burst: {name}",
            f"{a:,}" if a is not None else "-",
            f"{b:,}" if b is not None else "-",
            "",
            "100%, acked = stored",
        )
    ours, theirs = pick(results, "livepoll", big_n), pick(results, "baseline", big_n)
    row(
        f"connections held ({big_n:,} phones): connected / failed attempts",
        f"{dig(ours, 'connected')} / {dig(ours, 'refused')}",
        f"{dig(theirs, 'connected')} / {dig(theirs, 'refused')}",
        "",
        "10,000, none refused",
    )
    a, b = dig(ours, "rss_per_phone_kib"), dig(theirs, "rss_per_phone_kib")
    row(
        f"memory per connected phone above idle ({big_n:,} phones)",
        f"{a:.1f} KiB" if a else "-",
        f"{b:.1f} KiB" if b else "-",
        ratio(a, b),
        "≤ 30 KiB",
    )
    a, b = dig(ours, "rss_idle_kib"), dig(theirs, "rss_idle_kib")
    row(
        "RSS of the idle server",
        fmt(a, ".1f", 1 / 1024) + " MiB",
        fmt(b, ".1f", 1 / 1024) + " MiB",
        ratio(a, b),
        "",
    )
    rate_n = max(
        (r["phones"] for r in results if r["server"] == "livepoll" and "rate" in r), default=None
    )
    if rate_n:
        rate = dig(pick(results, "livepoll", rate_n), "rate")
        visible = rate.get("visible") or {}
        row(
            f"vote → visible to the presenter at 2,000 votes/s, p95 ({rate_n:,} phones)",
            ms(visible.get("p95")),
            "n/a",
            "",
            "p95 ≤ 250 ms",
        )
    watch_n = max(
        (r["phones"] for r in results if r["server"] == "livepoll" and "watch" in r), default=None
    )
    if watch_n:
        ours, theirs = pick(results, "livepoll", watch_n), pick(results, "baseline", watch_n)
        a, b = dig(ours, "watch", "latency", "p99"), dig(theirs, "watch", "latency", "p99")
        frames = dig(ours, "watch", "results_frames_per_phone_per_s") or 0
        cores = dig(ours, "watch", "cpu_cores")
        row(
            f"phones watching live results while voting at 2,000/s ({watch_n:,} phones): "
            "results frames per phone, server CPU, ack p99 (the baseline pushes nothing)",
            f"{frames:.1f} frames/s, "
            + (f"{cores:.2f} cores, " if cores is not None else "")
            + f"p99 {ms(a)}",
            f"p99 {ms(b)}",
            "",
            "≤ 2 frames/s per phone, < 1 core",
        )
        shown = dig(ours, "watch", "visible_on_phones") or {}
        row(
            f"vote (its ack) → visible on the phones at 2,000 votes/s ({watch_n:,} phones, "
            f"{shown.get('observers', 0)} observers): p50 / p95 / max",
            f"{ms(shown.get('p50'))} / {ms(shown.get('p95'))} / {ms(shown.get('max'))}"
            + ("" if shown.get("every_observer_saw_every_vote") else ", some never shown"),
            "n/a",
            "",
            "",
        )
    page = report["page"]
    row(
        "voting page: bytes transferred on a first visit (" + " + ".join(PAGE_FILES) + ")",
        f"{page['total_gzip_bytes']:,} B gzip ({page['total_bytes']:,} B plain), "
        f"{len(page['external_references'])} external",
        "",
        "",
        "≤ 25 KB, none outside",
    )
    row(
        "start-up: launch → /healthz answers (worst of 3)",
        f"{report['startup']['worst_s'] * 1000:.0f} ms",
        "",
        "",
        "≤ 1 s",
    )

    lines += ["", "Scaling (each cell: livepoll / baseline):", ""]
    lines.append("| figure | " + " | ".join(f"{n:,} phones" for n in sizes) + " |")
    lines.append("| --- |" + " --- |" * len(sizes))

    def scaling(figure: str, render: Callable[[dict[str, Any] | None], str]) -> None:
        cells = []
        for n in sizes:
            cells.append(
                f"{render(pick(results, 'livepoll', n))} / {render(pick(results, 'baseline', n))}"
            )
        lines.append(f"| {figure} | " + " | ".join(cells) + " |")

    scaling("connected (failed attempts)", lambda r: f"{dig(r, 'connected')} ({dig(r, 'refused')})")
    scaling("connect time", lambda r: fmt(dig(r, "connect_s"), ".1f") + " s")
    scaling(
        "RSS idle → connected, MiB",
        lambda r: (
            fmt(dig(r, "rss_idle_kib"), ".0f", 1 / 1024)
            + "→"
            + fmt(dig(r, "rss_connected_kib"), ".0f", 1 / 1024)
        ),
    )
    scaling("RSS per phone, KiB", lambda r: fmt(dig(r, "rss_per_phone_kib"), ".1f"))
    scaling(
        "burst ack p50 / p99, ms",
        lambda r: (
            fmt(dig(r, "burst", "latency", "p50"), ".0f", 1000)
            + " / "
            + fmt(dig(r, "burst", "latency", "p99"), ".0f", 1000)
        ),
    )
    scaling(
        "burst acked = stored",
        lambda r: f"{dig(r, 'burst', 'acked')} = {dig(r, 'burst', 'stored')}",
    )
    scaling(
        "burst CPU per 1,000 votes, ms",
        lambda r: fmt(dig(r, "burst", "cpu_per_1000_s"), ".0f", 1000),
    )
    scaling("steady votes/s", lambda r: fmt(dig(r, "steady", "votes_per_s"), ",.0f"))
    scaling(
        "steady CPU per 1,000 votes, ms",
        lambda r: fmt(dig(r, "steady", "cpu_per_1000_s"), ".0f", 1000),
    )
    scaling(
        "steady ack p50 / p99, ms",
        lambda r: (
            fmt(dig(r, "steady", "latency", "p50"), ".0f", 1000)
            + " / "
            + fmt(dig(r, "steady", "latency", "p99"), ".0f", 1000)
        ),
    )
    scaling(
        "steady acked = stored",
        lambda r: f"{dig(r, 'steady', 'acked')} = {dig(r, 'steady', 'stored')}",
    )
    scaling(
        "2,000 votes/s: ack p99, ms", lambda r: fmt(dig(r, "rate", "latency", "p99"), ".0f", 1000)
    )
    scaling(
        "2,000 votes/s: visible to presenter p95, ms",
        lambda r: fmt(dig(r, "rate", "visible", "p95"), ".0f", 1000),
    )
    scaling(
        "live results: ack p99 ms, CPU per 1,000 votes ms",
        lambda r: (
            fmt(dig(r, "watch", "latency", "p99"), ".0f", 1000)
            + ", "
            + fmt(dig(r, "watch", "cpu_per_1000_s"), ".0f", 1000)
        ),
    )
    scaling(
        "live results: vote → visible on phones p95, ms",
        lambda r: fmt(dig(r, "watch", "visible_on_phones", "p95"), ".0f", 1000),
    )
    scaling(
        "errors",
        lambda r: ", ".join(f"{k} ×{v}" for k, v in (dig(r, "errors") or {}).items()) or "none",
    )
    return "\n".join(lines)


async def main_async(arguments: argparse.Namespace) -> dict[str, Any]:
    raise_open_file_limit()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="livepoll-bench-") as temporary:
        workdir = Path(temporary)
        deck = workdir / "bench.toml"
        deck.write_text(DECK, encoding="utf-8")
        report: dict[str, Any] = {
            "command": " ".join(["python", "bench/run.py", *sys.argv[1:]]),
            "machine": machine(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "startup": startup_figures(workdir, deck),
            "page": page_figures(workdir, deck),
            "results": [],
        }
        for phones in sizes:
            for kind in arguments.servers.split(","):
                print(f"[bench] {kind}, {phones:,} phones", file=sys.stderr, flush=True)
                result = await measure(kind, phones, workdir, deck, arguments.sustain)
                report["results"].append(result)
                print(f"[bench]   {json.dumps(_brief(result))}", file=sys.stderr, flush=True)
    return report


def _brief(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "connected": result.get("connected"),
        "refused": result.get("refused"),
        "kib_per_phone": round(result.get("rss_per_phone_kib", 0), 1),
        "burst_p99_ms": round(1000 * (dig(result, "burst", "latency", "p99") or 0)),
        "burst_acked_stored": (dig(result, "burst", "acked"), dig(result, "burst", "stored")),
        "steady_vps": round(dig(result, "steady", "votes_per_s") or 0),
        "steady_cpu_ms_per_1000": round(1000 * (dig(result, "steady", "cpu_per_1000_s") or 0)),
        "visible_p95_ms": round(1000 * (dig(result, "rate", "visible", "p95") or 0)),
    }


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)  # clean up servers and workers on SIGTERM
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000,10000", help="phone counts")
    parser.add_argument("--servers", default="baseline,livepoll", help=argparse.SUPPRESS)
    parser.add_argument("--sustain", type=float, default=5.0, help="seconds of the steady phase")
    parser.add_argument("--json", type=Path, default=HERE / "last-run.json", help="figures as JSON")
    parser.add_argument(
        "--server-src",
        type=Path,
        metavar="DIR",
        help="run the livepoll server from this src/ directory (an A/B with one driver)",
    )
    arguments = parser.parse_args()
    global SERVER_SOURCE  # noqa: PLW0603 - set once, before anything starts
    SERVER_SOURCE = arguments.server_src.resolve() if arguments.server_src else None
    report = asyncio.run(main_async(arguments))
    arguments.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    text = markdown(report)
    print(text)
    print(f"\n[bench] figures written to {arguments.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
