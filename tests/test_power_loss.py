"""Acknowledged means durable through a power cut, not only through a killed process.

A SIGKILL leaves the operating system's page cache behind, so a server that never
fsynced would pass the kill test. Here the database lives on a filesystem that keeps
everything not yet fsynced in the memory of one process (tests/powerloss_fs.py, on
FUSE); killing that process is the power cut: what was not synced is gone, and the
backing directory is what the machine would find on its disk afterwards.

Needs FUSE (/dev/fuse and Debian's fuse3): without it the test skips locally and
fails under CI.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clients import new_voter_token
from livepoll.store import voter_key
from serving import serve_process
from test_durability import DECK, TOKEN, Acks, open_voting, vote_once

PHONES = 120
FILESYSTEM = Path(__file__).parent / "powerloss_fs.py"


@pytest.fixture
def power_loss_disk(tmp_path: Path) -> Iterator[tuple[Path, Path, subprocess.Popen[bytes]]]:
    """(mount point, backing directory, the filesystem's process): kill it to cut power."""
    if not Path("/dev/fuse").exists() or shutil.which("fusermount3") is None:
        pytest.skip("FUSE is not available (apt-get install fuse3)")
    backing, mount = tmp_path / "platter", tmp_path / "disk"
    backing.mkdir()
    mount.mkdir()
    disk = subprocess.Popen(
        [sys.executable, str(FILESYSTEM), str(backing), str(mount)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not os.path.ismount(mount):
            if disk.poll() is not None:
                pytest.skip(f"cannot mount a FUSE filesystem here: {disk.stderr.read()!r}")  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the power-loss filesystem did not mount"
            time.sleep(0.05)
        yield mount, backing, disk
    finally:
        if disk.poll() is None:
            disk.kill()
        disk.wait()
        subprocess.run(["fusermount3", "-u", "-z", str(mount)], check=False)


def stored_after(backing: Path, copy: Path) -> tuple[bytes, dict[bytes, list[int]]]:
    """The session's salt and every stored answer, read from what was on the disk (a
    copy, so SQLite's recovery of the WAL runs on it as it would after a reboot)."""
    copy.mkdir()
    for path in backing.iterdir():
        shutil.copyfile(path, copy / path.name)
    with sqlite3.connect(copy / "livepoll.db") as db:
        try:
            salt = bytes(db.execute("SELECT salt FROM sessions").fetchone()[0])
            rows = db.execute("SELECT voter, answer FROM responses").fetchall()
        except sqlite3.OperationalError:  # not even the schema reached the disk
            return b"", {}
    return salt, {voter: json.loads(answer) for voter, answer in rows}


async def test_acked_votes_survive_a_power_cut_mid_burst(
    power_loss_disk: tuple[Path, Path, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """Power goes (the disk forgets what was not fsynced, the server dies) in the middle
    of a burst of votes: every vote acknowledged before is on the disk afterwards."""
    mount, backing, disk = power_loss_disk
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    tokens = [new_voter_token() for _ in range(PHONES)]
    answers = {token: index % 4 for index, token in enumerate(tokens)}
    cut = asyncio.Event()
    acked = Acks(threshold=PHONES // 4, on_threshold=cut.set)

    async with serve_process(deck, mount / "livepoll.db", TOKEN) as ready:
        await open_voting(ready)
        url = f"ws://127.0.0.1:{ready['port']}/ws"

        def power_cut() -> None:
            """From inside the ack callback, so the burst is still in flight."""
            disk.send_signal(signal.SIGKILL)  # the disk loses what it had not synced
            ready["process"].send_signal(signal.SIGKILL)  # and the server with it
            cut.set()

        acked.on_threshold = power_cut
        burst = [
            asyncio.create_task(vote_once(url, t, answers[t], acked, delay=i / PHONES))
            for i, t in enumerate(tokens)
        ]
        async with asyncio.timeout(60):
            await cut.wait()
            await ready["process"].wait()
            await asyncio.gather(*burst)
    assert disk.wait() == -signal.SIGKILL
    acked_before_cut = set(acked)
    assert 0 < len(acked_before_cut) < PHONES, "the power went in the middle of the burst"

    salt, stored = stored_after(backing, tmp_path / "after")
    lost = [t for t in acked_before_cut if stored.get(voter_key(salt, t)) != [answers[t]]]
    assert lost == [], f"{len(lost)} of {len(acked_before_cut)} acknowledged votes lost"
    print(f"\npower cut: {len(acked_before_cut)} acked, {len(stored)} on the disk afterwards")
