"""Retention: delete past sessions for good, as an organiser's privacy notice promises.

A livepoll database keeps every answer until someone deletes it. ``livepoll purge``
picks sessions by age or id, says exactly what it will delete, asks, deletes every
row tied to them and rewrites the file (``VACUUM``), so the answers are gone from the
file's bytes and not merely unlinked from its index.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from livepoll.store import SessionSummary, Store, iso_utc

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")

_TABLE_NAMES = {
    "responses": "answer",
    "qa_items": "Q&A question",
    "qa_votes": "Q&A upvote",
    "events": "log event",
    "voters": "phone record (nickname, room-code admission)",
    "questions": "question record",
}


class PurgeError(Exception):
    """A purge that cannot go ahead; the message says why and what to do."""


def parse_cutoff(text: str) -> datetime:
    """``--before``: a date (midnight UTC starting it) or an ISO 8601 time (UTC if no zone).

    Raises:
        PurgeError: not a date or time.
    """
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise PurgeError(
            f"--before {text!r} is not a date: write YYYY-MM-DD (or YYYY-MM-DDTHH:MM)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def age(started_at: str, now: datetime) -> str:
    """How long ago a session started, in the largest whole unit: "3 d", "5 h", "12 min"."""
    seconds = max(0.0, (now - datetime.fromisoformat(started_at)).total_seconds())
    if seconds >= 86400:
        return f"{int(seconds // 86400)} d"
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 60)} min"


@dataclass(frozen=True, slots=True)
class Plan:
    """What a purge will delete."""

    sessions: tuple[SessionSummary, ...]
    counts: dict[str, int]
    tickets_before: str | None
    """Tickets made before this time go too (a purge by date), or None."""
    tickets: int
    skipped: tuple[SessionSummary, ...]
    """Sessions that match but have not ended: a server may still be running them."""

    def describe(self, now: datetime) -> list[str]:
        """The lines shown before asking."""
        lines: list[str] = []
        for session in self.sessions:
            lines.append(
                f"  session {session.id}: {session.deck.title} "
                f"(started {session.started_at[:16].replace('T', ' ')} UTC, "
                f"{age(session.started_at, now)} ago)"
            )
        if self.sessions:
            lines.insert(0, f"{_plural(len(self.sessions), 'session')} to delete:")
            details = [
                _plural(self.counts.get(table, 0), name)
                for table, name in _TABLE_NAMES.items()
                if self.counts.get(table, 0)
            ]
            if details:
                lines.append(f"with {', '.join(details)}")
        else:
            lines.append("No session matches: nothing to delete.")
        if self.tickets:
            lines.append(f"and {_plural(self.tickets, 'ticket')} made before the cutoff")
        for session in self.skipped:
            lines.append(
                f"kept: session {session.id} has not ended (a server may be running it); "
                f"stop it first, or pass --unfinished to delete it anyway"
            )
        return lines

    @property
    def empty(self) -> bool:
        """True when there is nothing to delete."""
        return not self.sessions and not self.tickets


def _plural(count: int, noun: str) -> str:
    """``3 answers``; a parenthesis after the noun stays where it is."""
    if count == 1:
        return f"1 {noun}"
    head, _, tail = noun.partition(" (")
    return f"{count} {head}s" + (f" ({tail}" if tail else "")


async def make_plan(
    store: Store,
    *,
    before: datetime | None,
    session_ids: Sequence[int] = (),
    unfinished: bool = False,
) -> Plan:
    """Choose the sessions to delete: started before ``before``, or with these ids.

    Raises:
        PurgeError: an id that is not in the database.
    """
    every = await store.sessions()
    if session_ids:
        known = {session.id: session for session in every}
        missing = [str(number) for number in session_ids if number not in known]
        if missing:
            raise PurgeError(
                f"no session {', '.join(missing)} in {store.path} (see livepoll sessions)"
            )
        chosen = [known[number] for number in dict.fromkeys(session_ids)]
    else:
        assert before is not None
        chosen = [s for s in every if datetime.fromisoformat(s.started_at) < before]
    skipped = tuple(s for s in chosen if s.ended_at is None and not unfinished)
    sessions = tuple(s for s in chosen if s not in skipped)
    counts = await store.purge_counts([s.id for s in sessions]) if sessions else {}
    tickets_before = iso_utc(before.timestamp()) if before is not None else None
    tickets = await store.tickets_before(tickets_before) if tickets_before else 0
    return Plan(sessions, counts, tickets_before, tickets, skipped)


async def purge(
    database: Path,
    *,
    before: datetime | None,
    session_ids: Sequence[int],
    unfinished: bool,
    dry_run: bool,
    confirm: Callable[[], bool],
    say: Callable[[str], None],
    now: datetime,
) -> int:
    """Plan, show, ask, delete and rewrite the file; returns the exit code.

    Raises:
        PurgeError: the purge cannot go ahead.
        livepoll.store.StorageError: the file is not a livepoll database.
    """
    store = await Store.open(database, read_only=True)
    try:
        plan = await make_plan(store, before=before, session_ids=session_ids, unfinished=unfinished)
    finally:
        await store.close()
    for line in plan.describe(now):
        say(line)
    if plan.empty or dry_run:
        if dry_run and not plan.empty:
            say("Dry run: nothing was deleted.")
        return 0
    if not confirm():
        say("Nothing was deleted.")
        return 1
    store = await Store.open(database)
    try:
        await store.purge([s.id for s in plan.sessions], plan.tickets_before)
    finally:
        await store.close()
    size = (await asyncio.to_thread(database.stat)).st_size
    say(f"Deleted, and {database} rewritten without them ({size:,} bytes now).")
    return 0


def cutoff_for(before: str | None, keep_days: int | None, now: datetime) -> datetime | None:
    """The cutoff time from ``--before`` or ``--keep-days``, or None for ``--session``.

    Raises:
        PurgeError: a bad date or a negative number of days.
    """
    if before is not None:
        return parse_cutoff(before)
    if keep_days is not None:
        if keep_days < 0:
            raise PurgeError("--keep-days must be 0 or more")
        return now - timedelta(days=keep_days)
    return None
