"""Durable storage: one SQLite file in WAL mode, written by one task in group commits.

Why this shape:

* SQLite is both the embedded store and the analysis format: an organiser opens the
  file with ``sqlite3``, pandas or datasette.
* One writer task drains a queue and commits everything waiting in one transaction
  (group commit). A vote's future resolves only after its transaction committed, so
  the server acknowledges a vote only once it is durable, and the cost of a commit
  (an fsync) is shared by every vote that arrived meanwhile.
* ``synchronous=FULL``: a laptop's battery can die mid-session; an acknowledged vote
  must survive that, not only a crash of the process.
* Voters are stored as a keyed hash of their phone's token, never the token itself;
  exports go one step further and show a second, salted pseudonym.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from livepoll.deck import Deck
from livepoll.engine import (
    Answer,
    Event,
    QaItem,
    Status,
    StoredQaItem,
    StoredQuestionState,
    answer_from_json,
    answer_to_json,
)
from livepoll.files import PRIVATE_FILE_MODE, make_private_directory, tighten_private

SCHEMA_VERSION = 2
"""1: the first schema. 2: sessions record their room (NULL for a one-room server)."""
MAX_BATCH = 2000
"""Rows committed in one transaction at most; a burst larger than this takes several."""
COMMIT_LINGER = 0.008
"""When fewer than LINGER_BELOW writes wait, the writer waits this long for more
before committing (DESIGN: flushed every ≤10 ms or N rows). A commit costs about a
quarter of a millisecond of CPU (three hops to the database thread and an fsync);
without the wait, votes arriving at a few hundred or thousand a second each paid
for a commit of their own. See BENCHMARKS.md for what it saves."""
LINGER_BELOW = 32

RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0)
"""Back-off between failed commits; the last delay repeats until the disk recovers."""

_ANSWER_ENCODER = json.JSONEncoder(ensure_ascii=False)
"""Encodes answers as ``json.dumps(..., ensure_ascii=False)`` does, without building an
encoder for every vote."""

SessionMode = Literal["auto", "new", "resume"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    deck_title TEXT NOT NULL,
    deck_source TEXT NOT NULL,
    deck_fingerprint TEXT NOT NULL,
    deck_json TEXT NOT NULL,
    salt BLOB NOT NULL,
    join_mode TEXT NOT NULL DEFAULT 'open',
    started_at TEXT NOT NULL,
    ended_at TEXT,
    current_index INTEGER NOT NULL DEFAULT 0,
    room TEXT
);
CREATE TABLE IF NOT EXISTS questions (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    position INTEGER NOT NULL,
    question_id TEXT NOT NULL,
    type TEXT NOT NULL,
    prompt TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    results_shown INTEGER NOT NULL DEFAULT 0,
    opened_at REAL,
    deadline REAL,
    PRIMARY KEY (session_id, question_id)
);
CREATE TABLE IF NOT EXISTS responses (
    session_id INTEGER NOT NULL,
    question_id TEXT NOT NULL,
    voter TEXT NOT NULL,
    answer TEXT NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    changes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, question_id, voter),
    FOREIGN KEY (session_id, question_id) REFERENCES questions(session_id, question_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    question_id TEXT,
    detail TEXT NOT NULL DEFAULT '',
    phones INTEGER
);
CREATE INDEX IF NOT EXISTS events_by_session ON events(session_id, id);
CREATE TABLE IF NOT EXISTS qa_items (
    session_id INTEGER NOT NULL,
    question_id TEXT NOT NULL,
    item_id INTEGER NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    PRIMARY KEY (session_id, question_id, item_id),
    FOREIGN KEY (session_id, question_id) REFERENCES questions(session_id, question_id)
);
CREATE TABLE IF NOT EXISTS qa_votes (
    session_id INTEGER NOT NULL,
    question_id TEXT NOT NULL,
    item_id INTEGER NOT NULL,
    voter TEXT NOT NULL,
    voted_at TEXT NOT NULL,
    PRIMARY KEY (session_id, question_id, item_id, voter)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS voters (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    voter TEXT NOT NULL,
    nickname TEXT,
    admitted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, voter)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tickets (
    code_hash TEXT PRIMARY KEY,
    device TEXT,
    created_at TEXT NOT NULL,
    bound_at TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
"""

_MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE sessions ADD COLUMN room TEXT",),
}
"""What turns a database of the version before each key into that version, run in
order on open; the tables in _SCHEMA are always the latest version's."""

