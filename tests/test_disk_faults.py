"""Real disk faults under a running server: a filesystem that fills up, one that turns
read-only. The database lives on a small filesystem of the test's own, so the errors
are the kernel's (ENOSPC, EROFS), not SQLite settings that imitate them.

Mounting needs root (as CI runs): without it these tests skip locally, and fail
under CI like any other skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from clients import Phone, chair, new_voter_token, open_phone
from livepoll.deck import Deck
from livepoll.event import Event
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from livepoll.server.conference import running_conference
from serving import serve_process
from test_durability import DECK, TOKEN, open_voting

WITHIN = 30.0
"""A generous bound on waiting for the server to notice a fault or a recovery."""


@contextlib.contextmanager
def mounted(source: str, target: Path, *options: str) -> Iterator[Path]:
    """Mount ``source`` on ``target`` for the block; skip (fail in CI) where we may not."""
    target.mkdir()
    result = subprocess.run(
        ["mount", *options, source, str(target)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a test filesystem here: {result.stderr.strip()}")
    try:
        yield target
    finally:
        for attempt in ("umount", "umount -l"):  # lazily if a test left a file open
            if subprocess.run([*attempt.split(), str(target)], check=False).returncode == 0:
                break


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of the test's own."""
    with mounted("tmpfs", tmp_path / "disk", "-t", "tmpfs", "-o", "size=4m,mode=0700") as disk:
        yield disk


