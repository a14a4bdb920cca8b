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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from livepoll import __version__
from livepoll.crosstabs import Pair, check_pairs, tables
from livepoll.deck import Question
from livepoll.engine import MIN_SEGMENT, Answer, Session, answer_to_json
from livepoll.spreadsheet import neutralise
from livepoll.store import ResponseRow, SessionSummary, StorageError, Store, iso_utc
from livepoll.words import Guard

CSV_COLUMNS = (
    "session",
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
MULTI_SEPARATOR = "; "
RANK_SEPARATOR = " > "


class ExportError(Exception):
    """The export cannot be made (no such session, unreadable database)."""


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
) -> str:
    """Render the chosen sessions (all by default) of ``database`` in ``format_name``.

    Args:
        room: only the sessions of this room (see :func:`chosen_sessions`).
        crosstabs: (question, by) pairs the JSON carries besides the declared ones.
        min_segment: cross-tab segments with fewer respondents show no figures.

    Raises:
        ExportError: an unknown session id or an unusable database.
        CrosstabError: a ``crosstabs`` pair that no chosen session's deck can make.
    """
    async with chosen_sessions(database, session_ids, room) as (store, sessions):
        if format_name == "csv":
            return await _csv(store, sessions)
        check_pairs((session.deck for session in sessions), crosstabs)
        return await _json(store, sessions, crosstabs, min_segment)


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
        for row in await _responses(store, session):
            question = questions[row.question_id]
            writer.writerow(
                _cells(
                    session.id,
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


async def _json(
    store: Store, sessions: list[SessionSummary], crosstabs: Sequence[Pair], min_segment: int
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
    document = {
        "generator": f"livepoll {__version__}",
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "sessions": exported,
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
