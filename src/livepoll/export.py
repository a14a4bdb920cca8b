"""Exports for organisers: every answer, timestamped and pseudonymous.

CSV has one row per response, readable in any spreadsheet; JSON nests sessions,
questions with their option counts, the responses and the event log, for scripts.
Both read the database through the store, never the server, so they work on a
copied ``.db`` file long after the session.

Two rules protect attendees from the file itself:

* Every text cell of the CSV goes through :func:`livepoll.spreadsheet.neutralise`:
  attendees choose what it says, and a spreadsheet would run a cell starting with
  ``=`` as a formula. The JSON keeps the raw text, for scripts.
* Quiz points are a function of answer time, and the leaderboard (nickname and
  points) was on the projector. So in a session where anyone chose a nickname, quiz
  answers are exported unlinked: no voter pseudonym, times cut to the minute, in an
  order that follows only what is exported. Otherwise a nickname's points would give
  its answer time, that time its pseudonym, and the pseudonym every other answer.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from livepoll import __version__
from livepoll.crosstabs import Pair, check_pairs, tables
from livepoll.deck import Question
from livepoll.engine import MIN_SEGMENT, Answer, Session, answer_to_json
from livepoll.event import Event, Room
from livepoll.spreadsheet import neutralise
from livepoll.store import ResponseRow, SessionSummary, StorageError, Store, iso_utc
from livepoll.words import Guard

CSV_COLUMNS = (
    "session",
    "room",
    "deck",
    "question_id",
    "question",
    "type",
    "voter",
    "answer",
    "first_answer_at",
    "last_answer_at",
    "detail",
)
CSV_CROSSTAB_REFUSAL = (
    "--crosstab makes tables, and the CSV is one table of answers: use --format xlsx or "
    "json, or livepoll report (the CSV's voter column already links one person's answers "
    "in a session, for a pivot table of your own)"
)
"""Why the CSV refuses ``--crosstab`` rather than ignoring it or bolting a second
table onto the file: an organiser who asks for a cross-tab wants the split table,
with its bases and small segments held back, which the workbook, the JSON and the
report all give; a CSV with two tables in it breaks every tool that reads CSV."""
EVENT_REFUSAL = (
    "--event names the rooms of the event overview, which the report and the JSON "
    "export have and the CSV and the workbook do not: use --format json, or livepoll report"
)
MULTI_SEPARATOR = "; "
RANK_SEPARATOR = " > "


class ExportError(Exception):
    """The export cannot be made (no such session, unreadable database)."""


@dataclass(frozen=True, slots=True)
class SessionFigures:
    """One session's line of an event's overview: the figures ``livepoll sessions``
    lists, and the most phones connected while a question was open or closed."""

    session: SessionSummary
    asked: int
    answers: int
    voters: int
    most_phones: int | None


@dataclass(frozen=True, slots=True)
class RoomFigures:
    """One room's sessions in an event's overview, oldest first, with its totals.

    Voters are not added up: a phone has a different pseudonym in each session (the
    salt is per session), so nobody can tell how many people voted in two sessions.
    The room's figure is its busiest session's voters, which is what it can honestly
    say.
    """

    room: str | None
    """The room's id; None gathers the sessions a one-room server ran."""
    sessions: tuple[SessionFigures, ...]
    name: str | None = None
    """The room's name, when the event file is at hand (the database keeps ids only)."""

    @property
    def asked(self) -> int:
        """Questions asked in all of the room's sessions."""
        return sum(line.asked for line in self.sessions)

    @property
    def answers(self) -> int:
        """Answers (and Q&A questions posted) in all of the room's sessions."""
        return sum(line.answers for line in self.sessions)

    @property
    def most_voters(self) -> int:
        """Distinct voters of the room's busiest session."""
        return max((line.voters for line in self.sessions), default=0)

    @property
    def started_at(self) -> str:
        """When the room's first session started."""
        return min(line.session.started_at for line in self.sessions)

    @property
    def ended_at(self) -> str | None:
        """When the room's last session ended; None while one has not ended."""
        ends = [line.session.ended_at for line in self.sessions]
        return None if None in ends else max(end for end in ends if end is not None)


async def event_overview(store: Store, sessions: list[SessionSummary]) -> list[RoomFigures]:
    """The chosen sessions gathered by room, rooms in the order their first session
    started; empty when no session ran in an event's room, so that a one-room
    laptop's report and export stay as they were."""
    if all(session.room is None for session in sessions):
        return []
    rooms: dict[str | None, list[SessionFigures]] = {}
    for session in sessions:
        asked, answers, voters = await store.session_counts(session.id)
        phones = [
            event.phones for event in await store.events(session.id) if event.phones is not None
        ]
        rooms.setdefault(session.room, []).append(
            SessionFigures(session, asked, answers, voters, max(phones, default=None))
        )
    return [RoomFigures(room, tuple(lines)) for room, lines in rooms.items()]


