"""The rules of a live poll session, with no I/O.

The engine holds the state of one session: which question is on screen, whether
voting on it is open, whether its results are shown, and who answered what. It
validates every answer against its question, keeps one answer per voter per
question (the latest wins while voting is open), and keeps tallies up to date in
O(options) per vote, never by recounting.

Nothing here knows about sockets, SQLite or screens: the server feeds it votes and
commands, persists what it returns, and broadcasts what it shows. That is what lets
the rules be tested quickly and exhaustively.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from livepoll.deck import Deck, Question

Answer = tuple[int, ...]
"""A canonical answer: the chosen option indexes, sorted, without repeats."""


class Status(StrEnum):
    """Where a question is in its life: it opens once the chair asks it."""

    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"


class EventKind(StrEnum):
    """What the event log records, for the organiser's timeline."""

    OPENED = "opened"
    CLOSED = "closed"
    REOPENED = "reopened"
    RESULTS_SHOWN = "results_shown"
    RESULTS_HIDDEN = "results_hidden"
    MOVED = "moved"


class Rejection(Exception):
    """A vote the rules refuse; ``code`` is stable for clients, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Event:
    """A change of session state the store logs and the surfaces react to."""

    kind: EventKind
    question_id: str
    at: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AcceptedVote:
    """The result of applying a vote: what to store and whether the tally moved."""

    question_id: str
    voter: str
    answer: Answer
    previous: Answer | None
    at: float

    @property
    def changed_tally(self) -> bool:
        """False for a repeat of the same answer (a resend after a reconnect)."""
        return self.previous != self.answer


@dataclass(slots=True)
class QuestionState:
    """The live state of one question: status, visibility and its tally."""

    question: Question
    status: Status = Status.PENDING
    results_shown: bool = False
    answers: dict[str, Answer] = field(default_factory=dict)
    """Latest answer per voter key (a pseudonymous key, never the phone's raw token)."""
    counts: list[int] = field(default_factory=list)
    """Votes per option, in option order."""

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * len(self.question.options)

    @property
    def respondents(self) -> int:
        """How many voters answered (a multi answer counts once)."""
        return len(self.answers)

    def record(self, voter: str, answer: Answer) -> Answer | None:
        """Set ``voter``'s answer and move the tally by the difference; returns the old one."""
        previous = self.answers.get(voter)
        if previous == answer:
            return previous
        if previous is not None:
            for option in previous:
                self.counts[option] -= 1
        for option in answer:
            self.counts[option] += 1
        self.answers[voter] = answer
        return previous


def validate_answer(question: Question, raw: Any) -> Answer:
    """Turn a client's answer into a canonical one, or explain why it is not valid.

    ``single`` takes one option index (an integer); ``multi`` takes a list of
    distinct option indexes, at least one and at most ``max_choices``.

    Raises:
        Rejection: the answer does not fit the question.
    """
    count = len(question.options)
    if question.type == "single":
        if isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise Rejection("bad_answer", "choose one option (send its number)")
        if not 0 <= raw < count:
            raise Rejection("no_such_option", f"option {raw} does not exist (0-{count - 1})")
        return (raw,)
    if not isinstance(raw, list):
        raise Rejection("bad_answer", "send the chosen options as a list of numbers")
    if not raw:
        raise Rejection("bad_answer", "choose at least one option")
    chosen: set[int] = set()
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int):
            raise Rejection("bad_answer", "options are numbers")
        if not 0 <= item < count:
            raise Rejection("no_such_option", f"option {item} does not exist (0-{count - 1})")
        if item in chosen:
            raise Rejection("bad_answer", f"option {item} is chosen twice")
        chosen.add(item)
    if len(chosen) > question.max_choices:
        raise Rejection(
            "too_many_choices",
            f"choose at most {question.max_choices} of {count} options (got {len(chosen)})",
        )
    return tuple(sorted(chosen))


