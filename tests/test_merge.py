"""``livepoll merge``: the chairs' laptops brought together in one event database."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from laptops import a_deck, laptop, old_database
from livepoll import cli
from livepoll.export import export
from livepoll.merge import MergeError, merge
from livepoll.store import SCHEMA_VERSION, Store


async def sessions_of(path: Path) -> list[dict[str, Any]]:
    """The JSON export's sessions without what a merge renumbers (ids) or stamps."""
    document = json.loads(await export(path, "json", None))
    for session in document["sessions"]:
        del session["id"]
    return document["sessions"]


def csv_rows(text: str) -> list[str]:
    """CSV rows without the session id (the first column), which a merge renumbers."""
    return sorted(line.split(",", 1)[1] for line in text.splitlines()[1:])


def count(path: Path, table: str) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
    finally:
        connection.close()


@pytest.fixture
def two_rooms(tmp_path: Path) -> tuple[Path, Path]:
    """Two chairs' laptops: main hall ran two decks, room 2 one (the same deck as one of them)."""
    hall = laptop(
        tmp_path / "hall.db", [("main-hall", "Keynote", 1000.0), ("main-hall", "Panel", 3000.0)]
    )
    breakout = laptop(tmp_path / "room2.db", [("room-2", "Panel", 2000.0)])
    return hall, breakout


async def test_two_rooms_laptops_merge_into_one_database(
    two_rooms: tuple[Path, Path], tmp_path: Path
) -> None:
    """Exports of the merged file are the union of the laptops' exports, rooms and all."""
    hall, breakout = two_rooms
    output = tmp_path / "event.db"
    merged = await merge([hall, breakout], output)
    assert [(m.copied, m.present) for m in merged] == [(2, 0), (1, 0)]
    expected = await sessions_of(hall) + await sessions_of(breakout)
    assert await sessions_of(output) == expected
    assert [s["room"] for s in expected] == ["main-hall", "main-hall", "room-2"]
    union = csv_rows(await export(hall, "csv", None)) + csv_rows(
        await export(breakout, "csv", None)
    )
    assert csv_rows(await export(output, "csv", None)) == sorted(union)
    # Nicknames and admissions, which no export shows, came along too.
    assert count(output, "voters") == count(hall, "voters") + count(breakout, "voters") == 6
    assert count(output, "qa_votes") == 3


async def test_merging_the_same_files_again_adds_nothing(
    two_rooms: tuple[Path, Path], tmp_path: Path
) -> None:
    """A second merge of the same files, or a file named twice, copies no session twice."""
    hall, breakout = two_rooms
    output = tmp_path / "event.db"
    await merge([hall, breakout, hall], output)
    first = await sessions_of(output)
    tables = {t: count(output, t) for t in ("sessions", "responses", "events", "qa_items")}
    again = await merge([breakout, hall], output)
    assert [(m.copied, m.present) for m in again] == [(0, 1), (0, 2)]
    assert await sessions_of(output) == first
    assert {t: count(output, t) for t in tables} == tables


async def test_pseudonyms_and_salts_stay_those_of_each_laptop(
    two_rooms: tuple[Path, Path], tmp_path: Path
) -> None:
    """Each session keeps its salt, so its voters keep the pseudonyms its laptop exported."""
    hall, breakout = two_rooms
    output = tmp_path / "event.db"
    await merge([hall, breakout], output)
    salts = sqlite3.connect(output).execute("SELECT salt FROM sessions ORDER BY id").fetchall()
    inputs = [
        *sqlite3.connect(hall).execute("SELECT salt FROM sessions ORDER BY id").fetchall(),
        *sqlite3.connect(breakout).execute("SELECT salt FROM sessions ORDER BY id").fetchall(),
    ]
    assert salts == inputs
    voters = {r["voter"] for s in await sessions_of(output) for r in s["responses"]}
    assert voters == {
        r["voter"] for path in two_rooms for s in await sessions_of(path) for r in s["responses"]
    }


async def test_the_output_is_created_private(two_rooms: tuple[Path, Path], tmp_path: Path) -> None:
    """The merged database holds salts: it is created 0600, in a new directory made 0700."""
    output = tmp_path / "new" / "event.db"
    await merge(list(two_rooms), output)
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert stat.S_IMODE(output.parent.stat().st_mode) == 0o700


async def test_an_input_of_a_newer_schema_is_refused_before_writing(
    two_rooms: tuple[Path, Path], tmp_path: Path
) -> None:
    """A file from a newer livepoll is refused by name, and no output is made."""
    hall, breakout = two_rooms
    connection = sqlite3.connect(breakout)
    connection.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    connection.commit()
    connection.close()
    output = tmp_path / "event.db"
    with pytest.raises(MergeError) as caught:
        await merge([hall, breakout], output)
    assert str(caught.value) == (
        f"{breakout} has schema version {SCHEMA_VERSION + 1}, newer than this livepoll's "
        f"{SCHEMA_VERSION}: "
        "merge it with the newer livepoll that wrote it"
    )
    assert not output.exists()


