"""Exports for organisers: every answer, timestamped and pseudonymous.

CSV has one row per response, readable in any spreadsheet; JSON nests sessions,
questions with their option counts, the responses and the event log, for scripts.
Both read the database through the store, never the server, so they work on a
copied ``.db`` file long after the session.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from livepoll import __version__
from livepoll.deck import Question
from livepoll.engine import Answer
from livepoll.store import ResponseRow, SessionSummary, StorageError, Store

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
)
MULTI_SEPARATOR = "; "


class ExportError(Exception):
    """The export cannot be made (no such session, unreadable database)."""


def readable_answer(question: Question, answer: Answer) -> str:
    """An answer as an organiser reads it: option texts, joined for multi-choice."""
    return MULTI_SEPARATOR.join(question.options[index] for index in answer)


async def export(database: Path, format_name: str, session_ids: Sequence[int] | None) -> str:
    """Render the chosen sessions (all by default) of ``database`` in ``format_name``.

    Raises:
        ExportError: an unknown session id or an unusable database.
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
        if format_name == "csv":
            return await _csv(store, sessions)
        return await _json(store, sessions)
    finally:
        await store.close()


async def _csv(store: Store, sessions: list[SessionSummary]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for session in sessions:
        questions = {question.id: question for question in session.deck.questions}
        for row in await store.responses(session):
            question = questions[row.question_id]
            writer.writerow(
                (
                    session.id,
                    session.deck.title,
                    question.id,
                    question.prompt,
                    question.type,
                    row.pseudonym,
                    readable_answer(question, row.answer),
                    row.first_at,
                    row.last_at,
                )
            )
    return buffer.getvalue()


def _question_summary(
    question: Question, position: int, status: str, rows: list[ResponseRow]
) -> dict[str, Any]:
    counts = [0] * len(question.options)
    for row in rows:
        for index in row.answer:
            counts[index] += 1
    respondents = len(rows)
    return {
        "id": question.id,
        "position": position + 1,
        "type": question.type,
        "prompt": question.prompt,
        "max_choices": question.max_choices,
        "status": status,
        "respondents": respondents,
        "options": [
            {
                "index": index,
                "text": text,
                "count": counts[index],
                "percent": round(100.0 * counts[index] / respondents, 1) if respondents else 0.0,
            }
            for index, text in enumerate(question.options)
        ],
    }


async def _json(store: Store, sessions: list[SessionSummary]) -> str:
    exported = []
    for session in sessions:
        responses = await store.responses(session)
        statuses = await store.question_statuses(session.id)
        by_question: dict[str, list[ResponseRow]] = {q.id: [] for q in session.deck.questions}
        for row in responses:
            by_question[row.question_id].append(row)
        questions = {question.id: question for question in session.deck.questions}
        exported.append(
            {
                "id": session.id,
                "deck": session.deck.title,
                "deck_file": session.deck.source,
                "started_at": session.started_at,
                "ended_at": session.ended_at,
                "questions": [
                    _question_summary(q, i, statuses.get(q.id, "pending"), by_question[q.id])
                    for i, q in enumerate(session.deck.questions)
                ],
                "responses": [
                    {
                        "question_id": row.question_id,
                        "voter": row.pseudonym,
                        "answer": [questions[row.question_id].options[i] for i in row.answer],
                        "answer_index": list(row.answer),
                        "first_answer_at": row.first_at,
                        "last_answer_at": row.last_at,
                    }
                    for row in responses
                ],
                "events": [
                    {"at": at, "kind": kind, "question_id": qid, "detail": detail}
                    for at, kind, qid, detail in await store.events(session.id)
                ],
            }
        )
    document = {
        "generator": f"livepoll {__version__}",
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "sessions": exported,
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
