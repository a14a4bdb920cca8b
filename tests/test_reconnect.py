"""Phones survive the room: the server dies under hundreds of phones and comes back.

The phones here are scripted copies of the voting page's connection logic
(src/livepoll/server/static/app.js): connect on load; on any close, retry after a
delay drawn uniformly from 0 to ``min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** attempt)``
("full jitter"), ``attempt`` counting up with each retry and going back to 0 once the
server answers on a new socket; on open, say hello, and once the server has answered
it, resend the vote that has no ack yet, with the same seq. The server runs as a real
``livepoll serve`` process, killed with SIGKILL (a crash: the session resumes) and
started again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import resource
import signal
import sqlite3
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from clients import new_voter_token
from livepoll import protocol
from serving import serve_process

BACKOFF_FIRST = 0.5
"""app.js: ``var BACKOFF_FIRST = 500;`` (milliseconds), the first retry's window."""
BACKOFF_MAX = 10.0
"""app.js: ``var BACKOFF_MAX = 10000;`` (milliseconds), the largest retry window."""

PHONES = 800
"""Scripted phones: the whole test takes about 4 s on a 2-core machine (1,000 take
about the same; the count is kept under a laptop's default 1,024 open files)."""
WITHIN = 60.0
"""A generous bound on each wait (every phone connected, every vote acked): it costs
nothing when things work, and a loaded machine is slow, not wrong."""
TOKEN = "reconnect-presenter-token"
DECK = """title = "Reconnect storm"
[[questions]]
id = "q1"
type = "single"
prompt = "Which?"
options = ["A", "B", "C", "D"]
"""


def backoff_window(attempt: int) -> float:
    """app.js retry(): the window (seconds) a retry's delay is drawn from, uniformly."""
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2**attempt)


async def presenter_state(port: int, command: str | None = None) -> dict[str, Any]:
    """The presenter's view of the session, after ``command`` if one is given."""
    url = f"ws://127.0.0.1:{port}/presenter"
    async with connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as presenter:
        assert json.loads(await presenter.recv())["type"] == "welcome"
        state: dict[str, Any] = json.loads(await presenter.recv())
        if command is not None:
            await presenter.send(protocol.encode_command(command))
            state = json.loads(await presenter.recv())
    return state


def stopped(pid: int) -> bool:
    """True once the process is in the stopped state (Linux /proc; elsewhere, assume)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return True
    return fields[0] in ("T", "t")


async def wait_for(
    condition: Callable[[], bool], seconds: float, what: str, tasks: list[asyncio.Task[None]]
) -> None:
    """Poll ``condition`` every 10 ms; fail naming ``what`` after ``seconds``, or at once
    with its own error if a phone's task failed (an error frame, say)."""
    for _ in range(math.ceil(seconds / 0.01)):
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise AssertionError(f"a phone failed while waiting for {what}") from (
                    task.exception()
                )
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


