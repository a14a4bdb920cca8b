"""The console is expendable: killing it mid-vote loses nothing, and a new one picks up.

A real `livepoll serve` process, a real `livepoll present` process on a
pseudo-terminal (driven by its keys), phones voting over WebSockets while the
console is SIGKILLed, then a fresh console (Pilot) attached to the same server.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import pty
import struct
import sys
import termios
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from clients import new_voter_token
from livepoll.tui.app import PresenterApp, make_app
from serving import serve_process
from test_tui_app import SIZE, screen_text, wait_until

DECK = """title = "Expendable console"

[[questions]]
id = "q1"
type = "single"
prompt = "Which option?"
options = ["A", "B", "C", "D"]

[[questions]]
id = "q2"
type = "single"
prompt = "And now?"
options = ["Yes", "No"]
"""
TOKEN = "expendable-presenter-token"
PHONES = 60
KILL_AFTER = 15
"""Acks in before the console is killed; the other votes are still flowing."""


@contextlib.asynccontextmanager
async def serve(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """`livepoll serve` on the deck above in a child process; yields its ready line."""
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    async with serve_process(
        deck, tmp_path / "livepoll.db", TOKEN, "--rate-limit", "1000"
    ) as ready:
        yield ready


class Console:
    """`livepoll present` running on a pseudo-terminal of 80×24: keys in, screen bytes out."""

    def __init__(self, process: asyncio.subprocess.Process, master: int) -> None:
        self.process = process
        self.master = master
        self.output = bytearray()
        self.changed = asyncio.Event()
        asyncio.get_running_loop().add_reader(master, self._read)

    def _read(self) -> None:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the console is gone: the terminal's other end closed
            chunk = b""
        if not chunk:
            asyncio.get_running_loop().remove_reader(self.master)
        self.output += chunk
        self.changed.set()

    async def wait_for(self, text: str, within: float = 60.0) -> None:
        """Until ``text`` has been drawn (Textual writes each run of text whole)."""
        async with asyncio.timeout(within):
            while text.encode() not in self.output:
                self.changed.clear()
                await self.changed.wait()

    def press(self, keys: bytes) -> None:
        """Type on the console's keyboard."""
        os.write(self.master, keys)


@contextlib.asynccontextmanager
async def present(base_url: str) -> AsyncIterator[Console]:
    """`livepoll present URL --token T` as the chair starts it, on its own terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "livepoll",
        "present",
        base_url,
        "--token",
        TOKEN,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(os.environ, TERM="xterm-256color", PYTHONASYNCIODEBUG=""),
        start_new_session=True,
    )
    os.close(slave)
    console = Console(process, master)
    try:
        yield console
    finally:
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(master)
        if process.returncode is None:
            process.kill()
        await process.wait()
        os.close(master)


async def vote(audience_url: str, token: str, answer: int) -> bool:
    """One phone: hello, vote, and True once the vote is acknowledged."""
    try:
        async with connect(audience_url) as phone:
            await phone.send(json.dumps({"type": "hello", "voter": token}))
            await phone.send(json.dumps({"type": "vote", "q": "q1", "answer": answer, "seq": 1}))
            async for frame in phone:
                message = json.loads(frame)
                if message.get("seq") == 1:
                    return bool(message["type"] == "ack")
    except (ConnectionClosed, OSError):
        return False
    return False


async def test_killing_the_console_mid_vote_loses_nothing_and_a_new_one_catches_up(
    tmp_path: Path,
) -> None:
    """SIGKILL the console while phones vote: the server keeps acking every vote, and a
    console attached afterwards shows the open question with every vote counted."""
    answers = [index % 3 for index in range(PHONES)]  # A, B, C, A, B, C, ...: no D
    async with serve(tmp_path) as ready:
        audience_url = f"ws://127.0.0.1:{ready['port']}/ws"
        async with present(ready["base_url"]) as console:
            await console.wait_for("Expendable console")
            await console.wait_for("Which option?")
            async with connect(audience_url) as watcher, asyncio.timeout(60):
                await watcher.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
                console.press(b" ")  # the chair opens voting from the console
                while (state := json.loads(await watcher.recv())).get("status") != "open":
                    assert state["type"] in ("state", "results", "notice")

            acks: list[bool] = []  # True for an ack that came after the kill
            enough = asyncio.Event()
            killed = False

            async def votes_flowing() -> None:
                """Phones vote one after another, the kill landing in the middle of them."""
                for index, answer in enumerate(answers):
                    assert await vote(audience_url, new_voter_token(), answer), f"vote {index}"
                    acks.append(killed)
                    if len(acks) == KILL_AFTER:
                        enough.set()

            flow = asyncio.create_task(votes_flowing())
            async with asyncio.timeout(120):
                await enough.wait()
                console.process.kill()  # SIGKILL: no goodbye to the server
                killed = True
                await console.process.wait()
                await flow
            assert console.process.returncode == -9
        assert len(acks) == PHONES
        assert acks.count(True) > 0, "the server kept acking once the console was gone"

        app = make_app(ready["base_url"], TOKEN)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.state is not None, within=60)
            state = app.state
            assert state is not None
            assert (state.index, state.question.id, state.status) == (0, "q1", "open")
            assert state.respondents == PHONES
            assert state.counts == (20, 20, 20, 0)
            await _show_results(app, pilot)
            text = screen_text(app)
            assert "VOTING OPEN" in text
            assert "Question 1 / 2" in text
            assert text.count("20   33%") == 3
            assert "0    0%" in text


async def _show_results(app: PresenterApp, pilot: Pilot[None]) -> None:
    await pilot.press("r")
    await wait_until(pilot, lambda: app.state is not None and app.state.results_shown, within=60)
    await pilot.pause()
