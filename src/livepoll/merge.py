"""One event database from several: ``livepoll merge A.db B.db --output event.db``.

When each chair ran a room from their own laptop, the organiser still wants one file
for the event: one export, one report. A merge copies every session with all that
hangs off it (questions, answers, the event log, Q&A questions and upvotes,
nicknames and room-code admissions) into the output, under new session ids.

Why it works this way:

* A session is recognised by what no other session shares: its random salt, with
  its start time and deck fingerprint. One already in the output is skipped, so
  merging the same file twice, or a file and a copy of it, adds nothing. Only when
  the input's copy got further (merged at lunch while the room still ran, merged
  again at the end) does it replace the output's, whole, under the same id.
* Voters are stored as keys already hashed with their session's salt, and the salt
  travels with its session: pseudonyms in the merged exports are the ones each
  laptop's exports showed.
* Tickets and the database's secret stay behind. A ticket is stored as a hash keyed
  with its own database's secret, so it means nothing in another file, and it
  admits phones to a server, not to a result.
* Inputs are opened read-only and checked before the output is touched; a file of a
  newer schema, or one that is not a livepoll database, is refused by name. The
  output is created private (0600) like any database livepoll writes, and each input
  is copied in one transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livepoll.store import SCHEMA_VERSION, Store, absolute_path

_SESSION_COLUMNS = (
    "deck_title, deck_source, deck_fingerprint, deck_json, salt, join_mode, started_at,"
    " ended_at, current_index"
)
_CHILD_COPIES = (
    "INSERT INTO main.questions (session_id, position, question_id, type, prompt, spec_json,"
    " status, results_shown, opened_at, deadline)"
    " SELECT ?, position, question_id, type, prompt, spec_json, status, results_shown,"
    " opened_at, deadline FROM source.questions WHERE session_id = ? ORDER BY position",
    "INSERT INTO main.responses (session_id, question_id, voter, answer, first_at, last_at,"
    " changes) SELECT ?, question_id, voter, answer, first_at, last_at, changes"
    " FROM source.responses WHERE session_id = ?",
    "INSERT INTO main.events (session_id, at, kind, question_id, detail, phones)"
    " SELECT ?, at, kind, question_id, detail, phones FROM source.events"
    " WHERE session_id = ? ORDER BY id",
    "INSERT INTO main.qa_items (session_id, question_id, item_id, author, text, state,"
    " posted_at) SELECT ?, question_id, item_id, author, text, state, posted_at"
    " FROM source.qa_items WHERE session_id = ?",
    "INSERT INTO main.qa_votes (session_id, question_id, item_id, voter, voted_at)"
    " SELECT ?, question_id, item_id, voter, voted_at FROM source.qa_votes"
    " WHERE session_id = ?",
    "INSERT INTO main.voters (session_id, voter, nickname, admitted)"
    " SELECT ?, voter, nickname, admitted FROM source.voters WHERE session_id = ?",
)
"""Everything tied to a session, parents first (the foreign keys are enforced)."""


class MergeError(Exception):
    """The merge cannot be made; nothing was written for the input it names."""


@dataclass(frozen=True, slots=True)
class MergedFile:
    """What a merge did with one input file."""

    path: Path
    copied: int
    """Sessions copied into the output."""
    present: int
    """Sessions skipped because the output already had them, as far on or further."""
    updated: int = 0
    """Sessions the output had from an earlier merge, replaced by this file's later copy."""