@pytest.fixture
def ext4_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB ext4 filesystem on a loop device, which turns read-only on an error."""
    image = tmp_path / "disk.img"
    with image.open("wb") as file:
        file.truncate(16 * 1024 * 1024)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot make an ext4 filesystem here: {made.stderr!r}")
    with mounted(str(image), tmp_path / "disk", "-o", "loop,errors=remount-ro") as disk:
        yield disk


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte with one file; return it (delete it to make room)."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as file:
        with contextlib.suppress(OSError):
            while True:
                file.write(chunk)
        with contextlib.suppress(OSError):  # the last partial chunk, byte by byte
            while True:
                file.write(b"\0")
    return filler


def stored_count(database: Path) -> int:
    """Responses in the database file, read by a connection of its own."""
    with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT count(*) FROM responses").fetchone()[0])


async def next_notice(phone: Phone) -> dict[str, object]:
    """The next notice a phone gets (states and results pass by)."""
    async with asyncio.timeout(WITHIN):
        while (frame := await phone.receive())["type"] != "notice":
            pass
    return frame


def config_on(disk: Path, deck: Deck) -> ServerConfig:
    """A loopback server whose database lives on ``disk``."""
    return ServerConfig(deck=deck, database=disk / "livepoll.db", host="127.0.0.1", port=0)


def error_trigger(disk: Path) -> Path:
    """The sysfs file that makes ext4 on ``disk`` act as if its device failed."""
    source = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE", str(disk)], capture_output=True, text=True, check=True
    ).stdout.strip()
    return Path("/sys/fs/ext4") / os.path.basename(source) / "trigger_fs_error"


async def phone_at(url: str) -> Phone:
    """A phone on the audience channel at ``url`` that said hello."""
    phone = Phone(await connect(url), new_voter_token())
    await phone.hello()
    return phone


async def send_votes(phones: list[Phone]) -> None:
    """Each phone votes once on q1 (replies are read later)."""
    for index, phone in enumerate(phones):
        vote = {"type": "vote", "q": "q1", "answer": index % 3, "seq": 1}
        await phone.connection.send(json.dumps(vote))


async def test_a_disk_that_fills_up_holds_acks_until_space_is_freed(
    small_disk: Path, sample_deck: Deck
) -> None:
    """The database's filesystem fills up (ENOSPC): votes stay unacknowledged, phones are
    told; once a file is deleted, every queued vote is committed and acknowledged once."""
    config = config_on(small_disk, sample_deck)
    async with running_server(config) as server:
        await chair(server, "toggle_voting")
        watcher = await open_phone(server, new_voter_token())
        filler = fill(small_disk)
        phones = [await open_phone(server) for _ in range(60)]
        await send_votes(phones)
        notice = await next_notice(watcher)
        assert notice["code"] == "storage_problem"
        assert server.store.problem is not None
        assert "full" in server.store.problem, server.store.problem
        assert stored_count(config.database) == 0, "nothing was stored, so nothing was acked"

        filler.unlink()  # the organiser frees some space
        assert (await next_notice(watcher))["code"] == "storage_ok"
        async with asyncio.timeout(WITHIN):
            for phone in phones:
                notices = []
                while (frame := await phone.receive())["type"] != "ack":
                    if frame["type"] == "notice":
                        notices.append(frame["code"])
                assert notices[-2:] == ["storage_problem", "storage_ok"], (
                    "the ack came only once the disk had room again"
                )
        assert server.store.problem is None
    assert stored_count(config.database) == 60


async def test_a_disk_that_turns_read_only_acks_nothing_more_and_says_so(
    ext4_disk: Path, tmp_path: Path
) -> None:
    """The filesystem turns read-only under the server (ext4 after an error): votes
    acknowledged before are in the file, later ones are never acknowledged, and the
    phones are told that answers are not being saved."""
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    database = ext4_disk / "livepoll.db"
    trigger = error_trigger(ext4_disk)
    # A server process of its own: with its disk gone it cannot end its session, so
    # it is killed at the end, as a laptop whose disk died would be.
    async with serve_process(deck, database, TOKEN) as ready:
        url = f"ws://127.0.0.1:{ready['port']}/ws"
        await open_voting(ready)
        early = [await phone_at(url) for _ in range(10)]
        await send_votes(early)
        for phone in early:
            assert (await phone.reply())["type"] == "ack"
        watcher = await phone_at(url)

        trigger.write_text("the test's disk failure\n")  # ext4 remounts itself read-only
        with pytest.raises(OSError, match="Read-only file system") as refused:
            (ext4_disk / "probe").write_text("x")
        assert refused.value.errno == errno.EROFS

        late = [await phone_at(url) for _ in range(20)]
        await send_votes(late)
        notice = await next_notice(watcher)
        assert notice["code"] == "storage_problem"
        for phone in late:  # each is told too, and gets no ack before it
            assert (await next_notice(phone))["code"] == "storage_problem"
        ready["process"].kill()
        await ready["process"].wait()
        for phone in late:  # every frame up to the end: never an ack
            with contextlib.suppress(ConnectionClosed):
                while True:
                    frame = await phone.receive()
                    assert frame["type"] != "ack", "a vote on a read-only disk was acked"
    assert stored_count(database) == 10, "every vote acked before the fault is kept"


async def phone_with_code(server: LivepollServer) -> Phone:
    """A phone admitted to a room with a room code (it says hello with the code)."""
    phone = Phone(await connect(server.audience_url), new_voter_token())
    code = server.gate.room_code
    await phone.connection.send(json.dumps({"type": "hello", "voter": phone.token, "code": code}))
    assert (await phone.receive())["type"] == "state"
    return phone


async def test_a_room_does_not_move_on_while_its_disk_is_full(
    small_disk: Path, event: Event, event_config: ServerConfig
) -> None:
    """Moving to the next session waits for the disk; while the disk fails the room
    refuses at once, saying why (the console that asked is never left waiting), and
    moves on once space is freed."""
    config = dataclasses.replace(event_config, database=small_disk / "event.db")
    async with running_conference(event, config) as front:
        hall = front.rooms["main-hall"]
        session = hall.session_id
        await chair(hall, "toggle_voting")
        phones = [await phone_with_code(hall) for _ in range(21)]
        watcher = phones.pop()
        filler = fill(small_disk)
        for phone in phones:
            await phone.connection.send(
                json.dumps({"type": "vote", "q": "pick", "answer": 0, "seq": 1})
            )
        assert (await next_notice(watcher))["code"] == "storage_problem"
        async with asyncio.timeout(5):
            refusal = await hall.next_session()
        assert refusal is not None
        assert refusal.startswith("the database cannot be written (")
        assert "once answers are being saved again" in refusal
        assert hall.session_id == session
        filler.unlink()
        assert (await next_notice(watcher))["code"] == "storage_ok"
        async with asyncio.timeout(WITHIN):
            assert await hall.next_session() is None
        assert hall.session_id != session
