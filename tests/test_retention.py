"""Retention: ``livepoll purge`` deletes sessions for good, and ``livepoll sessions`` ages them."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clients import chair, new_voter_token, open_phone
from livepoll import deck as deck_module
from livepoll.retention import PurgeError, age, parse_cutoff
from livepoll.server.app import ServerConfig, running_server
from livepoll.store import Store

DECK = """title = "Retention"

[[questions]]
id = "word"
type = "text"
prompt = "One word"

[[questions]]
id = "panel"
type = "qa"
prompt = "Questions"

[[questions]]
id = "who"
type = "quiz"
prompt = "Who?"
options = ["A", "B"]
correct = "A"
"""


async def run_session(config: ServerConfig, marker: str) -> int:
    """A session whose text answer, Q&A question and nickname all contain ``marker``."""
    config.deck = deck_module.from_text(DECK, "retention.toml")
    config.session_mode = "new"
    async with running_server(config) as server:
        phone = await open_phone(server, new_voter_token())
        await chair(server, "toggle_voting")
        assert (await phone.vote("word", f"answer {marker}"))["type"] == "ack"
        await chair(server, "next", "toggle_voting")
        await phone.connection.send(
            json.dumps({"type": "ask", "q": "panel", "text": f"ask {marker}", "seq": 5})
        )
        assert (await phone.reply())["type"] == "ack"
        await phone.connection.send(json.dumps({"type": "nickname", "name": marker, "seq": 6}))
        assert (await phone.reply())["type"] == "ack"
        await phone.connection.close()
        return server.session_id


def file_bytes(database: Path) -> bytes:
    """The database file and its write-ahead log, as bytes on disk."""
    data = database.read_bytes()
    wal = database.with_name(database.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def livepoll(*arguments: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the livepoll command with ``stdin`` as its input (none under CI)."""
    return subprocess.run(
        [sys.executable, "-m", "livepoll", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_parse_cutoff_takes_a_date_or_a_time_in_utc() -> None:
    """A bare date means midnight UTC; a time without a zone is UTC."""
    assert parse_cutoff("2026-05-01") == datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_cutoff("2026-05-01T09:30") == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    with pytest.raises(PurgeError, match="is not a date: write YYYY-MM-DD"):
        parse_cutoff("last tuesday")


def test_age_is_said_in_the_largest_whole_unit() -> None:
    """Days, then hours, then minutes."""
    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    assert age("2026-05-07T11:00:00.000Z", now) == "3 d"
    assert age("2026-05-10T07:00:00.000Z", now) == "5 h"
    assert age("2026-05-10T11:48:00.000Z", now) == "12 min"


async def test_purge_with_yes_removes_every_trace_from_the_file_bytes(
    server_config: ServerConfig,
) -> None:
    """After purging one session its answer, Q&A text and nickname are not in the file,
    while another session's are untouched."""
    database = server_config.database
    gone = await run_session(server_config, "Zanzibar-gone-7f3")
    kept = await run_session(server_config, "Quokka-kept-2c9")
    assert b"Zanzibar-gone-7f3" in file_bytes(database)
    result = await asyncio.to_thread(
        livepoll, "purge", "--db", str(database), "--session", str(gone), "--yes"
    )
    assert result.returncode == 0, result.stderr
    assert "1 session to delete" in result.stdout
    assert "1 answer, 1 Q&A question" in result.stdout
    assert "rewritten without them" in result.stdout
    raw = file_bytes(database)
    assert b"Zanzibar-gone-7f3" not in raw
    assert b"Quokka-kept-2c9" in raw
    with sqlite3.connect(database) as db:
        sessions = [row[0] for row in db.execute("SELECT id FROM sessions")]
        orphans = sum(
            db.execute(f"SELECT count(*) FROM {table} WHERE session_id = ?", (gone,)).fetchone()[0]
            for table in ("responses", "events", "qa_items", "qa_votes", "voters", "questions")
        )
    assert sessions == [kept]
    assert orphans == 0


async def test_purge_asks_and_an_n_deletes_nothing(server_config: ServerConfig) -> None:
    """Without --yes the plan is shown and "n" (or no answer at all) keeps everything."""
    database = server_config.database
    session_id = await run_session(server_config, "Kept-on-no-51a")
    before = database.read_bytes()
    for answer in ("n\n", ""):
        result = await asyncio.to_thread(
            livepoll, "purge", "--db", str(database), "--session", str(session_id), stdin=answer
        )
        assert result.returncode == 1
        assert "Delete them for good? [y/N]" in result.stdout
        assert "Nothing was deleted." in result.stdout
    assert database.read_bytes() == before


async def test_purge_asks_and_a_y_deletes(server_config: ServerConfig) -> None:
    """Answering "y" at the prompt deletes the session."""
    database = server_config.database
    session_id = await run_session(server_config, "Deleted-on-yes-9d0")
    result = await asyncio.to_thread(
        livepoll, "purge", "--db", str(database), "--session", str(session_id), stdin="y\n"
    )
    assert result.returncode == 0, result.stderr
    assert b"Deleted-on-yes-9d0" not in file_bytes(database)


async def test_dry_run_lists_but_keeps(server_config: ServerConfig) -> None:
    """--dry-run says what would go and changes nothing."""
    database = server_config.database
    await run_session(server_config, "Dry-run-kept-0aa")
    before = database.read_bytes()
    result = await asyncio.to_thread(
        livepoll, "purge", "--db", str(database), "--keep-days", "0", "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    assert "1 session to delete" in result.stdout
    assert "Dry run: nothing was deleted." in result.stdout
    assert database.read_bytes() == before


async def test_purge_by_date_takes_only_older_sessions_and_their_tickets(
    server_config: ServerConfig,
) -> None:
    """--before deletes sessions started before the date, and tickets made before it."""
    database = server_config.database
    old = await run_session(server_config, "Old-session-111")
    new = await run_session(server_config, "New-session-222")
    store = await Store.open(database)
    try:
        await store.create_tickets(2, now=datetime(2020, 1, 1, tzinfo=UTC).timestamp())
        await store.create_tickets(1, now=datetime.now(UTC).timestamp())
    finally:
        await store.close()
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE sessions SET started_at = '2020-01-02T10:00:00.000Z' WHERE id = ?", (old,)
        )
    result = await asyncio.to_thread(
        livepoll, "purge", "--db", str(database), "--before", "2021-01-01", "--yes"
    )
    assert result.returncode == 0, result.stderr
    assert "and 2 tickets made before the cutoff" in result.stdout
    with sqlite3.connect(database) as db:
        assert [row[0] for row in db.execute("SELECT id FROM sessions")] == [new]
        assert db.execute("SELECT count(*) FROM tickets").fetchone()[0] == 1
    assert b"Old-session-111" not in file_bytes(database)


async def test_a_session_that_has_not_ended_is_kept_unless_asked(
    server_config: ServerConfig,
) -> None:
    """A session a server may still be running is listed as kept, and --unfinished takes it."""
    database = server_config.database
    session_id = await run_session(server_config, "Unfinished-333")
    with sqlite3.connect(database) as db:
        db.execute("UPDATE sessions SET ended_at = NULL WHERE id = ?", (session_id,))
    result = await asyncio.to_thread(
        livepoll, "purge", "--db", str(database), "--keep-days", "0", "--yes"
    )
    assert f"kept: session {session_id} has not ended" in result.stdout
    assert b"Unfinished-333" in file_bytes(database)
    result = await asyncio.to_thread(
        livepoll, "purge", "--db", str(database), "--keep-days", "0", "--unfinished", "--yes"
    )
    assert result.returncode == 0, result.stderr
    assert b"Unfinished-333" not in file_bytes(database)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--session", "99"], "no session 99 in"),
        (["--before", "soon"], "--before 'soon' is not a date"),
        (["--keep-days", "-1"], "--keep-days must be 0 or more"),
    ],
)
async def test_bad_purge_requests_say_why(
    server_config: ServerConfig, arguments: list[str], message: str
) -> None:
    """An unknown session, a bad date or negative days are refused with a reason."""
    await run_session(server_config, "Bad-request-444")
    result = await asyncio.to_thread(
        livepoll, "purge", "--db", str(server_config.database), *arguments, "--yes"
    )
    assert result.returncode == 1
    assert message in result.stderr


async def test_sessions_lists_each_sessions_age(server_config: ServerConfig) -> None:
    """`livepoll sessions` has an age column."""
    await run_session(server_config, "Aged-555")
    result = await asyncio.to_thread(livepoll, "sessions", "--db", str(server_config.database))
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()[:2]
    assert "age" in header.split()
    assert "0 min" in row