def input_version(path: Path) -> int:
    """The schema version of the livepoll database at ``path``, opened read-only.

    Raises:
        MergeError: the file is missing, is not a livepoll database, or was written
            by a newer livepoll than this one.
    """
    if not path.is_file():
        raise MergeError(f"no database at {path}")
    try:
        connection = sqlite3.connect(f"{absolute_path(path).as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise MergeError(f"cannot open {path}: {error}") from None
    try:
        row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
    except sqlite3.DatabaseError:
        raise MergeError(f"{path} is not a livepoll database") from None
    finally:
        connection.close()
    version = row[0] if row else None
    if not isinstance(version, int):
        raise MergeError(f"{path} is not a livepoll database (it records no schema version)")
    if version > SCHEMA_VERSION:
        raise MergeError(
            f"{path} has schema version {version}, newer than this livepoll's "
            f"{SCHEMA_VERSION}: merge it with the newer livepoll that wrote it"
        )
    return version


async def merge(inputs: list[Path], output: Path) -> list[MergedFile]:
    """Copy every session of ``inputs`` into ``output`` (created if missing), once.

    Raises:
        MergeError: an input cannot be merged (checked for all before writing), or
            is the output itself.
        StorageError: the output cannot be opened as a livepoll database.
    """
    versions = [input_version(path) for path in inputs]
    target = absolute_path(output)
    for path in inputs:
        if target.exists() and absolute_path(path).samefile(target):
            raise MergeError(f"{path} is the output; name a new file with --output")
    if target.exists():
        input_version(target)  # an existing output must be a livepoll database already
    # Created (0600, with the current schema) or migrated by the store, then closed.
    store = await Store.open(target)
    await store.close()
    connection = sqlite3.connect(target, uri=True, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA busy_timeout=5000")
        return [
            _merge_one(connection, path, version)
            for path, version in zip(inputs, versions, strict=True)
        ]
    finally:
        connection.close()


def _merge_one(connection: sqlite3.Connection, path: Path, version: int) -> MergedFile:
    """Copy one input's new sessions in one transaction."""
    uri = f"{absolute_path(path).as_uri()}?mode=ro"
    try:
        connection.execute("ATTACH DATABASE ? AS source", (uri,))
    except sqlite3.Error as error:
        raise MergeError(f"cannot open {path}: {error}") from None
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            copied, present, updated = _copy_sessions(connection, version)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    except sqlite3.Error as error:
        raise MergeError(f"cannot merge {path}: {error}") from None
    finally:
        connection.execute("DETACH DATABASE source")
    return MergedFile(path, copied, present, updated)


def _copy_sessions(connection: sqlite3.Connection, version: int) -> tuple[int, int, int]:
    """Copy the attached input's sessions: (copied, already there, updated)."""
    # Schema 1 had no rooms: its sessions were one-room sessions.
    room = "room" if version >= 2 else "NULL"
    sessions = connection.execute(
        f"SELECT id, {_SESSION_COLUMNS}, {room} FROM source.sessions ORDER BY id"  # noqa: S608
    ).fetchall()
    copied = present = updated = 0
    for old_id, *values in sessions:
        salt, started_at, fingerprint = values[4], values[6], values[2]
        known = connection.execute(
            "SELECT id FROM main.sessions WHERE salt = ? AND started_at = ?"
            " AND deck_fingerprint = ?",
            (salt, started_at, fingerprint),
        ).fetchone()
        if known is not None:
            new_id = int(known[0])
            if _progress(connection, "source", old_id) <= _progress(connection, "main", new_id):
                present += 1
                continue
            # The input went on after an earlier merge: its copy replaces the stale one.
            for table in _CHILD_TABLES:
                connection.execute(
                    f"DELETE FROM main.{table} WHERE session_id = ?",  # noqa: S608
                    (new_id,),
                )
            connection.execute(
                "UPDATE main.sessions SET ended_at = ?, current_index = ? WHERE id = ?",
                (values[7], values[8], new_id),
            )
            updated += 1
        else:
            cursor = connection.execute(
                f"INSERT INTO main.sessions ({_SESSION_COLUMNS}, room)"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            assert cursor.lastrowid is not None
            new_id = cursor.lastrowid
            copied += 1
        for statement in _CHILD_COPIES:
            connection.execute(statement, (new_id, old_id))
    return copied, present, updated


_CHILD_TABLES = ("qa_votes", "qa_items", "responses", "events", "voters", "questions")
"""Tables keyed by session, children before parents (the foreign keys are enforced)."""


def _progress(connection: sqlite3.Connection, schema: str, session_id: int) -> tuple[Any, ...]:
    """How far a copy of a session got: its log only grows (every state change, end
    and resume adds an entry), then its rows, then its latest answer. A session merged
    while it still ran has less of each than the laptop's later copy."""
    row = connection.execute(
        f"SELECT (SELECT count(*) FROM {schema}.events WHERE session_id = :s),"  # noqa: S608
        f" (SELECT count(*) FROM {schema}.responses WHERE session_id = :s)"
        f" + (SELECT count(*) FROM {schema}.qa_items WHERE session_id = :s)"
        f" + (SELECT count(*) FROM {schema}.qa_votes WHERE session_id = :s)"
        f" + (SELECT count(*) FROM {schema}.voters WHERE session_id = :s),"
        f" (SELECT coalesce(max(last_at), '') FROM {schema}.responses WHERE session_id = :s)",
        {"s": session_id},
    ).fetchone()
    return tuple(row)