_VIEWS = """
CREATE VIEW IF NOT EXISTS responses_readable AS
SELECT r.session_id,
       s.deck_title AS deck,
       q.position + 1 AS position,
       r.question_id,
       q.prompt AS question,
       q.type,
       'v-' || substr(r.voter, 1, 12) AS voter,
       CASE WHEN json_type(r.answer) = 'array' THEN (
           SELECT group_concat(
               json_extract(q.spec_json, '$.options[' || a.value || ']'),
               CASE q.type WHEN 'ranking' THEN ' > ' ELSE '; ' END)
           FROM json_each(r.answer) AS a)
       ELSE json_extract(r.answer, '$') END AS answer,
       r.first_at AS first_answer_at,
       r.last_at AS last_answer_at,
       r.changes
FROM responses AS r
JOIN questions AS q ON q.session_id = r.session_id AND q.question_id = r.question_id
JOIN sessions AS s ON s.id = r.session_id;

CREATE VIEW IF NOT EXISTS question_results AS
SELECT session_id, position, question_id, question, type, option_index, option, votes,
       respondents,
       CASE WHEN respondents > 0 THEN round(100.0 * votes / respondents, 1) ELSE 0.0 END
           AS percent
FROM (
    SELECT q.session_id, q.position + 1 AS position, q.question_id, q.prompt AS question,
           q.type, o.key AS option_index, o.value AS option,
           (SELECT count(*) FROM responses AS r, json_each(r.answer) AS a
            WHERE r.session_id = q.session_id AND r.question_id = q.question_id
              AND a.value = o.key) AS votes,
           (SELECT count(*) FROM responses AS r
            WHERE r.session_id = q.session_id AND r.question_id = q.question_id) AS respondents
    FROM questions AS q, json_each(q.spec_json, '$.options') AS o
    WHERE q.type IN ('single', 'multi', 'quiz')
);

CREATE VIEW IF NOT EXISTS ranking_results AS
SELECT q.session_id, q.position + 1 AS position, q.question_id, q.prompt AS question,
       o.key AS option_index, o.value AS option,
       (SELECT coalesce(sum(json_array_length(r.answer) - 1 - a.key), 0)
        FROM responses AS r, json_each(r.answer) AS a
        WHERE r.session_id = q.session_id AND r.question_id = q.question_id
          AND a.value = o.key) AS borda,
       (SELECT count(*) FROM responses AS r
        WHERE r.session_id = q.session_id AND r.question_id = q.question_id
          AND json_extract(r.answer, '$[0]') = o.key) AS first_places
FROM questions AS q, json_each(q.spec_json, '$.options') AS o
WHERE q.type = 'ranking';

CREATE VIEW IF NOT EXISTS numeric_results AS
SELECT q.session_id, q.position + 1 AS position, q.question_id, q.prompt AS question, q.type,
       count(r.answer) AS answers,
       round(avg(json_extract(r.answer, '$')), 2) AS mean,
       min(json_extract(r.answer, '$')) AS lowest,
       max(json_extract(r.answer, '$')) AS highest
FROM questions AS q
LEFT JOIN responses AS r ON r.session_id = q.session_id AND r.question_id = q.question_id
WHERE q.type IN ('scale', 'number')
GROUP BY q.session_id, q.question_id;

CREATE VIEW IF NOT EXISTS qa_results AS
SELECT i.session_id, i.question_id, q.prompt AS question, i.item_id, i.text, i.state,
       'v-' || substr(i.author, 1, 12) AS voter, i.posted_at,
       (SELECT count(*) FROM qa_votes AS v
        WHERE v.session_id = i.session_id AND v.question_id = i.question_id
          AND v.item_id = i.item_id) AS upvotes
FROM qa_items AS i
JOIN questions AS q ON q.session_id = i.session_id AND q.question_id = i.question_id;
"""