def in_event_order(
    rooms: list[RoomFigures], event: Event, database: Path
) -> tuple[list[RoomFigures], list[Room]]:
    """The overview's rooms named and in the order of ``event`` (rooms it does not
    list, from a merged laptop, follow by id), and its rooms that have no session
    among them.

    Raises:
        ExportError: no chosen session ran in any of the event's rooms: the wrong
            event file, or the wrong database.
    """
    names = {room.id: room.name for room in event.rooms}
    found = {figures.room for figures in rooms}
    if not found & set(names):
        there = ", ".join(sorted(r for r in found if r is not None))
        ran = f"rooms: {there}" if there else "its sessions have no rooms"
        raise ExportError(
            f"{event.source} names none of the rooms of the sessions in {database} ({ran})"
        )
    order = {room_id: position for position, room_id in enumerate(names)}
    named = [
        dataclasses.replace(figures, name=names.get(figures.room or ""))
        for figures in sorted(rooms, key=lambda f: order.get(f.room or "", len(order)))
    ]
    return named, [room for room in event.rooms if room.id not in found]


def overview_json(
    rooms: list[RoomFigures], event: Event | None = None, without: Sequence[Room] = ()
) -> dict[str, Any]:
    """The event overview as the JSON export carries it (see :func:`event_overview`);
    with the ``event`` file its title, each room's name, and the event's rooms
    ``without`` a session among those exported."""
    named: dict[str, Any] = {}
    if event is not None:
        named = {
            "event": event.title,
            "rooms_without_sessions": [{"room": room.id, "name": room.name} for room in without],
        }
    return {
        **named,
        "rooms": [
            {
                "room": room.room,
                **({"name": room.name} if room.name is not None else {}),
                "started_at": room.started_at,
                "ended_at": room.ended_at,
                "questions_asked": room.asked,
                "answers": room.answers,
                "most_voters_in_a_session": room.most_voters,
                "sessions": [
                    {
                        "id": line.session.id,
                        "deck": line.session.deck.title,
                        "started_at": line.session.started_at,
                        "ended_at": line.session.ended_at,
                        "questions_asked": line.asked,
                        "voters": line.voters,
                        "answers": line.answers,
                        "most_phones": line.most_phones,
                    }
                    for line in room.sessions
                ],
            }
            for room in rooms
        ],
        "totals": {
            "rooms": sum(1 for room in rooms if room.room is not None),
            "sessions": sum(len(room.sessions) for room in rooms),
            "questions_asked": sum(room.asked for room in rooms),
            "answers": sum(room.answers for room in rooms),
            "most_voters_in_a_session": max(room.most_voters for room in rooms),
        },
    }


def readable_answer(question: Question, answer: Answer) -> str:
    """An answer as an organiser reads it: option texts ("; " between several, " > "
    between ranks), the number, or the text."""
    if isinstance(answer, tuple):
        separator = RANK_SEPARATOR if question.type == "ranking" else MULTI_SEPARATOR
        return separator.join(question.options[index] for index in answer)
    return str(answer)


def _detail(question: Question, answer: Answer) -> str:
    if question.type == "quiz" and isinstance(answer, tuple):
        return "right" if answer[0] in question.correct else "wrong"
    if question.type == "number" and question.unit:
        return question.unit
    return ""


@contextlib.asynccontextmanager
async def chosen_sessions(
    database: Path, session_ids: Sequence[int] | None, room: str | None = None
) -> AsyncIterator[tuple[Store, list[SessionSummary]]]:
    """``database`` opened read-only, with the chosen sessions (all by default), oldest
    first; the one way exports, reports and ``livepoll results`` pick what to read.

    Args:
        session_ids: only these sessions (all when empty or None).
        room: only the sessions of this room of an event (all when None).

    Raises:
        ExportError: an unknown session id or room (the message lists the ones there
            are) or a file that cannot be opened or is not a livepoll database.
    """
    try:
        store = await Store.open(database, read_only=True)
    except StorageError as error:
        raise ExportError(str(error)) from None
    try:
        sessions = await store.sessions()
        if session_ids:
            known = {session.id for session in sessions}
            missing = sorted(set(session_ids) - known)
            if missing:
                listed = ", ".join(str(s) for s in sorted(known)) or "none"
                raise ExportError(
                    f"no session {', '.join(map(str, missing))} in {database} (sessions: {listed})"
                )
            sessions = [session for session in sessions if session.id in session_ids]
        if room is not None:
            sessions = _room_sessions(database, sessions, room, await store.sessions())
        yield store, sessions
    finally:
        await store.close()


