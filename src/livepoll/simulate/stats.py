"""What the simulated phones saw: counters, ack latencies, and their summaries.

Counters are cumulative and summed across simulator processes; samples (ack
latencies, send and ack times) and sightings (the live results frames a few
observer phones received) are appended in arrival order, so a caller can take the
part of a run that interests it by slicing from a remembered length.
Times are ``time.monotonic()`` readings: on Linux that clock is system-wide, so
samples from several processes (and a benchmark's presenter client) compare.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class QuestionCounts:
    """Answers to one question, as the phones saw them."""

    answered: int = 0
    """Answers sent (a resend after a reconnect is not counted again)."""
    acked: int = 0
    rejected: int = 0
    phones: int = 0
    """Phones that sent at least one answer to it."""
    watched: int = 0
    """Phones that received at least one live results frame of it: with live results
    on, every connected phone should (a phone left out sees a frozen chart)."""

    def add(self, other: QuestionCounts) -> None:
        """Add ``other``'s counts to these."""
        self.answered += other.answered
        self.acked += other.acked
        self.rejected += other.rejected
        self.phones += other.phones
        self.watched += other.watched


@dataclass(slots=True)
class Counts:
    """Cumulative counters of a group of phones; summed across processes."""

    phones: int = 0
    """Phones simulated (connected or not)."""
    connected: int = 0
    """Phones connected now (handshake done, hello sent)."""
    connects: int = 0
    """Successful connections, reconnections included."""
    refused: int = 0
    """Connection attempts that failed (refused, timed out, handshake rejected)."""
    dropped: int = 0
    """Connections lost unexpectedly (the phones reconnect)."""
    answered: int = 0
    acked: int = 0
    rejected: int = 0
    """Answers the server refused with an error frame (e.g. voting closed meanwhile)."""
    skipped: int = 0
    """Open questions the phones could not or chose not to answer (unknown type, Q&A
    reader)."""
    resent: int = 0
    """Answers sent again after a reconnect, still waiting for their ack."""
    states: int = 0
    """State frames received."""
    results: int = 0
    """Results frames received (phones watching live results)."""
    failures: Counter[str] = field(default_factory=Counter)
    """Every error by kind: server error codes, connection failures."""
    questions: dict[str, QuestionCounts] = field(default_factory=dict)
    last_state: tuple[float, str] = (0.0, "")
    """(time seen, "q2 open") of the latest state frame, for the display."""
    behaviour_version: int = 0
    """The latest behaviour change this group has applied (see Simulation)."""

    @property
    def errors(self) -> int:
        """Everything that went wrong, of every kind."""
        return sum(self.failures.values())

    def question(self, question_id: str) -> QuestionCounts:
        """The counts of one question (created on first use)."""
        counts = self.questions.get(question_id)
        if counts is None:
            counts = self.questions[question_id] = QuestionCounts()
        return counts

    def add(self, other: Counts) -> None:
        """Add ``other``'s counters to these."""
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures.update(other.failures)
        for question_id, counts in other.questions.items():
            self.question(question_id).add(counts)
        self.last_state = max(self.last_state, other.last_state)

    def to_wire(self) -> dict[str, Any]:
        """A picklable plain form, to send from a simulator process."""
        return {
            **{name: getattr(self, name) for name in _SUMMED},
            "failures": dict(self.failures),
            "questions": {
                qid: (c.answered, c.acked, c.rejected, c.phones, c.watched)
                for qid, c in self.questions.items()
            },
            "last_state": self.last_state,
            "behaviour_version": self.behaviour_version,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Counts:
        """The inverse of :meth:`to_wire`."""
        counts = cls(
            failures=Counter(data["failures"]),
            questions={qid: QuestionCounts(*values) for qid, values in data["questions"].items()},
            last_state=(float(data["last_state"][0]), str(data["last_state"][1])),
        )
        for name in (*_SUMMED, "behaviour_version"):
            setattr(counts, name, int(data[name]))
        return counts


_SUMMED = tuple(
    item.name
    for item in fields(Counts)
    if item.type in ("int", int) and item.name != "behaviour_version"
)
"""The plain counters of :class:`Counts`, which add up across processes."""


@dataclass(slots=True)
class Samples:
    """Per-answer measurements, in arrival order (append-only)."""

    latencies: array[float] = field(default_factory=lambda: array("d"))
    """Seconds from an answer's first send to its ack, one per ack."""
    acked_at: array[float] = field(default_factory=lambda: array("d"))
    """Monotonic time of each ack (same order as ``latencies``)."""
    sent_at: array[float] = field(default_factory=lambda: array("d"))
    """Monotonic time of each answer's first send."""

    def extend(self, other: Samples) -> None:
        """Append ``other``'s samples."""
        self.latencies.extend(other.latencies)
        self.acked_at.extend(other.acked_at)
        self.sent_at.extend(other.sent_at)

    def since(self, marks: tuple[int, int, int]) -> Samples:
        """The samples added after :meth:`marks` returned ``marks``."""
        return Samples(
            self.latencies[marks[0] :], self.acked_at[marks[1] :], self.sent_at[marks[2] :]
        )

    def marks(self) -> tuple[int, int, int]:
        """Where the samples end now, for :meth:`since`."""
        return len(self.latencies), len(self.acked_at), len(self.sent_at)


@dataclass(slots=True)
class Sightings:
    """The live results frames the observer phones received, in arrival order.

    Only observer phones (``SimulationConfig.observers``, a few per run) record, so the
    cost is one branch per frame for every other phone, and the memory three numbers
    per observer per results push (twice a second): a few kilobytes a minute.
    """

    at: array[float] = field(default_factory=lambda: array("d"))
    """Monotonic time each frame arrived."""
    shown: array[int] = field(default_factory=lambda: array("q"))
    """The answers the frame counts (the sum of a choice question's counts; -1 for a
    results summary without counts)."""
    phone: array[int] = field(default_factory=lambda: array("q"))
    """The number of the observer phone that received it."""

    def add(self, at: float, shown: int, phone: int) -> None:
        """Record one frame."""
        self.at.append(at)
        self.shown.append(shown)
        self.phone.append(phone)

    def extend(self, other: Sightings) -> None:
        """Append ``other``'s sightings."""
        self.at.extend(other.at)
        self.shown.extend(other.shown)
        self.phone.extend(other.phone)

    def since(self, mark: int) -> Sightings:
        """The sightings added after :meth:`mark` returned ``mark``."""
        return Sightings(self.at[mark:], self.shown[mark:], self.phone[mark:])

    def mark(self) -> int:
        """Where the sightings end now, for :meth:`since`."""
        return len(self.at)

    def by_phone(self) -> dict[int, list[tuple[float, int]]]:
        """Each observer's (arrival time, answers shown), in arrival order."""
        seen: dict[int, list[tuple[float, int]]] = {}
        for at, shown, phone in zip(self.at, self.shown, self.phone, strict=True):
            seen.setdefault(phone, []).append((at, shown))
        return seen


@dataclass(slots=True)
class Stats:
    """A simulation's state: counters, samples and the observers' sightings."""

    counts: Counts = field(default_factory=Counts)
    samples: Samples = field(default_factory=Samples)
    sightings: Sightings = field(default_factory=Sightings)

    def latency(self, quantile: float) -> float | None:
        """The ack latency at ``quantile`` (0-1) over the whole run, in seconds."""
        return percentile(self.samples.latencies, quantile)


def percentile(values: Sequence[float], quantile: float) -> float | None:
    """Nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(quantile * len(ordered))))
    return ordered[rank - 1]


def milliseconds(seconds: float | None) -> str:
    """A latency for people: ``12 ms``, ``1.4 s``, or ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"
    return f"{seconds:.1f} s"
