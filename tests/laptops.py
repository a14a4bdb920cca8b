"""Databases as chairs' laptops write them: sessions with rooms, answers, Q&A, nicknames."""

from __future__ import annotations

import asyncio
import sqlite3
from hashlib import sha256
from pathlib import Path

from livepoll.deck import Deck, from_text
from livepoll.engine import QaItem
from livepoll.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DECK_TEXT = """title = "{title}"

[[questions]]
id = "pick"
type = "single"
prompt = "Pick one"
options = ["Yes", "No"]

[[questions]]
id = "ask"
type = "qa"
prompt = "Questions?"
"""


def a_deck(title: str) -> Deck:
    return from_text(DECK_TEXT.format(title=title), f"{title.lower()}.toml")


async def run_session(
    store: Store, deck: Deck, room: str | None, start: float, voters: int = 3
) -> int:
    """A session with answers, a Q&A question, an upvote, a nickname and an admission."""
    record = await store.begin_session(deck, "new", start, "code", room=room)
    keys = [sha256(f"{room}-{start}-{n}".encode()).hexdigest()[:32] for n in range(voters)]
    for n, key in enumerate(keys):
        await store.save_response(record.id, "pick", key, (n % 2,), start + 10 + n)
    await store.save_qa_item(record.id, "ask", QaItem(1, "Why?", keys[0], "visible", start + 20))
    await store.save_upvote(record.id, "ask", 1, keys[1], True, start + 21)
    await store.save_nickname(record.id, keys[0], "Ada")
    await store.save_admission(record.id, keys[1])
    await store.end_session(record.id, start + 100)
    return record.id


def laptop(path: Path, sessions: list[tuple[str | None, str, float]]) -> Path:
    """A database with these (room, deck title, start time) sessions, as a chair's
    laptop would have written them."""

    async def write() -> None:
        store = await Store.open(path)
        try:
            for room, title, start in sessions:
                await run_session(store, a_deck(title), room, start)
        finally:
            await store.close()

    asyncio.run(write())
    return path


def old_database(path: Path) -> Path:
    """A database as livepoll wrote it before rooms (schema 1), from the fixture's dump."""
    connection = sqlite3.connect(path)
    connection.executescript((FIXTURES / "schema-v1.sql").read_text())
    connection.close()
    return path
