"""Acknowledged means durable: SIGKILL the server mid-burst and count what survived."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from clients import new_voter_token
from livepoll import protocol
from livepoll.server.app import LivepollServer
from livepoll.store import voter_key
from serving import serve_process

DECK = """title = "Kill test"
[[questions]]
id = "q1"
type = "single"
prompt = "Which?"
options = ["A", "B", "C", "D"]
"""
PHONES = 300
TOKEN = "durability-presenter-token"


async def open_voting(ready: dict[str, Any]) -> None:
    """Open voting on the current question through the presenter channel."""
    url = f"ws://127.0.0.1:{ready['port']}/presenter"
    async with connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as presenter:
        await presenter.recv()
        await presenter.recv()
        await presenter.send(protocol.encode_command("open"))
        state = json.loads(await presenter.recv())
        assert state["status"] == "open"


class Acks(set[str]):
    """Tokens whose vote was acknowledged; calls ``on_threshold`` the moment enough are in."""

    def __init__(self, threshold: int, on_threshold: Callable[[], None]) -> None:
        super().__init__()
        self.threshold = threshold
        self.on_threshold: Callable[[], None] | None = on_threshold

    def add(self, token: str) -> None:
        super().add(token)
        if len(self) >= self.threshold and self.on_threshold is not None:
            self.on_threshold()
            self.on_threshold = None


async def vote_once(url: str, token: str, answer: int, acked: set[str], delay: float = 0) -> None:
    """After ``delay``, say hello, vote with seq 1, and record the token if the ack arrives."""
    await asyncio.sleep(delay)
    try:
        async with connect(url) as phone:
            await phone.send(json.dumps({"type": "hello", "voter": token}))
            await phone.send(json.dumps({"type": "vote", "q": "q1", "answer": answer, "seq": 1}))
            async for frame in phone:
                message = json.loads(frame)
                if message["type"] == "ack" and message["seq"] == 1:
                    acked.add(token)
                    return
    except (ConnectionClosed, InvalidHandshake, OSError):
        return  # the server died under it: the vote is not acked, and is sent again


async def test_acked_votes_survive_sigkill_and_resends_count_once(tmp_path: Path) -> None:
    """Every vote acked before a SIGKILL is stored; the rest, resent, are counted exactly once."""
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    database = tmp_path / "kill.db"
    tokens = [new_voter_token() for _ in range(PHONES)]
    answers = {token: index % 4 for index, token in enumerate(tokens)}
    killed = asyncio.Event()
    acked = Acks(threshold=PHONES // 10, on_threshold=killed.set)

    async with serve_process(deck, database, TOKEN) as ready:
        await open_voting(ready)
        url = f"ws://127.0.0.1:{ready['port']}/ws"
        # Spread over a second, so that the kill lands with most of the burst in flight
        # (all at once, one group commit can acknowledge every vote before the kill).
        burst = [
            asyncio.create_task(vote_once(url, t, answers[t], acked, delay=i / PHONES))
            for i, t in enumerate(tokens)
        ]

        def kill_now() -> None:
            """Sent from inside the ack callback, so the burst is still in flight."""
            ready["process"].send_signal(signal.SIGKILL)
            killed.set()

        acked.on_threshold = kill_now
        async with asyncio.timeout(30):
            await killed.wait()
        await ready["process"].wait()
        await asyncio.gather(*burst)
    acked_before_kill = set(acked)
    assert 0 < len(acked_before_kill) < PHONES, "the kill landed in the middle of the burst"
    print(f"\nkill test: {len(acked_before_kill)} of {PHONES} acked before SIGKILL")

    with sqlite3.connect(database) as db:
        salt = bytes(db.execute("SELECT salt FROM sessions").fetchone()[0])
        stored = {
            voter: json.loads(answer)
            for voter, answer in db.execute("SELECT voter, answer FROM responses")
        }
    for token in acked_before_kill:
        assert stored.get(voter_key(salt, token)) == [answers[token]], "an acked vote was lost"

    async with serve_process(deck, database, TOKEN) as ready:
        assert ready["session"] == 1, "the killed session resumes"
        url = f"ws://127.0.0.1:{ready['port']}/ws"
        async with asyncio.timeout(30):
            await asyncio.gather(*(vote_once(url, t, answers[t], acked) for t in tokens))
        assert acked == set(tokens)
        presenter_url = f"ws://127.0.0.1:{ready['port']}/presenter"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with connect(presenter_url, additional_headers=headers) as presenter:
            await presenter.recv()
            state = json.loads(await presenter.recv())
    assert state["status"] == "open", "voting was open when the server died"
    assert state["respondents"] == PHONES
    assert state["counts"] == [sum(1 for a in answers.values() if a == i) for i in range(4)]
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM responses").fetchone()[0] == PHONES
        assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1


async def test_the_live_server_writes_in_wal_mode_with_synchronous_full(
    livepoll_server: LivepollServer,
) -> None:
    """The running server's own connection is in WAL mode with synchronous=FULL (2)."""
    connection = livepoll_server.store._db  # the writer's connection, not a new one
    async with connection.execute("PRAGMA journal_mode") as cursor:
        assert await cursor.fetchone() == ("wal",)
    async with connection.execute("PRAGMA synchronous") as cursor:
        assert await cursor.fetchone() == (2,), "synchronous=FULL"


