"""A real report from simulated sessions: the end-to-end check of ``livepoll report``.

    python bench/sample_report.py [--deck DECK ...] [--voters 120] [--sessions 2]
                                  [--out build/sample-report]

For each deck (default: every deck in ``polls/``) and each session it starts
``livepoll serve`` on 127.0.0.1 with one SQLite file, joins ``--voters`` simulated
phones (:mod:`livepoll.simulate`), and plays the chair over the presenter channel:
every question is opened, answered for a few seconds, closed and its results shown;
on a moderated Q&A the chair lets questions through as they arrive (hiding every
fifth) and marks the most upvoted one answered. Each deck runs in two sessions (two
tracks), so the report compares them side by side.

It then runs ``livepoll sessions`` and ``livepoll report`` on the file and, when
Chromium is installed, takes a full-page screenshot of the report (``report.png``).
Nothing here is timed; it is how the report is looked at with real data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from livepoll.simulate import Behaviour, Simulation, SimulationConfig

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ANSWER_SECONDS = 4.0
"""How long each question stays open: long enough for every phone's think time."""


def free_port() -> int:
    """A port nobody listens on now (the server is told to use exactly this one)."""
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_healthy(port: int, within: float = 15.0) -> None:
    """Block until the server answers /healthz, or fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server on port {port} did not start within {within:g} s")


class Chair:
    """The presenter channel, keeping the latest state the server pushed."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.state: dict[str, Any] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.connection:
            message = json.loads(frame)
            if message.get("type") == "state":
                self.state = message

    async def do(self, action: str, **fields: Any) -> None:
        """Send one command and give the server a moment to push the new state."""
        await self.connection.send(json.dumps({"type": "command", "action": action, **fields}))
        await asyncio.sleep(0.3)

    async def close(self) -> None:
        self._reader.cancel()
        await self.connection.close()


def run_session(deck: Path, database: Path, voters: int, seed: int) -> None:
    """One session of the whole deck, with simulated phones and a scripted chair."""
    port, token = free_port(), secrets.token_urlsafe(24)
    command = [sys.executable, "-m", "livepoll", "serve", str(deck), "--host", HOST]
    command += ["--port", str(port), "--db", str(database), "--token", token, "--new-session"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_healthy(port)
        asyncio.run(play(port, token, voters, seed))
    finally:
        server.terminate()
        server.wait(timeout=10)


async def play(port: int, token: str, voters: int, seed: int) -> None:
    """Join the phones, then open, close and reveal every question in turn."""
    connection = await connect(
        f"ws://{HOST}:{port}/presenter",
        additional_headers={"Authorization": f"Bearer {token}"},
    )
    chair = Chair(connection)
    config = SimulationConfig(
        f"http://{HOST}:{port}/",
        voters=voters,
        ramp=1.0,
        behaviour=Behaviour(think=1.0),
        seed=seed,
        time_limit=600,
    )
    async with Simulation(config) as simulation:
        await simulation.wait_until(lambda s: s.counts.connected == voters, within=30)
        await asyncio.sleep(0.5)
        count = chair.state["count"]
        for index in range(count):
            await chair.do("open")
            for _ in range(int(ANSWER_SECONDS)):
                await asyncio.sleep(1)
                await approve_waiting(chair)
            await moderate(chair)
            await chair.do("close")
            await chair.do("toggle_results")
            await asyncio.sleep(0.5)
            if index < count - 1:
                await chair.do("next")
        counts = simulation.stats.counts
        print(
            f"  phones: {counts.connected} connected, {counts.acked} acks, {counts.errors} errors"
        )
    await chair.close()


async def approve_waiting(chair: Chair) -> None:
    """While a moderated Q&A is open, the chair lets questions through as they come."""
    for item in chair.state.get("items") or []:
        if item.get("state") == "pending":
            verdict = "hidden" if item["id"] % 5 == 0 else "visible"
            await chair.do("moderate", item=item["id"], state=verdict)


async def moderate(chair: Chair) -> None:
    """At the close of a Q&A: decide what still waits, mark the top question answered."""
    await approve_waiting(chair)
    visible = [item for item in chair.state.get("items") or [] if item.get("state") == "visible"]
    if visible:
        top = max(visible, key=lambda item: item.get("votes", 0))
        await chair.do("moderate", item=top["id"], state="answered")


def screenshot(report: Path, image: Path) -> bool:
    """A full-page PNG of the report in headless Chromium, via Playwright; False if absent."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return False
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1000, "height": 1200})
        page.goto(report.resolve().as_uri())
        page.screenshot(path=str(image), full_page=True)
        browser.close()
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--deck",
        type=Path,
        action="append",
        help="a deck to run (repeatable; default: every deck in polls/)",
    )
    parser.add_argument("--voters", type=int, default=120)
    parser.add_argument("--sessions", type=int, default=2, help="sessions per deck")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "sample-report")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    database = options.out / "sessions.db"
    for stale in options.out.glob("sessions.db*"):
        stale.unlink()
    decks = options.deck or sorted((ROOT / "polls").glob("*.toml"))
    for deck in decks:
        for number in range(options.sessions):
            print(f"session {number + 1} of {options.sessions}: {deck.name}")
            run_session(deck, database, options.voters, seed=number)
    livepoll = [sys.executable, "-m", "livepoll"]
    subprocess.run([*livepoll, "sessions", "--db", str(database)], check=True)
    report = options.out / "report.html"
    subprocess.run(
        [*livepoll, "report", "--db", str(database), "--output", str(report)],
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    print(f"report: {report} ({report.stat().st_size:,} bytes)")
    image = options.out / "report.png"
    if screenshot(report, image):
        print(f"screenshot: {image}")


if __name__ == "__main__":
    main()
