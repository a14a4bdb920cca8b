"""Files at rest: the database (with its -wal and -shm), exports, reports, ticket sheets
and the server's log are readable by their owner only, whatever the umask says.

Each file is made by the real command or server that makes it in use, under the
common umask 022 (which would leave them 0644), and checked with ``os.stat``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from clients import new_voter_token
from livepoll import protocol
from livepoll.supervisor import SupervisedServer
from serving import serve_process

DECK = """title = "Files"
[[questions]]
id = "q1"
type = "single"
prompt = "Which?"
options = ["A", "B"]
"""
TOKEN = secrets.token_urlsafe(24)


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def common_umask() -> Iterator[None]:
    """The usual umask (022), inherited by the commands and servers the tests start."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    """A one-question deck file."""
    path = tmp_path / "deck.toml"
    path.write_text(DECK, encoding="utf-8")
    return path


def livepoll(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a livepoll command to completion, failing the test on a non-zero exit."""
    result = subprocess.run(
        [sys.executable, "-m", "livepoll", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


async def vote_once(port: int) -> None:
    """The chair opens the question and one phone votes (so the -wal file has data)."""
    async with connect(
        f"ws://127.0.0.1:{port}/presenter", additional_headers={"Authorization": f"Bearer {TOKEN}"}
    ) as presenter:
        await presenter.send(protocol.encode_command("open"))
        async with connect(f"ws://127.0.0.1:{port}/ws") as phone:
            await phone.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
            await phone.recv()
            await phone.send(json.dumps({"type": "vote", "q": "q1", "answer": 0, "seq": 1}))
            async with asyncio.timeout(10):
                while json.loads(await phone.recv())["type"] != "ack":
                    pass


def database_files(database: Path) -> list[Path]:
    """The database and the -wal and -shm files SQLite keeps beside it while open."""
    return [
        database,
        database.with_name(database.name + "-wal"),
        database.with_name(database.name + "-shm"),
    ]


async def test_serve_creates_the_database_and_its_wal_and_shm_private(
    deck: Path, tmp_path: Path
) -> None:
    """A new database, its -wal and -shm are 0600, in a new directory made 0700."""
    database = tmp_path / "sessions" / "live.db"
    async with serve_process(deck, database, TOKEN) as ready:
        await vote_once(ready["port"])
        assert {path.name: mode(path) for path in database_files(database)} == {
            "live.db": 0o600,
            "live.db-wal": 0o600,
            "live.db-shm": 0o600,
        }
    assert mode(database.parent) == 0o700


async def test_a_readable_database_left_by_a_crash_is_made_private(
    deck: Path, tmp_path: Path
) -> None:
    """A database with -wal and -shm left world-readable (a crash of an older version)
    is tightened to 0600, all three, when the server starts on it again."""
    database = tmp_path / "live.db"
    async with serve_process(deck, database, TOKEN) as ready:
        await vote_once(ready["port"])
        ready["process"].send_signal(signal.SIGKILL)
        await ready["process"].wait()
    for path in database_files(database):
        os.chmod(path, 0o644)
    async with serve_process(deck, database, TOKEN) as ready:
        assert [mode(path) for path in database_files(database)] == [0o600] * 3
        assert ready["notices"], "the session resumed from the files the crash left"


async def test_exports_reports_and_tickets_are_private(deck: Path, tmp_path: Path) -> None:
    """`export --output`, `report` and `tickets` write 0600 files (replacing a readable
    one), in new directories made 0700; the JSON names the deck by file name only."""
    database = tmp_path / "live.db"
    out = tmp_path / "out"
    sheet = out / "tickets.html"
    await asyncio.to_thread(
        livepoll, "tickets", "--count", "2", "--db", str(database), "--output", str(sheet)
    )
    async with serve_process(deck, database, TOKEN) as ready:
        await vote_once(ready["port"])
    answers = tmp_path / "answers.json"
    answers.write_text("left over", encoding="utf-8")
    os.chmod(answers, 0o644)
    await asyncio.to_thread(
        livepoll, "export", "--db", str(database), "--format", "json", "--output", str(answers)
    )
    spreadsheet = out / "answers.csv"
    await asyncio.to_thread(livepoll, "export", "--db", str(database), "--output", str(spreadsheet))
    report = tmp_path / "reports" / "day1" / "report.html"
    await asyncio.to_thread(livepoll, "report", "--db", str(database), "--output", str(report))
    assert {
        path.relative_to(tmp_path).as_posix(): oct(mode(path))
        for path in (database, sheet, answers, spreadsheet, report)
    } == {
        "live.db": "0o600",
        "out/tickets.html": "0o600",
        "answers.json": "0o600",
        "out/answers.csv": "0o600",
        "reports/day1/report.html": "0o600",
    }
    assert [mode(path) for path in (out, report.parent, report.parent.parent)] == [0o700] * 3
    text = answers.read_text(encoding="utf-8")
    (session,) = json.loads(text)["sessions"]
    assert session["deck_file"] == "deck.toml"
    assert str(tmp_path) not in text


def test_the_server_log_of_livepoll_run_is_private(deck: Path, tmp_path: Path) -> None:
    """The log `livepoll run` keeps of its server is 0600, also when it was readable."""
    log = tmp_path / "live.db.log"
    log.write_text("an older run\n", encoding="utf-8")
    os.chmod(log, 0o644)
    arguments = [str(deck), "--db", str(tmp_path / "live.db"), "--host", "127.0.0.1", "--port", "0"]
    server = SupervisedServer(arguments, TOKEN, log, "LIVEPOLL_PRESENTER_TOKEN")
    try:
        server.start()
        assert mode(log) == 0o600
    finally:
        server.stop()
    assert log.read_text(encoding="utf-8").startswith("an older run\n")
    assert mode(log) == 0o600


def test_an_output_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    """`report --output` under a plain file says why it cannot write, and exits 1."""
    database = tmp_path / "live.db"
    livepoll("tickets", "--count", "1", "--db", str(database), "--output", str(tmp_path / "t.html"))
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "livepoll", "report", "--db", str(database)]
        + ["--output", str(blocker / "report.html")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"livepoll: cannot write {blocker / 'report.html'}: " in result.stderr
    assert "Traceback" not in result.stderr