async def test_a_file_that_is_not_a_livepoll_database_is_refused(
    two_rooms: tuple[Path, Path], tmp_path: Path
) -> None:
    """A stray SQLite file, a text file or a missing file: refused by name."""
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    text = tmp_path / "notes.db"
    text.write_text("not a database at all, just some notes about the day" * 20)
    for path, message in [
        (other, f"{other} is not a livepoll database"),
        (text, f"{text} is not a livepoll database"),
        (tmp_path / "gone.db", f"no database at {tmp_path / 'gone.db'}"),
    ]:
        with pytest.raises(MergeError) as caught:
            await merge([two_rooms[0], path], tmp_path / "event.db")
        assert str(caught.value) == message
    assert not (tmp_path / "event.db").exists()


async def test_a_schema_1_laptop_merges_as_one_room_sessions(
    two_rooms: tuple[Path, Path], tmp_path: Path
) -> None:
    """A laptop that ran the version before rooms merges, its sessions without a room."""
    old = old_database(tmp_path / "old.db")
    output = tmp_path / "event.db"
    await merge([old, two_rooms[1]], output)
    merged = await sessions_of(output)
    assert [(s.get("room"), s["deck"]) for s in merged] == [
        (None, "Old times"),
        ("room-2", "Panel"),
    ]
    assert merged[0] == (await sessions_of(old))[0]
    assert count(output, "voters") == count(old, "voters") + count(two_rooms[1], "voters") == 4
    # The input itself is only read: still schema 1.
    assert sqlite3.connect(old).execute("SELECT version FROM schema_version").fetchone() == (1,)


async def test_the_output_cannot_be_one_of_the_inputs_or_another_database(
    two_rooms: tuple[Path, Path], tmp_path: Path
) -> None:
    """Merging a file into itself, or into some other SQLite file, is refused."""
    with pytest.raises(MergeError, match="is the output"):
        await merge(list(two_rooms), two_rooms[0])
    other = tmp_path / "accounts.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(MergeError, match="is not a livepoll database"):
        await merge(list(two_rooms), other)
    assert [row[0] for row in sqlite3.connect(other).execute("SELECT name FROM sqlite_master")] == [
        "t"
    ]


def test_cli_merge_says_what_it_copied(
    two_rooms: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``livepoll merge`` prints per file what it copied and what was already there."""
    hall, breakout = two_rooms
    output = tmp_path / "event.db"
    assert cli.main(["merge", str(hall), str(breakout), "--output", str(output)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{hall}: 2 sessions copied",
        f"{breakout}: 1 session copied",
        f"merged into {output}",
    ]
    assert cli.main(["merge", str(hall), "-o", str(output)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{hall}: 0 sessions copied, 2 already there"
    assert cli.main(["sessions", "--db", str(output), "--room", "room-2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_cli_merge_refuses_with_one_line_and_exit_1(
    two_rooms: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing input: one line on stderr, exit code 1."""
    missing = tmp_path / "nope.db"
    assert cli.main(["merge", str(two_rooms[0]), str(missing), "-o", str(tmp_path / "e.db")]) == 1
    assert capsys.readouterr().err == f"livepoll: no database at {missing}\n"


async def test_a_room_merged_while_it_ran_is_updated_by_the_later_merge(tmp_path: Path) -> None:
    """Merged at lunch, then again at the end: the later copy replaces the stale one,
    and merging the lunchtime backup afterwards does not take it back."""
    path = tmp_path / "hall.db"
    deck = a_deck("Keynote")
    store = await Store.open(path)
    record = await store.begin_session(deck, "auto", 1000.0, room="main-hall")
    await store.save_response(record.id, "pick", "a" * 32, (0,), 1010.0)
    await store.close()  # the laptop crashed mid-session
    lunchtime = tmp_path / "lunchtime.db"
    shutil.copy(path, lunchtime)
    output = tmp_path / "event.db"
    await merge([path], output)
    store = await Store.open(path)
    resumed = await store.begin_session(deck, "auto", 2000.0, room="main-hall")
    assert resumed.resumed
    await store.save_response(record.id, "pick", "b" * 32, (1,), 2010.0)
    await store.save_response(record.id, "pick", "a" * 32, (1,), 2011.0)
    await store.end_session(record.id, 2100.0)
    await store.close()
    (again,) = await merge([path], output)
    assert (again.copied, again.present, again.updated) == (0, 0, 1)
    assert await sessions_of(output) == await sessions_of(path)
    (backup,) = await merge([lunchtime], output)
    assert (backup.copied, backup.present, backup.updated) == (0, 1, 0)
    assert await sessions_of(output) == await sessions_of(path)
    assert count(output, "sessions") == 1