def _room_sessions(
    database: Path, chosen: list[SessionSummary], room: str, every: list[SessionSummary]
) -> list[SessionSummary]:
    """The chosen sessions that ran in ``room``; an error naming the rooms there are when
    the database has no session of that room at all."""
    rooms = sorted({session.room for session in every if session.room is not None})
    if room not in rooms:
        there = f"rooms: {', '.join(rooms)}" if rooms else "its sessions have no rooms"
        raise ExportError(f'no room "{room}" in {database} ({there})')
    return [session for session in chosen if session.room == room]


async def export(
    database: Path,
    format_name: str,
    session_ids: Sequence[int] | None,
    *,
    room: str | None = None,
    crosstabs: Sequence[Pair] = (),
    min_segment: int = MIN_SEGMENT,
    event: Event | None = None,
) -> str:
    """Render the chosen sessions (all by default) of ``database`` in ``format_name``.

    Args:
        room: only the sessions of this room (see :func:`chosen_sessions`).
        crosstabs: (question, by) pairs the JSON carries besides the declared ones;
            the CSV refuses them (see :data:`CSV_CROSSTAB_REFUSAL`).
        min_segment: cross-tab segments with fewer respondents show no figures.
        event: the event file the sessions ran under: the JSON's overview then names
            the rooms, in the file's order (see :func:`in_event_order`).

    Raises:
        ExportError: an unknown session id, an unusable database, cross-tabs or an
            event asked of the CSV, or an event none of whose rooms the sessions ran in.
        CrosstabError: a ``crosstabs`` pair that no chosen session's deck can make.
    """
    if format_name == "csv" and crosstabs:
        raise ExportError(CSV_CROSSTAB_REFUSAL)
    if format_name == "csv" and event is not None:
        raise ExportError(EVENT_REFUSAL)
    async with chosen_sessions(database, session_ids, room) as (store, sessions):
        if format_name == "csv":
            return await _csv(store, sessions)
        check_pairs((session.deck for session in sessions), crosstabs)
        # A chosen part of the event says nothing of its other rooms.
        whole = room is None and not session_ids
        named = _Naming(event, database, whole) if event is not None else None
        return await _json(store, sessions, crosstabs, min_segment, named)


def to_the_minute(stamp: str) -> str:
    """An ISO UTC time from the store (``…T10:04:37.512Z``) cut to its minute
    (``…T10:04:00.000Z``), in the same format so that columns still parse alike."""
    return stamp[:17] + "00.000Z"


def unlinked_quiz_answers(
    session: SessionSummary, rows: list[ResponseRow], nicknamed: bool
) -> list[ResponseRow]:
    """The responses an export may show: in a session with nicknames (``nicknamed``),
    quiz answers lose their pseudonym (``""``) and their times are cut to the minute.

    The unlinked answers of each quiz are sorted by what is left of them (answer, then
    times), not by the stored order, which follows exact times and voter keys and
    would let a reader line them up with the leaderboard or the pseudonyms.
    """
    if not nicknamed:
        return rows
    by_question: dict[str, list[ResponseRow]] = {}
    for row in rows:
        by_question.setdefault(row.question_id, []).append(row)
    result: list[ResponseRow] = []
    for question in session.deck.questions:
        answers = by_question.get(question.id, [])
        if question.type == "quiz":
            answers = sorted(
                (
                    dataclasses.replace(
                        row,
                        pseudonym="",
                        first_at=to_the_minute(row.first_at),
                        last_at=to_the_minute(row.last_at),
                    )
                    for row in answers
                ),
                key=lambda row: (readable_answer(question, row.answer), row.first_at, row.last_at),
            )
        result.extend(answers)
    return result


async def _responses(store: Store, session: SessionSummary) -> list[ResponseRow]:
    """The session's responses as every export shows them (see the module docstring)."""
    nicknamed = bool(await store.nicknames(session))
    return unlinked_quiz_answers(session, await store.responses(session), nicknamed)


def _cells(*values: object) -> list[object]:
    """A CSV row with every text cell neutralised; numbers are written as they are."""
    return [neutralise(value) if isinstance(value, str) else value for value in values]


