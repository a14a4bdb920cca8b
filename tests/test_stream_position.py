"""The store's side of owning a room on Redis: the applied stream position is kept in
the same transaction as the writes it covers, and older databases gain its table."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from laptops import a_deck, old_database
from livepoll import store as store_module
from livepoll.store import SCHEMA_VERSION, Store


def schema_2_database(path: Path) -> Path:
    """A database as livepoll wrote it with rooms and before stream positions (schema 2)."""
    old_database(path)
    connection = sqlite3.connect(path)
    for statement in store_module._MIGRATIONS[2]:
        connection.execute(statement)
    connection.execute("UPDATE schema_version SET version = 2")
    connection.commit()
    connection.close()
    return path


async def test_opening_a_schema_2_database_adds_stream_positions_and_keeps_rows(
    tmp_path: Path,
) -> None:
    """Schema 2 becomes the latest schema with an empty stream_positions, rows untouched."""
    path = schema_2_database(tmp_path / "two.db")
    connection = sqlite3.connect(path)
    before = connection.execute("SELECT * FROM responses ORDER BY 1, 2, 3").fetchall()
    connection.close()
    assert before
    store = await Store.open(path)
    try:
        assert await store.stream_position("default") is None
    finally:
        await store.close()
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT version FROM schema_version").fetchall() == [
        (SCHEMA_VERSION,)
    ]
    assert SCHEMA_VERSION == 3
    assert connection.execute("SELECT * FROM stream_positions").fetchall() == []
    assert connection.execute("SELECT * FROM responses ORDER BY 1, 2, 3").fetchall() == before
    connection.close()


async def test_a_stream_position_is_kept_per_room_across_a_reopen(tmp_path: Path) -> None:
    """The last position saved for each room is what a reopened store reads back."""
    path = tmp_path / "room.db"
    store = await Store.open(path)
    try:
        await store.save_stream_position("main-hall", "1700000000000-0")
        await store.save_stream_position("main-hall", "1700000000001-3")
        await store.save_stream_position("breakout", "5-0")
    finally:
        await store.close()
    store = await Store.open(path)
    try:
        assert await store.stream_position("main-hall") == "1700000000001-3"
        assert await store.stream_position("breakout") == "5-0"
        assert await store.stream_position("other") is None
    finally:
        await store.close()


async def test_a_group_larger_than_a_batch_commits_with_its_position_at_once(
    tmp_path: Path,
) -> None:
    """Writes queued in a group (more than MAX_BATCH) and the position: one transaction."""
    store = await Store.open(tmp_path / "room.db")
    try:
        record = await store.begin_session(a_deck("Big"), "new", 1_800_000_000.0)
        await store.flush()
        batches = store.committed_batches
        voters = store_module.MAX_BATCH + 500
        with store.group():
            for n in range(voters):
                store.save_response(record.id, "pick", f"voter-{n:06}", (n % 2,), 1.8e9 + n)
        await store.save_stream_position("default", "42-0")
        assert store.committed_batches == batches + 1, "never split, even past MAX_BATCH"
        # Outside a group, the same number of writes takes two transactions.
        for n in range(voters):
            store.save_response(record.id, "pick", f"other-{n:06}", (n % 2,), 1.8e9 + n)
        await store.flush()
        assert store.committed_batches == batches + 3
    finally:
        await store.close()


async def test_writes_queued_after_a_group_are_not_held_by_it(tmp_path: Path) -> None:
    """Leaving the group ends it: later writes are ordinary (a batch of their own size)."""
    store = await Store.open(tmp_path / "room.db")
    try:
        record = await store.begin_session(a_deck("Small"), "new", 1_800_000_000.0)
        with store.group():
            saved = store.save_response(record.id, "pick", "voter-a", (0,), 1.8e9)
        assert not store._grouping
        await asyncio.wait_for(saved, 10)
    finally:
        await store.close()