class Page:
    """One phone running the page's connection logic (see the module docstring)."""

    def __init__(self, url: str, rng: random.Random) -> None:
        self.url = url
        self.rng = rng
        self.token = new_voter_token()
        self.attempt = 0
        self.seq = 0
        self.pending: tuple[int, int] | None = None
        """(seq, answer) of the vote sent or to send that has no ack yet."""
        self.acked: dict[int, float] = {}
        """seq → when its ack arrived."""
        self.hellos: list[tuple[float, Any]] = []
        """(when, your_answer) for each state that answered a hello."""
        self.attempts: list[float] = []
        """When each connection attempt started."""
        self.opened: list[float] = []
        """When each attempt that got a connection started."""
        self.connection: ClientConnection | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, and reconnect with backoff and full jitter, until ``stop`` is set."""
        while not stop.is_set():
            self.attempts.append(time.monotonic())
            with contextlib.suppress(OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
                async with connect(self.url, open_timeout=5, close_timeout=1) as connection:
                    self.opened.append(self.attempts[-1])
                    await self._session(connection)
            self.connection = None
            if stop.is_set():
                return
            window = backoff_window(self.attempt)
            self.attempt += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.rng.random() * window):
                    await stop.wait()

    async def _session(self, connection: ClientConnection) -> None:
        await connection.send(json.dumps({"type": "hello", "voter": self.token}))
        self.connection = connection
        live = False
        first_state = True
        async for frame in connection:
            message = json.loads(frame)
            if not live:
                live = True
                self.attempt = 0  # app.js receive(): the server answered on this socket
            if message["type"] == "state" and first_state:
                first_state = False
                self.hellos.append((time.monotonic(), message.get("your_answer")))
                if self.pending is not None:  # app.js: the hello's answer triggers resends
                    await self._send_vote(connection)
            elif message["type"] == "ack" and self.pending and message["seq"] == self.pending[0]:
                self.acked[message["seq"]] = time.monotonic()
                self.pending = None
            elif message["type"] == "error":
                raise AssertionError(f"the server refused a vote: {message}")

    async def _send_vote(self, connection: ClientConnection) -> None:
        assert self.pending is not None
        seq, answer = self.pending
        await connection.send(json.dumps({"type": "vote", "q": "q1", "answer": answer, "seq": seq}))

    async def vote(self, answer: int) -> None:
        """Tap an answer: it is pending until acked, and sent now if connected."""
        self.seq += 1
        self.pending = (self.seq, answer)
        if self.connection is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._send_vote(self.connection)


class LoopLag:
    """The worst delay of this event loop in running a ready callback, measured while it
    runs: how late a phone's timer may fire for reasons that are not its backoff."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def watch(self, stop: asyncio.Event) -> None:
        """Sleep in short steps until ``stop``, noting how late each wake-up was."""
        while not stop.is_set():
            asked = time.monotonic()
            await asyncio.sleep(0.02)
            self.worst = max(self.worst, time.monotonic() - asked - 0.02)


def busiest_window(offsets: list[float], width: float) -> int:
    """The most of ``offsets`` that fall in any one sliding window of ``width`` seconds."""
    ordered = sorted(offsets)
    most = start = 0
    for end, offset in enumerate(ordered):
        while offset - ordered[start] >= width:
            start += 1
        most = max(most, end - start + 1)
    return most