async def _csv(store: Store, sessions: list[SessionSummary]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for session in sessions:
        questions = {question.id: question for question in session.deck.questions}
        title = session.deck.title
        room = session.room or ""
        for row in await _responses(store, session):
            question = questions[row.question_id]
            writer.writerow(
                _cells(
                    session.id,
                    room,
                    title,
                    question.id,
                    question.prompt,
                    question.type,
                    row.pseudonym,
                    readable_answer(question, row.answer),
                    row.first_at,
                    row.last_at,
                    _detail(question, row.answer),
                )
            )
        for item in await store.qa_items(session):
            question = questions[item.question_id]
            votes = f"{item.votes} upvote{'' if item.votes == 1 else 's'}, {item.state}"
            writer.writerow(
                _cells(
                    session.id,
                    room,
                    title,
                    question.id,
                    question.prompt,
                    question.type,
                    item.pseudonym,
                    item.text,
                    item.posted_at,
                    item.posted_at,
                    votes,
                )
            )
    return buffer.getvalue()


async def replay(store: Store, session: SessionSummary) -> Session:
    """The engine's session rebuilt from the store, as the server resumes it.

    Summaries in exports come from the same tallies the projector showed, so they
    cannot disagree; only the masking of blocked words is left off, for organisers.
    """
    record = await store.load(session)
    engine = Session(session.deck)
    engine.guard = Guard(built_in=False)
    engine.restore(
        record.current_index, record.statuses, record.answers, record.qa_items, record.nicknames
    )
    return engine


def _question_summary(engine: Session, position: int, question: Question) -> dict[str, Any]:
    state = engine.states[question.id]
    respondents = state.respondents
    summary: dict[str, Any] = {
        "id": question.id,
        "position": position + 1,
        "type": question.type,
        "prompt": question.prompt,
        "settings": {
            key: value
            for key, value in question.to_dict().items()
            if key not in ("id", "type", "prompt", "options")
        },
        "status": state.status.value,
        "respondents": respondents,
        "summary": engine.summary(state),
    }
    if question.options:
        counts = state.counts if question.is_choice else [0] * len(question.options)
        summary["options"] = [
            {
                "index": index,
                "text": text,
                "count": counts[index],
                "percent": round(100.0 * counts[index] / respondents, 1) if respondents else 0.0,
            }
            for index, text in enumerate(question.options)
        ]
    if question.type == "ranking":
        scores = summary["summary"]
        summary["ranking"] = [
            {
                "text": question.options[index],
                "borda": scores["scores"][index],
                "first_places": scores["firsts"][index],
            }
            for index in scores["order"]
        ]
    if state.qa is not None:
        summary["items"] = [
            {**item.public(None), "posted_at": iso_utc(item.at)}
            for item in state.qa.ranked(("visible", "answered", "pending", "hidden"))
        ]
    if question.type == "quiz":
        summary["leaderboard"] = engine.leaderboard(through=question.id)
    return summary


@dataclass(frozen=True, slots=True)
class _Naming:
    """The event file an export names its rooms from."""

    event: Event
    database: Path
    whole: bool
    """Whether every session is exported, so that rooms without one can be named."""


async def _json(
    store: Store,
    sessions: list[SessionSummary],
    crosstabs: Sequence[Pair],
    min_segment: int,
    naming: _Naming | None = None,
) -> str:
    exported = []
    for session in sessions:
        responses = await _responses(store, session)
        engine = await replay(store, session)
        questions = {question.id: question for question in session.deck.questions}
        room = {"room": session.room} if session.room is not None else {}
        exported.append(
            {
                "id": session.id,
                # Only for a session of an event's room: one-room exports stay as they were.
                **room,
                "deck": session.deck.title,
                # The file name only: an absolute path tells who ran it, and where.
                "deck_file": Path(session.deck.source).name,
                "started_at": session.started_at,
                "ended_at": session.ended_at,
                "join_mode": session.join_mode,
                "quiz_answers_unlinked": any(not row.pseudonym for row in responses),
                "questions": [
                    _question_summary(engine, position, question)
                    for position, question in enumerate(session.deck.questions)
                ],
                "crosstabs": tables(engine, crosstabs, min_segment),
                "responses": [
                    {
                        "question_id": row.question_id,
                        "voter": row.pseudonym or None,
                        "answer": readable_answer(questions[row.question_id], row.answer),
                        "value": answer_to_json(row.answer),
                        "first_answer_at": row.first_at,
                        "last_answer_at": row.last_at,
                    }
                    for row in responses
                ],
                "qa_items": [
                    {
                        "question_id": item.question_id,
                        "item": item.item_id,
                        "voter": item.pseudonym,
                        "text": item.text,
                        "state": item.state,
                        "upvotes": item.votes,
                        "posted_at": item.posted_at,
                    }
                    for item in await store.qa_items(session)
                ],
                "events": [
                    {
                        "at": event.at,
                        "kind": event.kind,
                        "question_id": event.question_id,
                        # A session's start records its deck's path: the name is enough.
                        "detail": Path(event.detail).name
                        if event.kind == "started"
                        else event.detail,
                        "phones": event.phones,
                    }
                    for event in await store.events(session.id)
                ],
            }
        )
    document: dict[str, Any] = {
        "generator": f"livepoll {__version__}",
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    rooms = await event_overview(store, sessions)
    if naming is not None:
        rooms, without = in_event_order(rooms, naming.event, naming.database)
        whole = without if naming.whole else []
        document["overview"] = overview_json(rooms, naming.event, whole)
    elif rooms:
        document["overview"] = overview_json(rooms)
    document["sessions"] = exported
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
