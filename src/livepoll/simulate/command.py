"""``livepoll simulate``: rehearse a session with simulated phones, from the command line."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from typing import TextIO

from livepoll.simulate.display import Progress
from livepoll.simulate.phones import Behaviour
from livepoll.simulate.runner import (
    Simulation,
    SimulationConfig,
    SimulationError,
    audience_url,
)
from livepoll.simulate.stats import Stats

REFRESH_SECONDS = 0.25
STOP_MARGIN = 60.0
"""Worker processes give up by themselves this long after --duration should have
ended, should the parent be stuck."""


def run(
    url: str,
    *,
    voters: int,
    ramp: float = 0.0,
    think: float = 3.0,
    duration: float | None = None,
    processes: int | None = None,
    seed: int | None = None,
    room: str | None = None,
    stream: TextIO | None = None,
) -> int:
    """Run the simulation until ``duration`` elapses or Ctrl-C; returns the exit code.

    ``room`` is an event room's id: the phones join ``/r/ROOM/`` on the server of
    ``url``. The exit code is 1 when the arguments are wrong or no phone ever connected.
    """
    out = stream or sys.stdout
    problem = _check(url, room, voters, ramp, think, duration, processes)
    if problem:
        print(f"livepoll simulate: {problem}", file=sys.stderr)
        return 1
    config = SimulationConfig(
        url=audience_url(url, room),
        voters=voters,
        ramp=ramp,
        behaviour=Behaviour(think=think),
        processes=processes,
        seed=seed,
        time_limit=None if duration is None else duration + ramp + STOP_MARGIN,
    )
    try:
        stats = asyncio.run(_simulate(config, duration, out))
    except SimulationError as error:
        print(f"livepoll simulate: {error}", file=sys.stderr)
        return 1
    return 0 if stats.counts.connects > 0 else 1


def _check(
    url: str,
    room: str | None,
    voters: int,
    ramp: float,
    think: float,
    duration: float | None,
    processes: int | None,
) -> str | None:
    try:
        audience_url(url, room)
    except SimulationError as error:
        return str(error)
    if voters < 1:
        return "--voters must be at least 1"
    if ramp < 0 or think < 0:
        return "--ramp and --think cannot be negative"
    if duration is not None and duration <= 0:
        return "--duration must be positive"
    if processes is not None and processes < 1:
        return "--processes must be at least 1"
    return None


async def _simulate(config: SimulationConfig, duration: float | None, out: TextIO) -> Stats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    simulation = Simulation(config)
    progress = Progress(out)
    processes = simulation.processes
    out.write(
        f"livepoll simulate: {config.voters} phones → {simulation.url}"
        + (f" ({processes} processes)" if processes > 1 else "")
        + (f", for {duration:g} s" if duration else ", until Ctrl-C")
        + "\n"
    )
    out.flush()
    started = time.monotonic()
    await simulation.start()
    try:
        while not stop.is_set():
            elapsed = time.monotonic() - started
            if duration is not None and elapsed >= duration:
                break
            wait = REFRESH_SECONDS
            if duration is not None:
                wait = min(wait, max(0.0, duration - elapsed))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            progress.update(simulation.stats, time.monotonic() - started)
    finally:
        elapsed = time.monotonic() - started
        stats = await simulation.stop()
    progress.finish(stats, elapsed, simulation.url)
    return stats