def raise_open_file_limit(needed: int) -> None:
    """Each phone is a socket: raise this process's soft limit towards the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        assert target >= needed, f"{PHONES} phones need {needed} open files; the limit is {hard}"


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


async def test_phones_reconnect_with_jitter_and_resend_after_the_server_is_killed(
    tmp_path: Path,
) -> None:
    """Hundreds of phones, each with a vote in flight, get through a SIGKILL and restart
    on the same port: all re-sync and are acked within bounds, spread out, not in a spike."""
    raise_open_file_limit(PHONES + 256)
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    database = tmp_path / "reconnect.db"
    log = tmp_path / "server.log"
    rng = random.Random(20240517)
    first_answer = {index: index % 4 for index in range(PHONES)}
    second_answer = {index: (index * 7 + 1) % 4 for index in range(PHONES)}
    stop = asyncio.Event()
    lag = LoopLag()
    lag_watch = asyncio.create_task(lag.watch(stop))

    async with serve_process(deck, database, TOKEN, log=log) as ready:
        port = int(ready["port"])
        assert (await presenter_state(port, "open"))["status"] == "open"
        url = f"ws://127.0.0.1:{port}/ws"
        pages = [Page(url, random.Random(rng.random())) for _ in range(PHONES)]
        tasks = [asyncio.create_task(page.run(stop)) for page in pages]
        try:
            await wait_for(
                lambda: all(p.connection for p in pages), WITHIN, "every phone to connect", tasks
            )
            for index, page in enumerate(pages):
                await page.vote(first_answer[index])
            await wait_for(
                lambda: all(1 in p.acked for p in pages), WITHIN, "every first vote", tasks
            )

            # Freeze the server, let every phone change its vote (the frames wait in the
            # socket buffers, unread), then kill it: no second vote can have been seen.
            process = ready["process"]
            process.send_signal(signal.SIGSTOP)
            await wait_for(lambda: stopped(process.pid), WITHIN, "the server to stop", tasks)
            for index, page in enumerate(pages):
                await page.vote(second_answer[index])
            killed_at = time.monotonic()
            process.send_signal(signal.SIGKILL)
            await process.wait()
            assert not any(2 in p.acked for p in pages)

            async with serve_process(deck, database, TOKEN, port=port, log=log) as again:
                ready_at = time.monotonic()
                assert again["port"] == port
                assert again["session"] == ready["session"], "the killed session resumes"
                await wait_for(
                    lambda: all(2 in p.acked for p in pages), WITHIN, "every resent vote", tasks
                )
                stop.set()
                async with asyncio.timeout(10):
                    await asyncio.gather(*(p.connection.close() for p in pages if p.connection))
                    await asyncio.gather(*tasks)
                state = await presenter_state(port)
                again["process"].send_signal(signal.SIGTERM)
                async with asyncio.timeout(10):
                    assert await again["process"].wait() == 0
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await lag_watch

    # Every phone re-synced: its first hello after the restart carried the answer the
    # server had stored (the first vote), and the resent second vote was acked with seq 2.
    for index, page in enumerate(pages):
        after = [answer for when, answer in page.hellos if when >= killed_at]
        assert after, "no hello after the restart"
        assert after[0] == [first_answer[index]]
        assert page.pending is None
    assert state["respondents"] == PHONES
    assert state["counts"] == [Counter(second_answer.values())[i] for i in range(4)]
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM responses").fetchone()[0] == PHONES
    server_log = log.read_text(errors="replace")
    assert "Traceback" not in server_log
    assert " ERROR " not in server_log

    # The server is back when it printed its ready line, or when the first phone got
    # through if that was earlier (it listens a moment before it prints).
    back_at = min([ready_at] + [when for page in pages for when in page.opened if when > killed_at])
    back = [page.acked[2] - back_at for page in pages]
    # Connection attempts from the moment the server is back.
    attempts = [when - back_at for page in pages for when in page.attempts if when >= back_at]
    first_100ms = sum(1 for offset in attempts if offset < 0.1)
    busiest = busiest_window(attempts, 0.1)
    print(
        f"\nreconnect storm: {PHONES} phones, server down {back_at - killed_at:.2f} s; "
        f"back and acked after the restart p50 {statistics.median(back):.2f} s, "
        f"p99 {percentile(back, 0.99):.2f} s, max {max(back):.2f} s; "
        f"{len(attempts)} attempts after it was back, {first_100ms} in its first 100 ms, "
        f"at most {busiest} in any 100 ms, spread over {max(attempts):.1f} s; "
        f"worst timer lag in the phones' process {lag.worst:.2f} s"
    )
    # Each phone tried again within its largest backoff window of the server being back
    # (its reconnection starts then at the latest), give or take how late this loaded
    # process ran its timers.
    retried = [min(when for when in page.attempts if when >= back_at) - back_at for page in pages]
    assert max(retried) <= BACKOFF_MAX + lag.worst + 0.1, (max(retried), lag.worst)
    # Full jitter: phones dropped by the same crash try again at times spread over
    # windows of at least BACKOFF_FIRST (0.5 s). With the server back after d < 0.5 s,
    # a 100 ms slice expects 0.1/0.5 of the phones still in their first window plus
    # 0.1 * 2d from those already in their second: 30% at most (d near 0.5 s); later,
    # less. Phones retrying on a fixed delay would all come in the same 100 ms (a run
    # without the jitter: 100%), and "equal jitter" (half fixed) would double it.
    assert first_100ms < 0.5 * PHONES
    assert busiest < 0.5 * PHONES
