"""Rooms in the database: the schema migration, and picking one room's sessions."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from laptops import a_deck, laptop, old_database, run_session
from livepoll import cli
from livepoll.export import ExportError, export
from livepoll.past import load_past_session
from livepoll.report import build_report
from livepoll.store import SCHEMA_VERSION, Store


def test_the_fixture_is_a_schema_1_database_without_rooms(tmp_path: Path) -> None:
    """The fixture really is the old schema: version 1 and no room column."""
    connection = sqlite3.connect(old_database(tmp_path / "old.db"))
    assert connection.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    columns = [row[1] for row in connection.execute("PRAGMA table_info(sessions)")]
    assert "room" not in columns


async def test_opening_a_schema_1_database_migrates_it_and_keeps_every_row(
    tmp_path: Path,
) -> None:
    """The old file gains the room column (empty), the latest schema, and all of its data."""
    path = old_database(tmp_path / "old.db")
    before = rows_of_session_1(path)
    assert all(before.values())
    store = await Store.open(path)
    try:
        (session,) = await store.sessions()
        assert session.room is None
        assert session.join_mode == "code"
        assert session.deck.title == "Old times"
        # A session started now, in a room, is stored beside the old one.
        await run_session(store, a_deck("New"), "main-hall", 1_800_000_000.0)
    finally:
        await store.close()
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT version FROM schema_version").fetchall() == [
        (SCHEMA_VERSION,)
    ]
    assert connection.execute("SELECT id, room FROM sessions ORDER BY id").fetchall() == [
        (1, None),
        (2, "main-hall"),
    ]
    assert rows_of_session_1(path) == before


def rows_of_session_1(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row the first session has in each table keyed by session."""
    connection = sqlite3.connect(path)
    tables = ("questions", "responses", "qa_items", "qa_votes", "voters", "events")
    rows = {
        table: connection.execute(
            f"SELECT * FROM {table} WHERE session_id = 1 ORDER BY 1, 2, 3"  # noqa: S608
        ).fetchall()
        for table in tables
    }
    rows["sessions"] = connection.execute(
        "SELECT id, deck_json, salt, started_at, ended_at, join_mode FROM sessions WHERE id = 1"
    ).fetchall()
    connection.close()
    return rows


async def test_a_schema_1_file_opened_read_only_is_listed_without_rooms(tmp_path: Path) -> None:
    """Exports read an old file as it is (read-only: never migrated), rooms all empty."""
    path = old_database(tmp_path / "old.db")
    document = json.loads(await export(path, "json", None))
    assert [session["deck"] for session in document["sessions"]] == ["Old times"]
    assert "room" not in document["sessions"][0]
    assert sqlite3.connect(path).execute("SELECT version FROM schema_version").fetchone() == (1,)


async def test_a_deck_resumes_only_in_its_own_room(tmp_path: Path) -> None:
    """The same deck in two rooms: a crashed session resumes in its room, not the other's."""
    store = await Store.open(tmp_path / "event.db")
    try:
        deck = a_deck("Shared")
        hall = await store.begin_session(deck, "auto", 1000.0, room="main-hall")
        other = await store.begin_session(deck, "auto", 1001.0, room="room-2")
        assert not other.resumed
        assert other.id != hall.id
        again = await store.begin_session(deck, "auto", 1002.0, room="main-hall")
        assert again.resumed
        assert again.id == hall.id
        plain = await store.begin_session(deck, "auto", 1003.0)
        assert not plain.resumed
        assert (await store.begin_session(deck, "auto", 1004.0)).id == plain.id
        assert [s.room for s in await store.sessions()] == ["main-hall", "room-2", None]
    finally:
        await store.close()


@pytest.fixture
def event_db(tmp_path: Path) -> Path:
    """Two sessions in main-hall, one in room-2."""
    return laptop(
        tmp_path / "event.db",
        [
            ("main-hall", "Keynote", 1000.0),
            ("room-2", "Breakout", 2000.0),
            ("main-hall", "Panel", 3000.0),
        ],
    )


def test_sessions_shows_a_room_column_when_sessions_have_rooms(
    event_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``livepoll sessions`` lists each session's room; --room keeps one room's."""
    assert cli.main(["sessions", "--db", str(event_db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["id", "room", "deck"]
    assert [line.split()[1] for line in lines[1:]] == ["main-hall", "room-2", "main-hall"]
    assert cli.main(["sessions", "--db", str(event_db), "--room", "main-hall"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in lines[1:]] == [
        ["1", "main-hall", "Keynote"],
        ["3", "main-hall", "Panel"],
    ]


def test_sessions_without_rooms_has_no_room_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A one-room laptop's database lists as before, with no room column."""
    path = laptop(tmp_path / "one.db", [(None, "Keynote", 1000.0)])
    assert cli.main(["sessions", "--db", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:2] == ["id", "deck"]


@pytest.mark.parametrize("command", ["sessions", "export", "report", "results"])
def test_an_unknown_room_is_refused_naming_the_rooms_there_are(
    event_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """Every command that takes --room says which rooms the database has."""
    extra = ["--output", str(tmp_path / "out.html")] if command == "report" else []
    assert cli.main([command, "--db", str(event_db), "--room", "nope", *extra]) == 1
    assert capsys.readouterr().err.strip() == (
        f'livepoll: no room "nope" in {event_db} (rooms: main-hall, room-2)'
    )


def test_a_room_in_a_database_without_rooms_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--room on a one-room database explains that its sessions have no rooms."""
    path = laptop(tmp_path / "one.db", [(None, "Keynote", 1000.0)])
    assert cli.main(["export", "--db", str(path), "--room", "main-hall"]) == 1
    assert "its sessions have no rooms" in capsys.readouterr().err


async def test_export_and_report_take_one_room(event_db: Path) -> None:
    """The JSON export, CSV and report of --room hold only that room's sessions."""
    document = json.loads(await export(event_db, "json", None, room="main-hall"))
    assert [(s["id"], s["room"], s["deck"]) for s in document["sessions"]] == [
        (1, "main-hall", "Keynote"),
        (3, "main-hall", "Panel"),
    ]
    csv_text = await export(event_db, "csv", None, room="room-2")
    assert {tuple(line.split(",")[1:3]) for line in csv_text.splitlines()[1:]} == {
        ("room-2", "Breakout")
    }
    html = await build_report(event_db, None, room="room-2")
    assert "Breakout" in html
    assert "Keynote" not in html
    with pytest.raises(ExportError, match="rooms: main-hall, room-2"):
        await build_report(event_db, None, room="hall")


async def test_results_shows_the_latest_session_of_a_room(event_db: Path) -> None:
    """``livepoll results --room`` opens that room's latest session, not the database's."""
    past = await load_past_session(event_db, None, "room-2")
    assert past.session_id == 2
    assert (await load_past_session(event_db, None, "main-hall")).session_id == 3
    with pytest.raises(ExportError, match='no session 2 in room "main-hall"'):
        await load_past_session(event_db, 2, "main-hall")
