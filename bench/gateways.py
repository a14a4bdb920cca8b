"""livepoll split over gateways on Redis, beside the server alone: one command, one run.

    python bench/gateways.py [--phones 3000] [--gateways 1,2,3] [--sustain 5]
                             [--connect 30000] [--json PATH] [--redis-server PATH]

Needs Debian's ``redis-server`` (``apt install redis-server``) and the ``redis``
package (``livepoll[redis]``). For each number of gateways G it starts, as child
processes on 127.0.0.1: a private Redis (password, nothing on disk), the room owner
(``livepoll serve DECK --redis URL``, a fresh SQLite file, a presenter attached) and
G gateways (``livepoll gateway``, each on its own port), and drives ``--phones``
simulated phones (``livepoll.simulate``), split evenly over the gateways, through:

1. connect: the phones join (2,000 a second) and say hello; resident memory of
   each gateway before and after, per phone.
2. steady (q1): every phone changes its answer 0-0.5 s after each ack for
   ``--sustain`` seconds: durable votes a second, and CPU per 1,000 votes summed
   over every process (owner, gateways, Redis), with each one's share.
3. rate (q2, 2,000 phones or more): every phone answers once, spread so that 2,000
   votes arrive each second: vote → visible to the presenter, and ack latency, while
   the owner publishes the state to every gateway.
4. live results (q4, at any size): the same on a question whose results the phones
   see live (the owner publishes them at 2 Hz; each gateway broadcasts them to its
   phones), the votes spread over at least a second when there are fewer than 2,000
   phones: vote → visible on the phones, results frames per phone per second, CPU
   per 1,000 votes over every process, and whether every phone on every gateway
   received results at all (a gateway that dropped them would show here).

Vote → visible on the phones is ``bench/run.py``'s definition (see its docstring),
with eight observer phones on each gateway: the room's votes in ack order, the k-th
visible on an observer once that phone received a results frame counting at least
k answers. The delay is pooled over every vote and every observer of every gateway
(p50, p95, max), and kept per gateway in the JSON; an observer whose frames never
counted every acked vote is reported, not averaged away.

The same phases run against ``livepoll serve`` alone (``bench/run.py``'s
measurement, which adds its burst phase, and runs its live-results phase here at
any size), so the price of the split per vote is read off one table.
``--connect N`` then starts three gateways and connects N phones across them (each
gateway its own port, so the kernel's ephemeral ports suffice for 28,000 per
gateway), all voting once.

Everything talks to 127.0.0.1 only; every wait is bounded. The phones share the
machine's cores with the servers: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livepoll.simulate import Behaviour, Simulation, SimulationConfig, percentile
from livepoll.simulate.phones import raise_open_file_limit
from livepoll.simulate.stats import Samples, Sightings
from run import (
    DECK,
    HOST,
    OBSERVERS,
    PRESENTER_RATE,
    STEADY_THINK,
    Presenter,
    ServerProcess,
    _die_with_parent,
    cpu_seconds,
    drained,
    free_port,
    healthy,
    is_closed,
    is_open,
    is_pending,
    latency_figures,
    log,
    measure,
    settled,
    stored,
    visibility,
    visible_on_phones,
    watch_think,
)

HERE = Path(__file__).resolve().parent


def rss_kib(pid: int) -> int:
    """Resident set size of a process now, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Cluster:
    """Redis, the room owner and the gateways, as child processes."""

    workdir: Path
    gateways: int
    redis_server: str = "redis-server"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    gateway_ports: list[int] = field(default_factory=list)
    owner: ServerProcess | None = None

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.processes[name] = subprocess.Popen(
            command,
            preexec_fn=_die_with_parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / f"{name}.log", "wb"),  # noqa: SIM115 - the child keeps it
            env=env,
        )

    def start(self, deck: Path) -> None:
        redis_port = free_port()
        self._spawn(
            "redis",
            [self.redis_server, "--bind", HOST, "--port", str(redis_port), "--requirepass",
             self.password, "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            dict(os.environ),
        )  # fmt: skip
        url = f"redis://{HOST}:{redis_port}/0"
        token = secrets.token_urlsafe(24)
        env = dict(
            os.environ,
            LIVEPOLL_REDIS_PASSWORD=self.password,
            LIVEPOLL_PRESENTER_TOKEN=token,
            PYTHONASYNCIODEBUG="",
        )
        time.sleep(0.3)
        port = free_port()
        database = self.workdir / f"owner-{port}.db"
        launched = time.monotonic()
        self._spawn(
            "owner",
            [sys.executable, "-m", "livepoll", "serve", str(deck), "--host", HOST, "--port",
             str(port), "--db", str(database), "--new-session", "--redis", url],
            env,
        )  # fmt: skip
        self._wait(port, "owner")
        self.owner = ServerProcess(
            "owner", self.processes["owner"], port, token, database, time.monotonic() - launched
        )
        for number in range(self.gateways):
            gateway_port = free_port()
            self._spawn(
                f"gateway{number + 1}",
                [sys.executable, "-m", "livepoll", "gateway", "--redis", url, "--host", HOST,
                 "--port", str(gateway_port)],
                env,
            )  # fmt: skip
            self._wait(gateway_port, f"gateway{number + 1}")
            self.gateway_ports.append(gateway_port)

    def _wait(self, port: int, name: str) -> None:
        deadline = time.monotonic() + 30
        while not healthy(port):
            if self.processes[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start; see {self.workdir}/{name}.log")
            time.sleep(0.01)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each process."""
        return {name: cpu_seconds(process.pid) for name, process in self.processes.items()}

    def gateway_rss(self) -> list[int]:
        return [rss_kib(self.processes[f"gateway{n + 1}"].pid) for n in range(self.gateways)]

    def stop(self) -> None:
        for name, process in reversed(self.processes.items()):
            if process.poll() is None:
                process.send_signal(signal.SIGINT if name != "redis" else signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


class Phones:
    """One simulation per gateway, read as one."""

    def __init__(self, ports: list[int], phones: int, think: float = 0.5) -> None:
        share = [phones // len(ports) + (i < phones % len(ports)) for i in range(len(ports))]
        self.simulations = [
            Simulation(
                SimulationConfig(
                    f"http://{HOST}:{port}/",
                    voters=count,
                    ramp=count / (2000 / len(ports)),
                    behaviour=Behaviour(think=think),
                    time_limit=900,
                    processes=1 if count <= 2000 else 2,
                    observers=OBSERVERS,
                )
            )
            for port, count in zip(ports, share, strict=True)
        ]
        self.expected = share

    async def start(self) -> None:
        for simulation in self.simulations:
            await simulation.start()

    async def wait_until(self, checks: list[Any], within: float) -> bool:
        results = await asyncio.gather(
            *(s.wait_until(c, within=within) for s, c in zip(self.simulations, checks, strict=True))
        )
        return all(results)

    def connected(self) -> int:
        return sum(s.stats.counts.connected for s in self.simulations)

    def refused(self) -> int:
        return sum(s.stats.counts.refused for s in self.simulations)

    def marks(self) -> list[tuple[int, int, int]]:
        return [s.stats.samples.marks() for s in self.simulations]

    def since(self, marks: list[tuple[int, int, int]]) -> Samples:
        merged = Samples()
        for simulation, mark in zip(self.simulations, marks, strict=True):
            merged.extend(simulation.stats.samples.since(mark))
        return merged

    def question(self, question_id: str) -> dict[str, int]:
        totals = {"answered": 0, "acked": 0, "rejected": 0}
        for simulation in self.simulations:
            counts = simulation.stats.counts.question(question_id)
            totals["answered"] += counts.answered
            totals["acked"] += counts.acked
            totals["rejected"] += counts.rejected
        return totals

    def received_results(self, question_id: str) -> list[int]:
        """Phones on each gateway that received live results of ``question_id``."""
        return [s.stats.counts.question(question_id).watched for s in self.simulations]

    def results_frames(self) -> int:
        return sum(s.stats.counts.results for s in self.simulations)

    def sightings_marks(self) -> list[int]:
        return [s.stats.sightings.mark() for s in self.simulations]

    def sightings_since(self, marks: list[int]) -> list[Sightings]:
        """Each gateway's observers' results frames since ``marks``."""
        return [
            s.stats.sightings.since(mark) for s, mark in zip(self.simulations, marks, strict=True)
        ]

    async def set_behaviour(self, behaviour: Behaviour) -> None:
        await asyncio.gather(*(s.set_behaviour(behaviour) for s in self.simulations))

    def driver_cpu(self) -> float:
        return sum(cpu_seconds(pid) for s in self.simulations for pid in s.pids)

    async def stop(self) -> None:
        for simulation in self.simulations:
            await simulation.stop()


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


async def connect_phones(
    cluster: Cluster, simulation: Phones, *, within: float, settle: float
) -> dict[str, Any]:
    """Connect every phone to its gateway: how long it took, how many got in or were
    refused, and each gateway's resident memory after (``settle`` seconds later) with
    its growth per phone it holds."""
    await asyncio.sleep(1.0)
    idle = cluster.gateway_rss()
    started = time.monotonic()
    await simulation.start()
    connected = await simulation.wait_until(
        [lambda s, n=n: s.counts.connected >= n for n in simulation.expected], within=within
    )
    figures: dict[str, Any] = {
        "connect_s": time.monotonic() - started,
        "connected": simulation.connected(),
        "refused": simulation.refused(),
        "all_connected": connected,
    }
    await asyncio.sleep(settle)
    after = cluster.gateway_rss()
    figures["gateway_rss_kib"] = after
    figures["rss_per_phone_kib"] = [
        (a - b) / max(1, n) for a, b, n in zip(after, idle, simulation.expected, strict=True)
    ]
    return figures


async def measure_cluster(
    gateways: int,
    phones: int,
    workdir: Path,
    deck: Path,
    sustain: float,
    redis_server: str = "redis-server",
) -> dict[str, Any]:
    """The phases against the owner and ``gateways`` gateways; returns the figures."""
    cluster = Cluster(workdir, gateways, redis_server)
    cluster.start(deck)
    assert cluster.owner is not None
    result: dict[str, Any] = {"server": f"{gateways} gateway(s)", "phones": phones}
    presenter = await Presenter.attach(cluster.owner)
    simulation = Phones(cluster.gateway_ports, phones)
    try:
        log(f"{gateways} gateway(s): connecting {phones:,} phones")
        result.update(await connect_phones(cluster, simulation, within=120, settle=1.5))
        per_gateway = result["rss_per_phone_kib"]
        result["rss_per_phone_kib"] = sum(per_gateway) / len(per_gateway)

        log(f"{gateways} gateway(s): steady")
        await simulation.set_behaviour(Behaviour(think=STEADY_THINK, keep_voting=True))
        marks = simulation.marks()
        cpu, driver = cluster.cpu(), simulation.driver_cpu()
        opened = await presenter.command("open", is_open(0))
        await asyncio.sleep(sustain)
        cpu, driver = spent(cpu, cluster.cpu()), simulation.driver_cpu() - driver
        closed = await presenter.command("close", is_closed)
        await simulation.set_behaviour(Behaviour(think=0.5))
        drained_ok = await simulation.wait_until([drained] * gateways, within=60)
        steady = simulation.since(marks)
        window = [t for t in steady.acked_at if opened <= t <= closed]
        total_cpu = sum(cpu.values())
        result["steady"] = {
            "complete": drained_ok,
            **simulation.question("q1"),
            "seconds": closed - opened,
            "acked_in_window": len(window),
            "votes_per_s": len(window) / (closed - opened),
            "cpu_s": total_cpu,
            "cpu_per_1000_s": 1000 * total_cpu / max(1, len(window)),
            "cpu_per_1000_by_process_s": {
                name: 1000 * seconds / max(1, len(window)) for name, seconds in cpu.items()
            },
            "driver_cpu_per_1000_s": 1000 * driver / max(1, len(window)),
            "latency": latency_figures(steady),
        }

        if phones >= PRESENTER_RATE:
            log(f"{gateways} gateway(s): 2,000 votes/s")
            think = phones / PRESENTER_RATE / 2
            await simulation.set_behaviour(Behaviour(think=think))
            await presenter.command("next", is_pending(1))
            marks = simulation.marks()
            cpu = cluster.cpu()
            await presenter.command("open", is_open(1))
            done = await simulation.wait_until(
                [settled("q2", n) for n in simulation.expected], within=2 * think + 60
            )
            await asyncio.sleep(0.5)
            cpu = spent(cpu, cluster.cpu())
            rate = simulation.since(marks)
            q2 = simulation.question("q2")
            seen = visibility(rate, presenter.frames, "q2")
            result["rate"] = {
                "complete": done,
                **q2,
                "cpu_per_1000_s": 1000 * sum(cpu.values()) / max(1, q2["acked"]),
                "latency": latency_figures(rate),
                "visible": {
                    "votes": len(seen),
                    "p50": percentile(seen, 0.5),
                    "p95": percentile(seen, 0.95),
                }
                if seen
                else None,
            }
            await presenter.command("close", is_closed)

        result["watch"] = await live_results(cluster, presenter, simulation, "rate" in result)
        await simulation.stop()
        assert cluster.owner.database is not None
        rows, changes = stored(cluster.owner.database, "q1")
        result["steady"]["stored"] = rows + changes
        if "rate" in result:
            result["rate"]["stored"], _ = stored(cluster.owner.database, "q2")
        result["watch"]["stored"], _ = stored(cluster.owner.database, "q4")
    finally:
        await simulation.stop()
        await presenter.close()
        cluster.stop()
    return result


async def live_results(
    cluster: Cluster, presenter: Presenter, simulation: Phones, after_rate: bool
) -> dict[str, Any]:
    """q4, results live on the phones, while they vote once each at 2,000 a second."""
    phones = sum(simulation.expected)
    log(f"{cluster.gateways} gateway(s): live results")
    think = watch_think(phones)
    await simulation.set_behaviour(Behaviour(think=think))
    for index in range(2 if after_rate else 1, 4):
        await presenter.command("next", is_pending(index))
    connected = simulation.connected()
    marks, sightings = simulation.marks(), simulation.sightings_marks()
    frames, cpu = simulation.results_frames(), cluster.cpu()
    opened = await presenter.command("open", is_open(3))
    done = await simulation.wait_until(
        [settled("q4", n) for n in simulation.expected], within=2 * think + 60
    )
    await asyncio.sleep(1.0)  # the last results pushes
    cpu, elapsed = spent(cpu, cluster.cpu()), time.monotonic() - opened
    received = simulation.results_frames() - frames
    watch = simulation.since(marks)
    q4 = simulation.question("q4")
    by_gateway = simulation.received_results("q4")
    await presenter.command("close", is_closed)
    return {
        "complete": done,
        **q4,
        "phones": connected,
        "received_results": sum(by_gateway),
        "received_results_by_gateway": by_gateway,
        "results_frames": received,
        "results_frames_per_phone_per_s": received / max(1, connected) / elapsed,
        "cpu_per_1000_s": 1000 * sum(cpu.values()) / max(1, q4["acked"]),
        "cpu_per_1000_by_process_s": {
            name: 1000 * seconds / max(1, q4["acked"]) for name, seconds in cpu.items()
        },
        "latency": latency_figures(watch),
        "visible_on_phones": visible_on_phones(
            watch.acked_at,
            watch.sent_at,
            list(zip(simulation.sightings_since(sightings), simulation.expected, strict=True)),
        ),
    }


async def connect_many(
    phones: int, workdir: Path, deck: Path, redis_server: str = "redis-server"
) -> dict[str, Any]:
    """``phones`` phones across three gateways: connected, refused, memory, one vote each."""
    cluster = Cluster(workdir, 3, redis_server)
    cluster.start(deck)
    assert cluster.owner is not None
    presenter = await Presenter.attach(cluster.owner)
    simulation = Phones(cluster.gateway_ports, phones, think=5.0)
    result: dict[str, Any] = {"phones": phones, "gateways": 3}
    try:
        log(f"connecting {phones:,} phones over 3 gateways")
        result.update(await connect_phones(cluster, simulation, within=240, settle=2.0))
        result["owner_rss_kib"] = rss_kib(cluster.processes["owner"].pid)
        result["redis_rss_kib"] = rss_kib(cluster.processes["redis"].pid)
        log("every phone votes once, over 10 s")
        cpu = cluster.cpu()
        opened = await presenter.command("open", is_open(0))
        done = await simulation.wait_until(
            [settled("q1", n) for n in simulation.expected], within=120
        )
        cpu = spent(cpu, cluster.cpu())
        q1 = simulation.question("q1")
        result["vote"] = {
            "complete": done,
            **q1,
            "seconds": time.monotonic() - opened,
            "cpu_s_by_process": cpu,
        }
        await presenter.command("close", is_closed)
        await simulation.stop()
        assert cluster.owner.database is not None
        result["vote"]["stored"], _ = stored(cluster.owner.database, "q1")
    finally:
        await simulation.stop()
        await presenter.close()
        cluster.stop()
    return result


SHOWN = ("watch", "visible_on_phones")
CPU_WATCH = ("watch", "cpu_per_1000_s")


def markdown(report: dict[str, Any]) -> str:
    rows = report["results"]

    def cell(result: dict[str, Any], *path: str, scale: float = 1.0, digits: int = 0) -> str:
        value: Any = result
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return "-"
        return f"{value * scale:,.{digits}f}"

    header = "| figure | " + " | ".join(r["server"] for r in rows) + " |"
    lines = [header, "|" + " --- |" * (len(rows) + 1)]
    figures = [
        ("phones connected", ("connected",), 1.0, 0),
        ("memory per phone per gateway (alone: per server), KiB", ("rss_per_phone_kib",), 1, 1),
        ("steady: durable votes/s", ("steady", "votes_per_s"), 1.0, 0),
        ("steady: CPU per 1,000 votes, all processes, ms", ("steady", "cpu_per_1000_s"), 1000, 0),
        ("steady: ack p95, ms", ("steady", "latency", "p95"), 1000, 0),
        ("2,000 votes/s: vote → presenter p95, ms", ("rate", "visible", "p95"), 1000, 0),
        ("2,000 votes/s: ack p95, ms", ("rate", "latency", "p95"), 1000, 0),
        ("2,000 votes/s: CPU per 1,000 votes, ms", ("rate", "cpu_per_1000_s"), 1000, 0),
        ("live results: vote → visible on phones p50, ms", (*SHOWN, "p50"), 1000, 0),
        ("live results: vote → visible on phones p95, ms", (*SHOWN, "p95"), 1000, 0),
        ("live results: vote → visible on phones max, ms", (*SHOWN, "max"), 1000, 0),
        ("live results: from the send, p95, ms", (*SHOWN, "from_send_p95"), 1000, 0),
        (
            "live results: results frames per phone per s",
            ("watch", "results_frames_per_phone_per_s"),
            1.0,
            2,
        ),
        ("live results: CPU per 1,000 votes, all processes, ms", CPU_WATCH, 1000, 0),
        ("live results: ack p95, ms", ("watch", "latency", "p95"), 1000, 0),
    ]
    for name, path, scale, digits in figures:
        lines.append(
            f"| {name} | "
            + " | ".join(cell(r, *path, scale=scale, digits=digits) for r in rows)
            + " |"
        )

    def reached(result: dict[str, Any]) -> str:
        watch = result.get("watch")
        if not watch:
            return "-"
        shown = watch.get("visible_on_phones") or {}
        return (
            f"{watch['received_results']:,} of {watch['phones']:,}; "
            + ("every" if shown.get("every_observer_saw_every_vote") else "NOT every")
            + f" vote on all {shown.get('observers', 0)}"
        )

    lines.append(
        "| live results: phones that received results; observers shown every vote | "
        + " | ".join(reached(r) for r in rows)
        + " |"
    )
    for phase, title in (("steady", "Steady"), ("watch", "Live-results")):
        lines += ["", f"{title} CPU per 1,000 votes by process, ms:", ""]
        for result in rows:
            shares = result.get(phase, {}).get("cpu_per_1000_by_process_s")
            if shares:
                text = ", ".join(f"{name} {1000 * value:.0f}" for name, value in shares.items())
                lines.append(f"* {result['server']}: {text}")
    if report.get("connect"):
        c = report["connect"]
        lines += [
            "",
            f"Connect: {c['connected']:,} of {c['phones']:,} phones over 3 gateways in "
            f"{c['connect_s']:.0f} s, {c['refused']} refused; gateway RSS "
            + ", ".join(f"{kib / 1024:.0f} MiB" for kib in c["gateway_rss_kib"])
            + "; per phone "
            + ", ".join(f"{kib:.1f} KiB" for kib in c["rss_per_phone_kib"])
            + f"; one vote each: {c['vote']['acked']:,} acked, {c['vote']['stored']:,} stored.",
        ]
    return "\n".join(lines)


async def main_async(arguments: argparse.Namespace) -> dict[str, Any]:
    raise_open_file_limit()
    with tempfile.TemporaryDirectory(prefix="livepoll-gateways-") as directory:
        workdir = Path(directory)
        deck = workdir / "deck.toml"
        deck.write_text(DECK, encoding="utf-8")
        report: dict[str, Any] = {"phones": arguments.phones, "results": []}
        log(f"server alone, {arguments.phones:,} phones")
        alone = await measure(
            "livepoll", arguments.phones, workdir, deck, arguments.sustain, live_results=True
        )
        alone["server"] = "server alone"
        report["results"].append(alone)
        for gateways in (int(g) for g in arguments.gateways.split(",") if g):
            report["results"].append(
                await measure_cluster(
                    gateways,
                    arguments.phones,
                    workdir,
                    deck,
                    arguments.sustain,
                    arguments.redis_server,
                )
            )
        if arguments.connect:
            report["connect"] = await connect_many(
                arguments.connect, workdir, deck, arguments.redis_server
            )
    return report


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=3000)
    parser.add_argument("--gateways", default="1,2,3", help="gateway counts to measure")
    parser.add_argument("--sustain", type=float, default=5.0, help="seconds of the steady phase")
    parser.add_argument("--connect", type=int, default=0, help="phones for the connect phase")
    parser.add_argument(
        "--redis-server", default="redis-server", help="the Redis server program to start"
    )
    parser.add_argument(
        "--json", type=Path, default=HERE / "gateways-last-run.json", help="figures as JSON"
    )
    arguments = parser.parse_args()
    report = asyncio.run(main_async(arguments))
    arguments.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(markdown(report))
    print(f"\n[bench] figures written to {arguments.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
