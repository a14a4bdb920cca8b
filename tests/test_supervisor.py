"""`livepoll run` restarts a server that dies, and gives up, saying so, when it keeps dying.

The real command on a pseudo-terminal, as the chair starts it: its console and its
child server. The test SIGKILLs the child server (as the OOM killer would), watches
the supervisor start another on the same port, the console reconnect and take the
chair's keys, and phones vote again; then kills it until the supervisor stops and
tells the chair.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import pty
import re
import signal
import socket
import sqlite3
import struct
import sys
import termios
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from clients import new_voter_token
from livepoll.supervisor import MAX_RESTARTS
from test_tui_expendable import Console

DECK = """title = "Restarted server"

[[questions]]
id = "q1"
type = "single"
prompt = "Still with us?"
options = ["Yes", "No", "Maybe"]
results = "on-reveal"
"""

WITHIN = 60.0
"""A generous bound on each step (a server start, a reconnect) on a loaded machine."""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_pids(parent: int) -> set[int]:
    """The live ``livepoll serve`` children of process ``parent`` (zombies excluded)."""
    pids: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z" and b"serve" in arguments:
            pids.add(int(entry.name))
    return pids


async def healthy(port: int) -> bool:
    """Whether a server answers /healthz on ``port`` right now."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return (await reader.read()).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
    finally:
        writer.close()


async def wait_for_server(parent: int, port: int, dead: set[int]) -> int:
    """Wait until ``parent`` has a server child not in ``dead`` that answers; its pid."""
    async with asyncio.timeout(WITHIN):
        while True:
            fresh = server_pids(parent) - dead
            if len(fresh) == 1 and await healthy(port):
                return fresh.pop()
            await asyncio.sleep(0.05)


async def kill(parent: int, pid: int) -> None:
    """SIGKILL ``parent``'s server ``pid`` and wait until it is dead."""
    os.kill(pid, signal.SIGKILL)
    async with asyncio.timeout(WITHIN):
        while True:  # /proc is polled: a process's death has no event to wait on here
            if pid not in server_pids(parent):
                return
            await asyncio.sleep(0.05)


async def phone_vote(port: int, voter: str, answer: int) -> None:
    """One phone votes ``answer`` on q1, reconnecting as the page does until it is acked."""
    async with asyncio.timeout(WITHIN):
        while True:
            try:
                async with connect(f"ws://127.0.0.1:{port}/ws") as phone:
                    await phone.send(json.dumps({"type": "hello", "voter": voter}))
                    vote = {"type": "vote", "q": "q1", "answer": answer, "seq": 1}
                    await phone.send(json.dumps(vote))
                    async for frame in phone:
                        message = json.loads(frame)
                        if message.get("seq") == 1:
                            assert message["type"] == "ack", message
                            return
            except (ConnectionClosed, InvalidHandshake, OSError):
                pass
            await asyncio.sleep(0.1)


async def watch_until(phone: ClientConnection, check: Callable[[dict[str, Any]], bool]) -> None:
    """Read a phone's frames until one passes ``check``."""
    async with asyncio.timeout(WITHIN):
        while not check(json.loads(await phone.recv())):
            pass


@contextlib.asynccontextmanager
async def livepoll_run(tmp_path: Path, port: int) -> AsyncIterator[Console]:
    """`livepoll run DECK` on its own 80×24 terminal, on loopback port ``port``."""
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "livepoll", "run", str(deck), "--host", "127.0.0.1"),
        *("--port", str(port), "--db", str(tmp_path / "livepoll.db"), "--rate-limit", "1000"),
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
        for pid in server_pids(process.pid):
            os.kill(pid, signal.SIGKILL)
        if process.returncode is None:
            process.kill()
        await process.wait()
        os.close(master)


ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
"""Terminal control sequences (colours, cursor moves) between the characters drawn."""


async def wait_for_new_output(console: Console, start: int, text: str) -> None:
    """Until ``text`` is drawn after byte ``start`` of the console's output (styles aside)."""
    async with asyncio.timeout(WITHIN):
        while text.encode() not in ESCAPES.sub(b"", console.output[start:]):
            console.changed.clear()
            await console.changed.wait()


async def test_run_restarts_a_killed_server_then_gives_up_when_it_keeps_dying(
    tmp_path: Path,
) -> None:
    """SIGKILL `livepoll run`'s server: it comes back on the same port with the session,
    the console reconnects and phones vote again; after too many deaths it stops, and
    the console and the command say so."""
    port = free_port()
    async with livepoll_run(tmp_path, port) as console:
        run_pid = console.process.pid
        await console.wait_for("Restarted server")
        server = await wait_for_server(run_pid, port, set())
        async with connect(f"ws://127.0.0.1:{port}/ws") as watcher:
            await watcher.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
            console.press(b" ")  # the chair opens voting from the console
            await watch_until(watcher, lambda frame: frame.get("status") == "open")
        await phone_vote(port, new_voter_token(), 0)

        dead = {server}
        mark = len(console.output)
        await kill(run_pid, server)
        await wait_for_new_output(console, mark, "No link to the server")
        server = await wait_for_server(run_pid, port, dead)
        mark = len(console.output)
        await phone_vote(port, new_voter_token(), 1)  # votes resume, on the same port
        # The console shows the second answer, so it is back with the resumed session...
        await wait_for_new_output(console, mark, "answers")
        async with connect(f"ws://127.0.0.1:{port}/ws") as watcher:
            await watcher.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
            await watch_until(watcher, lambda frame: frame.get("status") == "open")
            console.press(b"r")  # ...and the chair's keys reach the new server
            await watch_until(watcher, lambda frame: frame.get("results") is not None)

        for _ in range(MAX_RESTARTS - 1):
            dead.add(server)
            await kill(run_pid, server)
            server = await wait_for_server(run_pid, port, dead)
        mark = len(console.output)
        await kill(run_pid, server)  # one death more than the supervisor restarts within a minute
        await wait_for_new_output(console, mark, "Server stopped")
        assert server_pids(run_pid) == set(), "no server is started again"
        assert not await healthy(port)

        console.press(b"q")  # voting was open: the console asks first
        await wait_for_new_output(console, mark, "Quit anyway?")
        console.press(b"y")
        deaths = MAX_RESTARTS + 1
        said = f"livepoll: the server died {deaths} times within 60 seconds, so it is no longer"
        await wait_for_new_output(console, mark, said)
        async with asyncio.timeout(WITHIN):
            assert await console.process.wait() == 1

    with sqlite3.connect(tmp_path / "livepoll.db") as db:
        stored = db.execute("SELECT answer FROM responses ORDER BY answer").fetchall()
    assert stored == [("[0]",), ("[1]",)], "both votes, before and after the first death"