STRACE = Path("/usr/bin/strace")
"""Debian's strace: it shows the server's fsyncs, which no test inside the process can."""


@pytest.fixture
def strace() -> Path:
    """Debian's strace; skipped without it (failed under CI)."""
    if not STRACE.exists():
        pytest.skip(f"{STRACE} is not installed (apt-get install strace)")
    return STRACE


def traced_child(pid: int) -> int:
    """The process strace ``pid`` started (the server)."""
    return int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])


SYNC_CALL = re.compile(
    r"^(?:\[?(?:pid\s+)?\d+\]?\s+)?(?P<at>\d+\.\d+) f(?:data)?sync\(\d+<(?P<path>[^>]*)>"
)
"""A sync call's first line: whole, or ``<unfinished ...>`` if strace split it. The
thread's id in front is padded to a fixed width (``9268  1796085393.03 ...``, two
spaces, when the ids are shorter than strace allows for) or absent while one thread
is traced."""


async def test_every_vote_is_fsynced_to_the_wal_before_its_ack(
    tmp_path: Path, strace: Path
) -> None:
    """Under strace, each answer a phone sends is followed by an fsync of the -wal file
    before its ack comes back: an ack survives losing power, not only a killed process."""
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    database = tmp_path / "sync.db"
    trace = tmp_path / "strace.log"
    tracing = [str(strace), "-f", "-qq", "-y", "-ttt", "-e", "trace=fsync,fdatasync"]
    tracing += ["-e", "signal=none", "-o", str(trace)]
    windows: list[tuple[float, float]] = []
    async with serve_process(deck, database, TOKEN, wrapper=tracing) as ready:
        await open_voting(ready)
        async with connect(f"ws://127.0.0.1:{ready['port']}/ws") as phone:
            await phone.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
            for seq, answer in enumerate([0, 1, 2, 3, 0], start=1):  # each one a new answer
                sent = time.time()
                await phone.send(
                    json.dumps({"type": "vote", "q": "q1", "answer": answer, "seq": seq})
                )
                async with asyncio.timeout(30):
                    while (reply := json.loads(await phone.recv())).get("seq") != seq:
                        pass
                assert reply["type"] == "ack", reply
                windows.append((sent, time.time()))
        # Stop the server itself as Ctrl-C would; strace ends with it.
        os.kill(traced_child(ready["process"].pid), signal.SIGINT)
        async with asyncio.timeout(30):
            await ready["process"].wait()
    syncs = [
        float(match["at"])
        for line in trace.read_text().splitlines()
        if (match := SYNC_CALL.match(line)) and match["path"] == f"{database}-wal"
    ]
    for number, (sent, acked) in enumerate(windows, start=1):
        assert any(sent <= at <= acked for at in syncs), (
            f"answer {number} was acked with no fsync of the WAL in between "
            f"(sent {sent:.6f}, acked {acked:.6f}; WAL syncs at {syncs}); the trace ends:\n"
            + "\n".join(trace.read_text().splitlines()[-20:])
        )