class Session:
    """One run of a deck: the chair's position in it and every question's state.

    Every change bumps :attr:`version`, so the server can tell cheaply whether a
    tick has anything new to send.
    """

    def __init__(self, deck: Deck) -> None:
        self.deck = deck
        self.states: dict[str, QuestionState] = {q.id: QuestionState(q) for q in deck.questions}
        self.current_index = 0
        self.version = 0
        self.audience_version = 0
        """Bumped only by changes phones must hear about (question or status)."""

    @property
    def current(self) -> QuestionState:
        """The question on screen now."""
        return self.states[self.deck.questions[self.current_index].id]

    def state_of(self, question_id: str) -> QuestionState | None:
        """The state of a question by id, or None for an unknown id."""
        return self.states.get(question_id)

    def apply_vote(self, voter: str, question_id: str, raw_answer: Any, at: float) -> AcceptedVote:
        """Validate and count one answer.

        Raises:
            Rejection: unknown question, voting not open, or an invalid answer.
        """
        state = self.states.get(question_id)
        if state is None:
            raise Rejection("no_such_question", f"there is no question {question_id!r}")
        if state.status is Status.PENDING:
            raise Rejection("question_not_open", "voting on this question has not opened yet")
        if state.status is Status.CLOSED:
            # A phone that lost its connection before the ack resends after the chair
            # closed voting; if it is the answer already counted, it is the same vote.
            previous = state.answers.get(voter)
            with contextlib.suppress(Rejection):
                if previous is not None and validate_answer(state.question, raw_answer) == previous:
                    return AcceptedVote(question_id, voter, previous, previous, at)
            raise Rejection("question_closed", "voting on this question is closed")
        answer = validate_answer(state.question, raw_answer)
        previous = state.record(voter, answer)
        if previous != answer:
            self.version += 1
        return AcceptedVote(question_id, voter, answer, previous, at)

    def open_voting(self, at: float) -> Event | None:
        """Open voting on the current question; None if it is already open."""
        state = self.current
        if state.status is Status.OPEN:
            return None
        kind = EventKind.REOPENED if state.status is Status.CLOSED else EventKind.OPENED
        state.status = Status.OPEN
        return self._changed(Event(kind, state.question.id, at), audience=True)

    def close_voting(self, at: float) -> Event | None:
        """Close voting on the current question; None if it is not open."""
        state = self.current
        if state.status is not Status.OPEN:
            return None
        state.status = Status.CLOSED
        return self._changed(Event(EventKind.CLOSED, state.question.id, at), audience=True)

    def toggle_voting(self, at: float) -> Event | None:
        """The chair's one key for voting: open it if it is not open, else close it."""
        if self.current.status is Status.OPEN:
            return self.close_voting(at)
        return self.open_voting(at)

    def set_results_shown(self, shown: bool, at: float) -> Event | None:
        """Show or hide the current question's results; None when nothing changes."""
        state = self.current
        if state.results_shown == shown:
            return None
        state.results_shown = shown
        kind = EventKind.RESULTS_SHOWN if shown else EventKind.RESULTS_HIDDEN
        return self._changed(Event(kind, state.question.id, at), audience=True)

    def toggle_results(self, at: float) -> Event | None:
        """The chair's one key for results: show them if hidden, else hide them."""
        return self.set_results_shown(not self.current.results_shown, at)

    def go_to(self, index: int, at: float) -> list[Event]:
        """Move to question ``index``; voting left open on the old question closes.

        Only one question is ever open, the one on screen, so phones always follow
        the chair and nobody answers a question the room has moved past.
        """
        if not 0 <= index < len(self.deck.questions) or index == self.current_index:
            return []
        events = []
        closed = self.close_voting(at)
        if closed is not None:
            events.append(closed)
        self.current_index = index
        moved = Event(EventKind.MOVED, self.current.question.id, at, detail=str(index))
        events.append(self._changed(moved, audience=True))
        return events

    def next(self, at: float) -> list[Event]:
        """Move to the next question, if there is one."""
        return self.go_to(self.current_index + 1, at)

    def previous(self, at: float) -> list[Event]:
        """Move back to the previous question, if there is one."""
        return self.go_to(self.current_index - 1, at)

    def restore(
        self,
        current_index: int,
        statuses: Mapping[str, tuple[Status, bool]],
        answers: Iterable[tuple[str, str, Answer]],
    ) -> None:
        """Rebuild the session from stored state after a restart.

        Args:
            current_index: the question that was on screen.
            statuses: per question id, its status and whether results were shown.
            answers: (question id, voter key, answer) rows, in any order.
        """
        if 0 <= current_index < len(self.deck.questions):
            self.current_index = current_index
        for question_id, (status, shown) in statuses.items():
            state = self.states.get(question_id)
            if state is not None:
                state.status = status
                state.results_shown = shown
        # Only the question on screen can be open; a stored state that says otherwise
        # (a file edited by hand) is closed rather than trusted.
        for state in self.states.values():
            if state.status is Status.OPEN and state is not self.current:
                state.status = Status.CLOSED
        for question_id, voter, answer in answers:
            state = self.states.get(question_id)
            if state is not None:
                state.record(voter, answer)
        self.version += 1
        self.audience_version += 1

    def _changed(self, event: Event, *, audience: bool) -> Event:
        self.version += 1
        if audience:
            self.audience_version += 1
        return event
