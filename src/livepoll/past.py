"""A past session, made ready for the presenter console to show again (read-only).

``livepoll results`` opens the database read-only, replays the chosen session
through the engine (as :func:`livepoll.export.replay` does for exports), and turns
each question into the :class:`~livepoll.protocol.PresenterState` a live console
would have received: encoded and decoded by :mod:`livepoll.protocol`, so the
console draws it exactly as it drew the live one, with the results shown and
voting over. The console itself never touches the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from livepoll import __version__
from livepoll.engine import Status
from livepoll.export import ExportError, chosen_sessions, replay
from livepoll.protocol import (
    PresenterState,
    Welcome,
    decode_presenter_frame,
    encode_presenter_state,
    encode_welcome,
)
from livepoll.words import Guard


@dataclass(frozen=True, slots=True)
class PastSession:
    """Everything the console needs to show a finished session again."""

    session_id: int
    started_at: str
    """When it started (ISO 8601, UTC), as stored."""
    welcome: Welcome
    states: tuple[PresenterState, ...]
    """One state per question, in deck order: results shown, voting over."""

    @property
    def read_only(self) -> str:
        """The line the console shows, e.g. ``read-only: session 3 from 2025-03-14 10:02 UTC``."""
        started = self.started_at[:16].replace("T", " ")
        return f"read-only: session {self.session_id} from {started} UTC · past results"


async def load_past_session(
    database: Path, session_id: int | None = None, room: str | None = None
) -> PastSession:
    """The session ``session_id`` of ``database`` (the latest when None, of ``room``
    when given), ready to show.

    Raises:
        ExportError: the file cannot be opened or is not a livepoll database, it holds
            no sessions, or none with that id (the message lists the ones there are).
    """
    chosen = None if session_id is None else [session_id]
    async with chosen_sessions(database, chosen, room) as (store, sessions):
        if not sessions and room is not None:
            raise ExportError(f'no session {session_id} in room "{room}" of {database}')
        if not sessions:
            raise ExportError(f"no sessions in {database} yet")
        summary = sessions[-1]
        engine = await replay(store, summary)
    # Back on a projector, blocked words are masked as they were live (exports keep them).
    engine.guard = Guard(summary.deck.blocklist)
    now = time.time()
    states = []
    for index, question in enumerate(summary.deck.questions):
        state = engine.states[question.id]
        if state.status is Status.OPEN:
            # It was open when the server stopped; nothing more can come in now.
            state.status = Status.CLOSED
        state.deadline = None
        state.results_shown = True
        engine.current_index = index
        frame = encode_presenter_state(engine, phones=0, now=now)
        decoded = decode_presenter_frame(frame)
        assert isinstance(decoded, PresenterState)
        states.append(decoded)
    welcome = decode_presenter_frame(encode_welcome("", str(store.path), __version__))
    assert isinstance(welcome, Welcome)
    return PastSession(summary.id, summary.started_at, welcome, tuple(states))