_UPSERT_RESPONSE = """
INSERT INTO responses (session_id, question_id, voter, answer, first_at, last_at, changes)
VALUES (?, ?, ?, ?, ?, ?, 0)
ON CONFLICT (session_id, question_id, voter) DO UPDATE SET
    changes = responses.changes + (responses.answer != excluded.answer),
    last_at = CASE WHEN responses.answer = excluded.answer
                   THEN responses.last_at ELSE excluded.last_at END,
    answer = excluded.answer
"""
_INSERT_EVENT = """
INSERT INTO events (session_id, at, kind, question_id, detail, phones) VALUES (?, ?, ?, ?, ?, ?)
"""
_UPDATE_QUESTION = """
UPDATE questions SET status = ?, results_shown = ?, opened_at = ?, deadline = ?
WHERE session_id = ? AND question_id = ?
"""
_INSERT_QA_ITEM = """
INSERT OR IGNORE INTO qa_items
    (session_id, question_id, item_id, author, text, state, posted_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
_UPDATE_QA_ITEM = (
    "UPDATE qa_items SET state = ? WHERE session_id = ? AND question_id = ? AND item_id = ?"
)
_INSERT_QA_VOTE = "INSERT OR IGNORE INTO qa_votes VALUES (?, ?, ?, ?, ?)"
_DELETE_QA_VOTE = """
DELETE FROM qa_votes WHERE session_id = ? AND question_id = ? AND item_id = ? AND voter = ?
"""
_ADMIT_VOTER = """
INSERT INTO voters (session_id, voter, admitted) VALUES (?, ?, 1)
ON CONFLICT (session_id, voter) DO UPDATE SET admitted = 1
"""
_REVOKE_ADMISSIONS = "UPDATE voters SET admitted = 0 WHERE session_id = ? AND admitted = 1"
_BIND_TICKET = "UPDATE tickets SET device = ?, bound_at = ? WHERE code_hash = ? AND device IS NULL"
_UPSERT_NICKNAME = """
INSERT INTO voters (session_id, voter, nickname) VALUES (?, ?, ?)
ON CONFLICT (session_id, voter) DO UPDATE SET nickname = excluded.nickname
"""
_UPDATE_POSITION = "UPDATE sessions SET current_index = ? WHERE id = ?"


def absolute_path(path: str | Path) -> Path:
    """The absolute form of a user-given path (``~`` expanded), as shown to the chair."""
    return Path(path).expanduser().absolute()


def make_private_database(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it, or tighten an existing one.

    The file holds each session's salt and the database's secret. SQLite creates the
    ``-wal`` and ``-shm`` files with the mode of the database file, so creating it
    private first keeps them private too; ones left by an older version are tightened.
    """
    make_private_directory(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    for suffix in ("", "-wal", "-shm", "-journal"):
        tighten_private(path.with_name(path.name + suffix))


def epoch(stamp: str) -> float:
    """The inverse of :func:`iso_utc`."""
    return datetime.fromisoformat(stamp).timestamp()


def iso_utc(timestamp: float) -> str:
    """ISO 8601 in UTC with milliseconds, the one time format of the store and exports."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def voter_key(salt: bytes, token: str) -> str:
    """The stored identity of a phone: a keyed hash of its token, stable within a session."""
    return hashlib.blake2b(token.encode("utf-8"), key=salt[:64], digest_size=16).hexdigest()


TICKET_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/I/L: codes are read off a badge and typed on a phone."""
TICKET_LENGTH = 8


def new_ticket_code() -> str:
    """A random ticket code (about 39 bits: unguessable within a rate limit)."""
    return "".join(secrets.choice(TICKET_ALPHABET) for _ in range(TICKET_LENGTH))


def normalise_code(code: str) -> str:
    """A typed code as stored: capitals, without spaces or dashes."""
    return "".join(character for character in code.upper() if character.isalnum())


def keyed_hash(secret: bytes, value: str) -> str:
    """A hash of a ticket code or a device token, keyed with the database's secret."""
    return hashlib.blake2b(value.encode("utf-8"), key=secret, digest_size=16).hexdigest()


def pseudonym(voter: str) -> str:
    """The exported identity of a voter: a short prefix of the stored voter key.

    The key is already a hash of the phone's token keyed with the session's salt, so
    it is pseudonymous and stable within a session, and unrelated across sessions.
    The SQL views compute the same prefix, so exports and views always agree.
    """
    return "v-" + voter[:12]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A session as the server starts it: new, or resumed with its stored state."""

    id: int
    salt: bytes
    resumed: bool
    current_index: int
    statuses: dict[str, StoredQuestionState]
    answers: list[tuple[str, str, Any, float]]
    """(question id, voter key, answer as JSON, time of the latest answer)."""
    qa_items: list[StoredQaItem] = field(default_factory=list)
    nicknames: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One row of the sessions table, for exports and listings."""

    id: int
    deck: Deck
    started_at: str
    ended_at: str | None
    salt: bytes
    join_mode: str = "open"
    room: str | None = None
    """The event's room the session ran in; None for a one-room server's session."""


@dataclass(frozen=True, slots=True)
class ResponseRow:
    """One stored response, with the voter already turned into a pseudonym."""

    session_id: int
    question_id: str
    pseudonym: str
    answer: Answer
    first_at: str
    last_at: str


@dataclass(frozen=True, slots=True)
class EventRow:
    """One entry of a session's event log."""

    at: str
    kind: str
    question_id: str | None
    detail: str
    phones: int | None
    """Phones connected when it happened (for opened and closed: the turnout base)."""


@dataclass(frozen=True, slots=True)
class QaRow:
    """One posted Q&A question, with its author as a pseudonym and its upvote count."""

    session_id: int
    question_id: str
    item_id: int
    pseudonym: str
    text: str
    state: str
    posted_at: str
    votes: int


@dataclass(slots=True)
class _Write:
    sql: str
    params: tuple[Any, ...]
    done: asyncio.Future[None] | None


class StorageError(Exception):
    """The database cannot be used (wrong file, newer schema, unreadable)."""


class UnstorableValue(ValueError):
    """A value SQLite cannot bind (text that is not Unicode, an integer over 64 bits).

    Raised when the write is queued, so one bad value fails its own caller instead of
    the batch it would have joined (and, before, the writer task itself).
    """


def _check_storable(params: tuple[Any, ...]) -> None:
    for value in params:
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise UnstorableValue("text with a lone surrogate cannot be stored") from None
        elif isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise UnstorableValue("an integer over 64 bits cannot be stored")


class Store:
    """The session database. Create with :meth:`open`; close with :meth:`close`."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._queue: asyncio.Queue[_Write] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.problem: str | None = None
        """Why the last commit failed, or None while the disk is healthy."""
        self.on_problem_changed: Callable[[str | None], None] | None = None
        """Called when commits start failing or recover (the server tells the chair)."""
        self.committed_batches = 0
        self.schema_version = SCHEMA_VERSION
        """The file's schema: older only for a file opened read-only (never migrated)."""

    @classmethod
    async def open(cls, path: str | Path, *, read_only: bool = False) -> Store:
        """Open (creating if needed) the database at ``path`` and start its writer.

        A new database is created 0600 in a directory created 0700 if it is missing;
        an existing one readable by others is made private (see
        :func:`make_private_database`).

        With ``read_only`` (exports, reports) the file must already be a livepoll
        database; it is opened read-only and nothing is ever written to it.

        Raises:
            StorageError: the file is not a livepoll database or cannot be opened.
        """
        resolved = absolute_path(path)
        try:
            if read_only:
                connection = await aiosqlite.connect(
                    f"{resolved.as_uri()}?mode=ro", uri=True, isolation_level=None
                )
            else:
                make_private_database(resolved)
                connection = await aiosqlite.connect(resolved, isolation_level=None)
        except (sqlite3.Error, OSError) as error:
            raise StorageError(f"cannot open {resolved}: {error}") from None
        store = cls(connection, resolved)
        try:
            await store._prepare(read_only)
        except sqlite3.DatabaseError as error:
            await connection.close()
            raise StorageError(f"cannot use {resolved} as a livepoll database: {error}") from None
        except StorageError:
            await connection.close()
            raise
        if not read_only:
            store._writer = asyncio.create_task(store._write_forever(), name="livepoll-writer")
        return store

    async def _prepare(self, read_only: bool) -> None:
        db = self._db
        await db.execute("PRAGMA busy_timeout=5000")
        if not read_only:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=FULL")
            await db.execute("PRAGMA foreign_keys=ON")
        async with db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'"
        ) as cursor:
            has_version = await cursor.fetchone() is not None
        version = await self._version() if has_version else None
        if version is not None and version > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path} was written by a newer livepoll (schema {version}); upgrade"
            )
        if read_only:
            if not has_version:
                raise StorageError(f"{self.path} is not a livepoll database")
            self.schema_version = version or SCHEMA_VERSION
            return
        await db.execute("BEGIN IMMEDIATE")
        try:
            # Inside the transaction: another process may have migrated it meanwhile.
            version = await self._version() if has_version else None
            if version is not None:
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[step]:
                        await db.execute(statement)
            for statement in (_SCHEMA + _VIEWS).split(";\n"):
                if statement.strip():
                    await db.execute(statement)
            if version != SCHEMA_VERSION:
                await db.execute("DELETE FROM schema_version")
                await db.execute(
                    "INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,)
                )
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")

    async def _version(self) -> int | None:
        """The schema version the file records (None when it records none yet)."""
        async with self._db.execute("SELECT max(version) FROM schema_version") as cursor:
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    async def secret(self) -> bytes:
        """This database's own secret (made on first use): keys the hashes that bind
        tickets to devices, so neither codes nor tokens are stored in the clear."""
        async with self._db.execute("SELECT value FROM settings WHERE key = 'secret'") as cursor:
            row = await cursor.fetchone()
        if row is not None:
            return bytes(row[0])
        value = secrets.token_bytes(32)
        await self._db.execute(
            "INSERT OR IGNORE INTO settings (key, value) VALUES ('secret', ?)", (value,)
        )
        return await self.secret()

    async def create_tickets(self, count: int, now: float) -> list[str]:
        """Make ``count`` new single-use ticket codes; only their hashes are stored."""
        secret = await self.secret()
        codes = [new_ticket_code() for _ in range(count)]
        await self._db.execute("BEGIN IMMEDIATE")
        await self._db.executemany(
            "INSERT INTO tickets (code_hash, created_at) VALUES (?, ?)",
            [(keyed_hash(secret, code), iso_utc(now)) for code in codes],
        )
        await self._db.execute("COMMIT")
        return codes

    async def tickets(self) -> dict[str, str | None]:
        """Every ticket's hash and the device it is bound to (None while unused)."""
        async with self._db.execute("SELECT code_hash, device FROM tickets") as cursor:
            return {str(code): device async for code, device in cursor}

    async def admitted(self, session_id: int) -> set[str]:
        """Voters admitted to a session by its room code (they stay admitted)."""
        async with self._db.execute(
            "SELECT voter FROM voters WHERE session_id = ? AND admitted = 1", (session_id,)
        ) as cursor:
            return {str(voter) async for (voter,) in cursor}

    def save_admission(self, session_id: int, voter: str) -> asyncio.Future[None]:
        """Queue a voter's admission by room code; resolves once committed."""
        return self._durable(_ADMIT_VOTER, (session_id, voter))

    def revoke_admissions(self, session_id: int) -> None:
        """Queue revoking every room-code admission of a session (a rotation that
        re-admits everyone); admissions queued after it stand."""
        self._queue.put_nowait(_Write(_REVOKE_ADMISSIONS, (session_id,), None))

    def save_ticket_binding(self, code_hash: str, device: str, at: float) -> asyncio.Future[None]:
        """Queue a ticket's binding to a device; resolves once committed."""
        return self._durable(_BIND_TICKET, (device, iso_utc(at), code_hash))

    async def begin_session(
        self,
        deck: Deck,
        mode: SessionMode,
        now: float,
        join_mode: str = "open",
        room: str | None = None,
    ) -> SessionRecord:
        """Start a session for ``deck``, or resume a stored one.

        ``auto`` resumes the latest session of the same deck that did not end cleanly
        (the laptop crashed, the server was killed) and otherwise starts a new one;
        ``resume`` resumes the latest session of that deck even if it ended; ``new``
        always starts afresh. Only a session of the same ``room`` (an event's room id,
        None on a one-room server) is resumed: one deck may run in several rooms.
        """
        fingerprint = deck.fingerprint
        row = None
        if mode != "new":
            condition = "" if mode == "resume" else "AND ended_at IS NULL"
            async with self._db.execute(
                f"SELECT id, salt, current_index FROM sessions WHERE deck_fingerprint = ? "
                f"AND room IS ? {condition} ORDER BY id DESC LIMIT 1",
                (fingerprint, room),
            ) as cursor:
                row = await cursor.fetchone()
        if row is not None:
            session_id, salt, current_index = int(row[0]), bytes(row[1]), int(row[2])
            await self._db.execute(
                "UPDATE sessions SET ended_at = NULL WHERE id = ?", (session_id,)
            )
            record = SessionRecord(session_id, salt, True, current_index, {}, [])
            await self._load_state(record)
            await self._event(session_id, now, "resumed", None, "")
            return record

        salt = secrets.token_bytes(32)
        await self._db.execute("BEGIN IMMEDIATE")
        cursor = await self._db.execute(
            "INSERT INTO sessions (deck_title, deck_source, deck_fingerprint, deck_json, salt,"
            " started_at, join_mode, room) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                deck.title,
                deck.source,
                fingerprint,
                json.dumps(deck.to_dict(), ensure_ascii=False),
                salt,
                iso_utc(now),
                join_mode,
                room,
            ),
        )
        new_id = cursor.lastrowid
        assert new_id is not None
        await self._db.executemany(
            "INSERT INTO questions (session_id, position, question_id, type, prompt, spec_json)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    new_id,
                    position,
                    question.id,
                    question.type,
                    question.prompt,
                    json.dumps(question.to_dict(), ensure_ascii=False),
                )
                for position, question in enumerate(deck.questions)
            ],
        )
        await self._db.execute(
            _INSERT_EVENT, (new_id, iso_utc(now), "started", None, deck.source, None)
        )
        await self._db.execute("COMMIT")
        return SessionRecord(new_id, salt, False, 0, {}, [])

    async def _load_state(self, record: SessionRecord) -> None:
        """Read what the engine needs to resume ``record``'s session."""
        db, session_id = self._db, (record.id,)
        async with db.execute(
            "SELECT question_id, status, results_shown, opened_at, deadline"
            " FROM questions WHERE session_id = ?",
            session_id,
        ) as cursor:
            async for question_id, status, shown, opened_at, deadline in cursor:
                record.statuses[question_id] = StoredQuestionState(
                    Status(status), bool(shown), opened_at, deadline
                )
        # Oldest change first: replayed in this order, a text wall lists the latest
        # answers first again (the table's own order is by voter key, i.e. random).
        async with db.execute(
            "SELECT question_id, voter, answer, last_at FROM responses WHERE session_id = ?"
            " ORDER BY last_at, voter",
            session_id,
        ) as cursor:
            async for question_id, voter, answer, last_at in cursor:
                record.answers.append((question_id, voter, json.loads(answer), epoch(last_at)))
        voters: dict[tuple[str, int], list[str]] = {}
        async with db.execute(
            "SELECT question_id, item_id, voter FROM qa_votes WHERE session_id = ?", session_id
        ) as cursor:
            async for question_id, item_id, voter in cursor:
                voters.setdefault((question_id, item_id), []).append(voter)
        async with db.execute(
            "SELECT question_id, item_id, author, text, state, posted_at FROM qa_items"
            " WHERE session_id = ? ORDER BY item_id",
            session_id,
        ) as cursor:
            async for question_id, item_id, author, text, state, posted_at in cursor:
                record.qa_items.append(
                    StoredQaItem(
                        question_id,
                        item_id,
                        text,
                        author,
                        state,
                        epoch(posted_at),
                        tuple(voters.get((question_id, item_id), ())),
                    )
                )
        async with db.execute(
            "SELECT voter, nickname FROM voters WHERE session_id = ? AND nickname IS NOT NULL",
            session_id,
        ) as cursor:
            async for voter, nickname in cursor:
                record.nicknames[voter] = nickname

    async def _event(
        self, session_id: int, now: float, kind: str, question_id: str | None, detail: str
    ) -> None:
        await self._db.execute(
            _INSERT_EVENT, (session_id, iso_utc(now), kind, question_id, detail, None)
        )

    def _durable(self, sql: str, params: tuple[Any, ...]) -> asyncio.Future[None]:
        _check_storable(params)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Write(sql, params, done))
        return done

    def save_response(
        self, session_id: int, question_id: str, voter: str, answer: Answer, at: float
    ) -> asyncio.Future[None]:
        """Queue a response; the returned future resolves once it is committed."""
        stamp = iso_utc(at)
        value = _ANSWER_ENCODER.encode(answer_to_json(answer))
        return self._durable(
            _UPSERT_RESPONSE, (session_id, question_id, voter, value, stamp, stamp)
        )

    def save_qa_item(self, session_id: int, question_id: str, item: QaItem) -> asyncio.Future[None]:
        """Queue a posted Q&A question; resolves once committed."""
        params = (
            session_id,
            question_id,
            item.id,
            item.author,
            item.text,
            item.state,
            iso_utc(item.at),
        )
        return self._durable(_INSERT_QA_ITEM, params)

    def save_upvote(
        self, session_id: int, question_id: str, item_id: int, voter: str, up: bool, at: float
    ) -> asyncio.Future[None]:
        """Queue an upvote (or its withdrawal); resolves once committed."""
        if up:
            return self._durable(
                _INSERT_QA_VOTE, (session_id, question_id, item_id, voter, iso_utc(at))
            )
        return self._durable(_DELETE_QA_VOTE, (session_id, question_id, item_id, voter))

    def save_nickname(self, session_id: int, voter: str, name: str) -> asyncio.Future[None]:
        """Queue a phone's quiz nickname; resolves once committed."""
        return self._durable(_UPSERT_NICKNAME, (session_id, voter, name))

    def save_events(
        self,
        session_id: int,
        events: Sequence[Event],
        *,
        current_index: int,
        question_states: Sequence[tuple[str, StoredQuestionState]],
        qa_states: Sequence[tuple[str, int, str]] = (),
        phones: int | None = None,
    ) -> None:
        """Queue state changes: the event log rows and the state needed to resume.

        ``phones`` (connected at the time) is kept with each event, so reports can
        give turnout: answers out of the phones in the room when voting was open.
        """
        for event in events:
            self._queue.put_nowait(
                _Write(
                    _INSERT_EVENT,
                    (
                        session_id,
                        iso_utc(event.at),
                        event.kind.value,
                        event.question_id,
                        event.detail,
                        phones,
                    ),
                    None,
                )
            )
        for question_id, stored in question_states:
            params = (
                stored.status.value,
                int(stored.results_shown),
                stored.opened_at,
                stored.deadline,
                session_id,
                question_id,
            )
            self._queue.put_nowait(_Write(_UPDATE_QUESTION, params, None))
        for question_id, item_id, state in qa_states:
            params2 = (state, session_id, question_id, item_id)
            self._queue.put_nowait(_Write(_UPDATE_QA_ITEM, params2, None))
        self._queue.put_nowait(_Write(_UPDATE_POSITION, (current_index, session_id), None))

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Write("", (), done))
        await done

    async def room_sessions(self, room: str) -> list[tuple[int, bool]]:
        """An event room's sessions, oldest first, each with whether it ended: where the
        room is in its programme when the event server starts again."""
        async with self._db.execute(
            "SELECT id, ended_at IS NOT NULL FROM sessions WHERE room = ? ORDER BY id", (room,)
        ) as cursor:
            return [(int(row[0]), bool(row[1])) async for row in cursor]

    async def end_session(self, session_id: int, now: float) -> None:
        """Mark a session as ended cleanly; a later start then begins a new one."""
        stamp = iso_utc(now)
        self._queue.put_nowait(
            _Write("UPDATE sessions SET ended_at = ? WHERE id = ?", (stamp, session_id), None)
        )
        self._queue.put_nowait(
            _Write(_INSERT_EVENT, (session_id, stamp, "ended", None, "", None), None)
        )
        await self.flush()

    async def close(self) -> None:
        """Commit what is queued, stop the writer and close the file."""
        if self._writer is not None:
            await self.flush()
            self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                pass
            self._writer = None
        await self._db.close()

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self._queue.qsize() < LINGER_BELOW:
                await asyncio.sleep(COMMIT_LINGER)
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            await self._commit_with_retry(batch)

    async def _commit_with_retry(self, batch: list[_Write]) -> None:
        attempt = 0
        while True:
            try:
                await self._commit(batch)
            except Exception as error:
                # Not only sqlite3.Error: any exception escaping here would end the
                # writer task silently, and no vote would ever be acknowledged again.
                # Failing loudly and retrying keeps the chair and the phones told.
                try:
                    await self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                self._set_problem(f"cannot save to {self.path.name}: {error}")
                await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
                attempt += 1
                continue
            self._set_problem(None)
            self.committed_batches += 1
            for write in batch:
                if write.done is not None and not write.done.done():
                    write.done.set_result(None)
            return

    async def _commit(self, batch: list[_Write]) -> None:
        db = self._db
        await db.execute("BEGIN IMMEDIATE")
        # Consecutive writes of one kind go in one executemany: a burst of votes costs a
        # single call into the database thread rather than one per vote.
        start = 0
        while start < len(batch):
            sql = batch[start].sql
            end = start
            while end < len(batch) and batch[end].sql == sql:
                end += 1
            if sql:
                await db.executemany(sql, [write.params for write in batch[start:end]])
            start = end
        await db.execute("COMMIT")

    def _set_problem(self, problem: str | None) -> None:
        if problem != self.problem:
            self.problem = problem
            if self.on_problem_changed is not None:
                self.on_problem_changed(problem)

    async def sessions(self) -> list[SessionSummary]:
        """Every session in the database, oldest first."""
        summaries = []
        # A file of schema 1 opened read-only (an export of an old file) has no rooms.
        room = "room" if self.schema_version >= 2 else "NULL"  # noqa: S608
        async with self._db.execute(
            "SELECT id, deck_json, deck_source, started_at, ended_at, salt, join_mode,"
            f" {room} FROM sessions ORDER BY id"
        ) as cursor:
            async for row in cursor:
                session_id, deck_json, source, started, ended, salt, join_mode, room_id = row
                deck = Deck.from_dict(json.loads(deck_json), source=source)
                summaries.append(
                    SessionSummary(
                        int(session_id), deck, started, ended, bytes(salt), join_mode, room_id
                    )
                )
        return summaries

    async def responses(self, session: SessionSummary) -> list[ResponseRow]:
        """The responses of one session in deck order, then by first answer time."""
        rows = []
        questions = {question.id: question for question in session.deck.questions}
        async with self._db.execute(
            "SELECT r.question_id, r.voter, r.answer, r.first_at, r.last_at"
            " FROM responses AS r JOIN questions AS q"
            " ON q.session_id = r.session_id AND q.question_id = r.question_id"
            " WHERE r.session_id = ? ORDER BY q.position, r.first_at, r.voter",
            (session.id,),
        ) as cursor:
            async for question_id, voter, answer, first_at, last_at in cursor:
                rows.append(
                    ResponseRow(
                        session.id,
                        question_id,
                        pseudonym(voter),
                        answer_from_json(questions[question_id], json.loads(answer)),
                        first_at,
                        last_at,
                    )
                )
        return rows

    async def load(self, session: SessionSummary) -> SessionRecord:
        """Everything stored about a session, in the form the engine restores from."""
        async with self._db.execute(
            "SELECT current_index FROM sessions WHERE id = ?", (session.id,)
        ) as cursor:
            row = await cursor.fetchone()
        current_index = int(row[0]) if row else 0
        record = SessionRecord(session.id, session.salt, True, current_index, {}, [])
        await self._load_state(record)
        return record

    async def question_statuses(self, session_id: int) -> dict[str, str]:
        """Each question's last status in a session (pending, open or closed)."""
        async with self._db.execute(
            "SELECT question_id, status FROM questions WHERE session_id = ?", (session_id,)
        ) as cursor:
            return {str(question_id): str(status) async for question_id, status in cursor}

    async def events(self, session_id: int) -> list[EventRow]:
        """The session's event log, in order."""
        async with self._db.execute(
            "SELECT at, kind, question_id, detail, phones FROM events"
            " WHERE session_id = ? ORDER BY id",
            (session_id,),
        ) as cursor:
            return [EventRow(*row) async for row in cursor]

    async def qa_items(self, session: SessionSummary) -> list[QaRow]:
        """The Q&A questions of one session with their upvote counts, in posting order."""
        rows = []
        async with self._db.execute(
            "SELECT i.question_id, i.item_id, i.author, i.text, i.state, i.posted_at,"
            " (SELECT count(*) FROM qa_votes AS v WHERE v.session_id = i.session_id"
            "  AND v.question_id = i.question_id AND v.item_id = i.item_id)"
            " FROM qa_items AS i WHERE i.session_id = ? ORDER BY i.question_id, i.item_id",
            (session.id,),
        ) as cursor:
            async for question_id, item_id, author, text, state, posted_at, votes in cursor:
                rows.append(
                    QaRow(
                        session.id,
                        question_id,
                        int(item_id),
                        pseudonym(author),
                        text,
                        state,
                        posted_at,
                        int(votes),
                    )
                )
        return rows

    async def nicknames(self, session: SessionSummary) -> dict[str, str]:
        """Quiz nicknames by pseudonym: chosen by attendees to be shown publicly."""
        async with self._db.execute(
            "SELECT voter, nickname FROM voters WHERE session_id = ? AND nickname IS NOT NULL",
            (session.id,),
        ) as cursor:
            return {pseudonym(voter): name async for voter, name in cursor}

    async def session_counts(self, session_id: int) -> tuple[int, int, int]:
        """Questions asked (opened at least once), answers (responses and Q&A
        questions) and distinct voters of a session."""
        async with self._db.execute(
            "SELECT (SELECT count(*) FROM questions WHERE session_id = :s AND status != 'pending'),"
            " (SELECT count(*) FROM responses WHERE session_id = :s)"
            " + (SELECT count(*) FROM qa_items WHERE session_id = :s),"
            " (SELECT count(*) FROM (SELECT voter FROM responses WHERE session_id = :s"
            "  UNION SELECT author FROM qa_items WHERE session_id = :s"
            "  UNION SELECT voter FROM qa_votes WHERE session_id = :s))",
            {"s": session_id},
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    async def purge_counts(self, session_ids: Sequence[int]) -> dict[str, int]:
        """How many rows of each kind deleting these sessions would delete."""
        counts: dict[str, int] = {}
        marks = ",".join("?" * len(session_ids))
        for table in _PURGED_TABLES:
            async with self._db.execute(
                f"SELECT count(*) FROM {table} WHERE session_id IN ({marks})",  # noqa: S608
                tuple(session_ids),
            ) as cursor:
                row = await cursor.fetchone()
            counts[table] = int(row[0]) if row else 0
        return counts

    async def tickets_before(self, cutoff: str) -> int:
        """Tickets made before ``cutoff`` (an ISO time), bound or not."""
        async with self._db.execute(
            "SELECT count(*) FROM tickets WHERE created_at < ?", (cutoff,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def purge(self, session_ids: Sequence[int], tickets_before: str | None = None) -> None:
        """Delete these sessions and everything tied to them, then rewrite the file.

        Deleting rows only marks their pages free: the answers would still be in the
        file's bytes. ``VACUUM`` rebuilds the file from the rows that remain, and the
        checkpoint then empties the write-ahead log, which holds copies of pages too.

        Args:
            session_ids: the sessions to delete.
            tickets_before: also delete tickets made before this ISO time.
        """
        await self.flush()
        marks = ",".join("?" * len(session_ids))
        db = self._db
        # Zero deleted content as it goes, whatever this SQLite build's default (Debian's
        # is on, others' off): the rows are then gone even from the free pages.
        await db.execute("PRAGMA secure_delete=ON")
        await db.execute("BEGIN IMMEDIATE")
        try:
            for table in (*_PURGED_TABLES, "sessions"):
                column = "id" if table == "sessions" else "session_id"
                await db.execute(
                    f"DELETE FROM {table} WHERE {column} IN ({marks})",  # noqa: S608
                    tuple(session_ids),
                )
            if tickets_before is not None:
                await db.execute("DELETE FROM tickets WHERE created_at < ?", (tickets_before,))
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
        await db.execute("VACUUM")
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


_PURGED_TABLES = ("qa_votes", "qa_items", "responses", "events", "voters", "questions")
"""Tables keyed by session, children before parents (the foreign keys are enforced)."""
