"""A private Debian redis-server and livepoll gateways as child processes, for tests.

The Redis listens on a loopback port with a password, keeps nothing on disk, and is
stopped after the test; it can be stopped and started again on the same port (the
outage test), or killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from clients import new_voter_token
from serving import stop_process

REDIS_SERVER = "/usr/bin/redis-server"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_server_executable() -> str:
    """Debian's redis-server; the test skips without it (under CI, a skip fails)."""
    found = shutil.which("redis-server") or (REDIS_SERVER if Path(REDIS_SERVER).exists() else None)
    if found is None:
        pytest.skip("Debian's redis-server is not installed (apt install redis-server)")
    return found


class RedisProcess:
    """Debian's redis-server on 127.0.0.1 with a password, started and stopped by hand."""

    def __init__(self, directory: Path) -> None:
        self.executable = redis_server_executable()
        self.directory = directory
        self.password = secrets.token_urlsafe(18)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL for ``--redis`` (no password: that goes in the environment)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers."""
        self.process = subprocess.Popen(
            [
                self.executable,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--requirepass", self.password,
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as probe,
            ):
                probe.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                if b"PONG" in probe.recv(100):
                    return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        """Stop it (SIGTERM), losing everything it held."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A private Redis for the test; its password is in ``$LIVEPOLL_REDIS_PASSWORD``."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisProcess(directory)
    server.start()
    monkeypatch.setenv("LIVEPOLL_REDIS_PASSWORD", server.password)
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def gateway_process(
    redis_url: str, *options: str, port: int = 0, log: Path | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Run ``livepoll gateway`` on 127.0.0.1; yields its ready line plus ``process``."""
    command = [sys.executable, "-m", "livepoll", "gateway", "--redis", redis_url]
    command += ["--host", "127.0.0.1", "--port", str(port), "--ready-json", *options]
    with contextlib.ExitStack() as files:
        stderr: Any = files.enter_context(log.open("ab")) if log else asyncio.subprocess.DEVNULL
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=dict(os.environ, PYTHONASYNCIODEBUG=""),
        )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(30):
            line = await process.stdout.readline()
        assert line, "the gateway did not start" + (f"; see {log}" if log else "")
        ready: dict[str, Any] = json.loads(line)
        ready["process"] = process
        base = ready.get("base_url", f"http://127.0.0.1:{ready['port']}/")
        ready["url"] = base.replace("http", "ws", 1) + "ws"
        yield ready
    finally:
        await stop_process(process)


def run_livepoll(
    *arguments: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a livepoll command to its end (for refusals), with a time limit."""
    return subprocess.run(
        [sys.executable, "-m", "livepoll", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


class Phones:
    """Phones that each vote and change their vote once, and keep trying, from gateway
    to gateway, until both are acked."""

    def __init__(self, count: int) -> None:
        self.tokens = [new_voter_token() for _ in range(count)]
        self.answers = {token: index % 4 for index, token in enumerate(self.tokens)}
        self.acked: dict[str, float] = {}
        """When each token's ack arrived (monotonic)."""
        self.notices: list[str] = []
        self.resent: set[str] = set()
        """Tokens whose phone reconnected and resent what was not yet acknowledged."""
        self.on_ack: list[tuple[int, asyncio.Event]] = []

    def when_acked(self, count: int) -> asyncio.Event:
        """An event set once ``count`` votes are acked."""
        event = asyncio.Event()
        self.on_ack.append((count, event))
        return event

    async def vote(self, token: str, urls: list[str], delay: float = 0.0) -> None:
        """Say hello, vote, and change the vote (seq 1 and 2); after any drop, on the next
        gateway, resend what was not acknowledged, as the page does."""
        await asyncio.sleep(delay)
        final = self.answers[token]
        votes = {1: (final + 1) % 4, 2: final}
        unacked = set(votes)
        for attempt in range(200):
            url = urls[attempt % len(urls)]
            if attempt:
                self.resent.add(token)
            try:
                async with connect(url, open_timeout=5, close_timeout=1) as phone:
                    await phone.send(json.dumps({"type": "hello", "voter": token}))
                    for seq in sorted(unacked):
                        vote = {"type": "vote", "q": "q1", "answer": votes[seq], "seq": seq}
                        await phone.send(json.dumps(vote))
                    async for frame in phone:
                        message = json.loads(frame)
                        if message["type"] == "notice":
                            self.notices.append(message["code"])
                        if message.get("seq") not in unacked:
                            continue
                        assert message["type"] == "ack", message
                        unacked.discard(message["seq"])
                        if unacked:
                            continue
                        self.acked[token] = time.monotonic()
                        for count, event in self.on_ack:
                            if len(self.acked) >= count:
                                event.set()
                        return
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
        raise AssertionError("a vote was never acknowledged")

    def burst(self, urls: list[str], spread: float) -> list[asyncio.Task[None]]:
        """Every phone votes, spread evenly over ``spread`` seconds."""
        return [
            asyncio.create_task(self.vote(token, urls, delay=i * spread / len(self.tokens)))
            for i, token in enumerate(self.tokens)
        ]


def http_get(url: str) -> tuple[int, str]:
    """Status and body of a GET (an error status is an answer, not an exception)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def http_json(url: str) -> tuple[int, Any]:
    """Status and JSON body of a GET (a health check, whatever its status)."""
    status, body = http_get(url)
    return status, json.loads(body)
