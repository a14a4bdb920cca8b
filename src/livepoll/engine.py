"""The rules of a live poll session, with no I/O.

The engine holds the state of one session: which question is on screen, whether
voting on it is open (and until when), whether its results are shown, and who
answered what. It validates every answer against its question's type, keeps one
answer per voter per question (the latest wins while voting is open), and keeps
every tally up to date incrementally: a vote costs O(options) or O(words), never
a recount. Summaries for the screens are built from the tallies once per tick.

Nothing here knows about sockets, SQLite or screens: the server feeds it votes and
commands, persists what it returns, and broadcasts what it shows. That is what lets
the rules be tested quickly and exhaustively.
"""

from __future__ import annotations

import contextlib
import heapq
import math
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, Literal

from livepoll.deck import NUMBER_LIMIT, SEGMENT_TYPES, Deck, Question
from livepoll.words import Guard, clean_text, words_of

Answer = int | float | str | tuple[int, ...]
"""A canonical answer: option indexes (sorted for multi, in rank order for ranking),
a scale point, a number, or a cleaned text."""

CLOUD_WORDS = 40
"""Words in a word cloud summary: more would not be legible from the back."""
WALL_ANSWERS = 30
LEADERBOARD_SIZE = 10
QA_QUESTIONS_PER_VOTER = 5
"""Q&A questions one phone may post per Q&A: enough to take part, too few to flood."""
MAX_QA_ITEMS = 500
"""Q&A items one question takes (``--max-qa-items``): a conference Q&A rarely gets more
than a few hundred, and no chair reads more in an hour. Open mode lets a script mint
voter tokens, so the per-phone limit alone does not bound a board."""
MAX_TEXT_ANSWERS = 10_000
"""Text answers one question takes (``--max-text-answers``): one per phone of the
largest room one server holds, while a script minting tokens in open mode (about 550
answers a second) stops adding rows after some seconds. Changing an answer is always
allowed: it replaces a row rather than adding one."""
MAX_NICKNAME = 24
EXTEND_SECONDS = 15
MIN_SEGMENT = 5
"""A cross-tab segment with fewer respondents than this is never shown: in a small
group, a split by another answer could tell who answered what."""


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
    TIME_UP = "time_up"
    EXTENDED = "extended"
    RESULTS_SHOWN = "results_shown"
    RESULTS_HIDDEN = "results_hidden"
    MOVED = "moved"
    QA_POSTED = "qa_posted"
    QA_MODERATED = "qa_moderated"
    CODE_ROTATED = "code_rotated"


QaState = Literal["pending", "visible", "hidden", "answered"]
QA_STATES: tuple[QaState, ...] = ("pending", "visible", "hidden", "answered")


class Rejection(Exception):
    """Input the rules refuse; ``code`` is stable for clients, ``message`` is for people."""

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


def answer_to_json(answer: Answer) -> Any:
    """The JSON form of an answer (lists for option indexes)."""
    return list(answer) if isinstance(answer, tuple) else answer


def answer_from_json(question: Question, value: Any) -> Answer:
    """Rebuild a stored answer (trusted: it was validated when it was given)."""
    if isinstance(value, list):
        return tuple(int(item) for item in value)
    if question.type == "text":
        return str(value)
    if question.type == "scale":
        return int(value)
    return _number(value) if isinstance(value, int | float) else str(value)


def _number(value: float) -> int | float:
    """Integral floats become ints, so 50 and 50.0 are the same answer."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def validate_answer(question: Question, raw: Any) -> Answer:
    """Turn a client's answer into a canonical one, or explain why it is not valid.

    Raises:
        Rejection: the answer does not fit the question.
    """
    kind = question.type
    if kind in ("single", "quiz"):
        return (_option(question, raw[0] if isinstance(raw, list) and len(raw) == 1 else raw),)
    if kind == "multi":
        chosen = _option_list(question, raw)
        if not chosen:
            raise Rejection("bad_answer", "choose at least one option")
        if len(chosen) > question.max_choices:
            raise Rejection(
                "too_many_choices",
                f"choose at most {question.max_choices} of {len(question.options)} options "
                f"(got {len(chosen)})",
            )
        return tuple(sorted(chosen))
    if kind == "ranking":
        order = _option_list(question, raw)
        if len(order) != len(question.options):
            raise Rejection("bad_answer", f"rank all {len(question.options)} options, best first")
        return tuple(order)
    if kind == "scale":
        values = question.scale_values
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise Rejection("bad_answer", "choose a point on the scale (a whole number)")
        if raw not in values:
            raise Rejection("out_of_range", f"choose from {values.start} to {values.stop - 1}")
        return raw
    if kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise Rejection("bad_answer", "send a number")
        # The size check comes first: JSON allows integers of any length, and
        # math.isfinite(10**400) raises OverflowError instead of answering.
        if isinstance(raw, int) and abs(raw) > NUMBER_LIMIT:
            raise Rejection("out_of_range", "that number is too large")
        if not math.isfinite(raw):
            raise Rejection("bad_answer", "send a number")
        if abs(raw) > NUMBER_LIMIT:
            raise Rejection("out_of_range", "that number is too large")
        if question.minimum is not None and raw < question.minimum:
            raise Rejection("out_of_range", f"the lowest answer is {_shown(question.minimum)}")
        if question.maximum is not None and raw > question.maximum:
            raise Rejection("out_of_range", f"the highest answer is {_shown(question.maximum)}")
        return _number(raw)
    if kind == "text":
        return clean_answer_text(question, raw)
    raise Rejection("wrong_type", "this question takes questions and upvotes, not votes")


def clean_answer_text(question: Question, raw: Any) -> str:
    """A text answer or Q&A question, cleaned; its length is enforced here, on the server.

    Raises:
        Rejection: not a string, empty once cleaned, or too long.
    """
    if not isinstance(raw, str):
        raise Rejection("bad_answer", "send text")
    text = clean_text(raw)
    if not text and raw.strip():
        raise Rejection(
            "bad_answer", "nothing visible is left: invisible characters are removed; write words"
        )
    if not text:
        raise Rejection("bad_answer", "write something first")
    if len(text) > question.max_length:
        raise Rejection(
            "too_long", f"at most {question.max_length} characters (this has {len(text)})"
        )
    return text


def _shown(value: float) -> str:
    return f"{value:g}"


def _option(question: Question, raw: Any) -> int:
    count = len(question.options)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise Rejection("bad_answer", "choose one option (send its number)")
    if not 0 <= raw < count:
        raise Rejection("no_such_option", f"option {raw} does not exist (0-{count - 1})")
    return raw


def _option_list(question: Question, raw: Any) -> list[int]:
    if not isinstance(raw, list):
        raise Rejection("bad_answer", "send the chosen options as a list of numbers")
    chosen: list[int] = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int):
            raise Rejection("bad_answer", "options are numbers")
        if not 0 <= item < len(question.options):
            raise Rejection(
                "no_such_option", f"option {item} does not exist (0-{len(question.options) - 1})"
            )
        if item in chosen:
            raise Rejection("bad_answer", f"option {item} is chosen twice")
        chosen.append(item)
    return chosen


class Tally:
    """Incremental aggregate of one question's answers; each type has its own."""

    def __init__(self, question: Question) -> None:
        self.question = question

    def add(self, voter: str, answer: Answer, at: float) -> None:
        """Count a voter's answer."""
        raise NotImplementedError

    def remove(self, voter: str, answer: Answer) -> None:
        """Uncount a voter's previous answer (it is being replaced)."""
        raise NotImplementedError

    def summary(self, guard: Guard) -> dict[str, Any]:
        """What the screens show, JSON-ready; built once per tick, not per vote."""
        raise NotImplementedError


class ChoiceTally(Tally):
    """Votes per option, for single, multi and quiz."""

    def __init__(self, question: Question) -> None:
        super().__init__(question)
        self.counts = [0] * len(question.options)

    def add(self, voter: str, answer: Answer, at: float) -> None:
        assert isinstance(answer, tuple)
        for option in answer:
            self.counts[option] += 1

    def remove(self, voter: str, answer: Answer) -> None:
        assert isinstance(answer, tuple)
        for option in answer:
            self.counts[option] -= 1

    def summary(self, guard: Guard) -> dict[str, Any]:
        return {"counts": list(self.counts)}


class QuizTally(ChoiceTally):
    """Votes per option plus each voter's score: right answers, faster earns more."""

    def __init__(self, question: Question) -> None:
        super().__init__(question)
        self.scores: dict[str, int] = {}
        self.opened_at: float | None = None

    def score(self, answer: Answer, at: float) -> int:
        """Points for ``answer`` given at ``at``: full at once, half at the buzzer."""
        assert isinstance(answer, tuple)
        if answer[0] not in self.question.correct:
            return 0
        limit = self.question.time_limit
        if not limit or self.opened_at is None:
            return self.question.points
        elapsed = min(max(_as_stored(at) - self.opened_at, 0.0), float(limit))
        return round(self.question.points * (1.0 - 0.5 * elapsed / limit))

    def add(self, voter: str, answer: Answer, at: float) -> None:
        super().add(voter, answer, at)
        points = self.score(answer, at)
        if points:
            self.scores[voter] = points

    def remove(self, voter: str, answer: Answer) -> None:
        super().remove(voter, answer)
        self.scores.pop(voter, None)

    def summary(self, guard: Guard) -> dict[str, Any]:
        return {"counts": list(self.counts), "right": len(self.scores)}


def _as_stored(at: float) -> float:
    """``at`` cut to whole milliseconds, exactly as the store keeps answer times.

    A quiz score depends on the answer's time; scoring the time the store will give
    back on a restart (or to an export) keeps the leaderboard the same after either.
    """
    moment = datetime.fromtimestamp(at, UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000).timestamp()


class ScaleTally(Tally):
    """Answers per scale point and their sum, for the distribution, mean and median."""

    def __init__(self, question: Question) -> None:
        super().__init__(question)
        self.low = question.scale_values.start
        self.counts = [0] * len(question.scale_values)
        self.total = 0

    def add(self, voter: str, answer: Answer, at: float) -> None:
        assert isinstance(answer, int)
        self.counts[answer - self.low] += 1
        self.total += answer

    def remove(self, voter: str, answer: Answer) -> None:
        assert isinstance(answer, int)
        self.counts[answer - self.low] -= 1
        self.total -= answer

    def summary(self, guard: Guard) -> dict[str, Any]:
        count = sum(self.counts)
        values = [(self.low + offset, n) for offset, n in enumerate(self.counts)]
        return {
            "values": [value for value, _ in values],
            "counts": list(self.counts),
            "count": count,
            "mean": round(self.total / count, 2) if count else None,
            "median": _median(values, count),
        }


class NumberTally(Tally):
    """How often each number was given, for the histogram, median and mean."""

    BINS = 10

    def __init__(self, question: Question) -> None:
        super().__init__(question)
        self.values: Counter[int | float] = Counter()
        self.total = Fraction(0)
        """Exact: a float running sum drifts as answers are added and taken back."""

    def add(self, voter: str, answer: Answer, at: float) -> None:
        assert isinstance(answer, int | float)
        self.values[answer] += 1
        self.total += Fraction(answer)

    def remove(self, voter: str, answer: Answer) -> None:
        assert isinstance(answer, int | float)
        self.values[answer] -= 1
        if not self.values[answer]:
            del self.values[answer]
        self.total -= Fraction(answer)

    def summary(self, guard: Guard) -> dict[str, Any]:
        count = self.values.total()
        if not count:
            return {"count": 0, "mean": None, "median": None, "min": None, "max": None, "bins": []}
        ordered = sorted(self.values.items())
        low, high = ordered[0][0], ordered[-1][0]
        return {
            "count": count,
            "mean": round(float(self.total / count), 2),
            "median": _median(ordered, count),
            "min": low,
            "max": high,
            "bins": self.histogram(ordered, low, high),
        }

    def histogram(
        self, ordered: list[tuple[int | float, int]], low: float, high: float
    ) -> list[dict[str, float | int]]:
        """Counts in at most BINS bins of a round width (1, 2 or 5 times a power of ten).

        Each bin holds the numbers from its lower edge up to, not including, its upper
        edge, except the last, which also holds its upper edge: a 0-100 percentage
        question gets ten bins with 100 in 90-100, not an eleventh bin 100-110 that
        only that answer could ever fall in.

        Bins are computed in decimals, from each number as it was typed (its shortest
        ``repr``): in floats, 1 // 0.1 is 9, which would put the answer 1 in the bin
        0.9-1.
        """
        bottom = self.question.minimum if self.question.minimum is not None else low
        top = self.question.maximum if self.question.maximum is not None else high
        start, stop = _decimal(min(bottom, low)), _decimal(max(top, high))
        width = _nice_width((stop - start) / self.BINS if stop > start else Decimal(1))
        first, bins = _bin_span(start, stop, width)
        while bins > self.BINS:
            width = _nice_width(width * Decimal("1.000001"))
            first, bins = _bin_span(start, stop, width)
        counts = [0] * bins
        for value, n in ordered:
            counts[min(bins - 1, math.floor(_decimal(value) / width) - first)] += n
        return [
            {
                "from": _plain((first + i) * width),
                "to": _plain((first + i + 1) * width),
                "count": c,
            }
            for i, c in enumerate(counts)
        ]


def _bin_span(start: Decimal, stop: Decimal, width: Decimal) -> tuple[int, int]:
    """The first bin's index and how many bins of ``width`` cover start..stop inclusive."""
    first = math.floor(start / width)
    return first, max(1, math.ceil(stop / width) - first)


def _decimal(value: float) -> Decimal:
    """A number as the decimal people typed: 0.3 is 0.3, not 0.299999999999999988898."""
    return Decimal(repr(value))


def _plain(value: Decimal) -> int | float:
    """A bin edge for JSON: an int when whole."""
    number = float(value)
    return int(number) if number.is_integer() else number


def _nice_width(raw: Decimal) -> Decimal:
    """The smallest of 1, 2 or 5 times a power of ten that is at least ``raw`` (> 0)."""
    exponent = raw.adjusted()
    for step in (1, 2, 5, 10):
        width = Decimal(step).scaleb(exponent)
        if width >= raw:
            return width
    return Decimal(1).scaleb(exponent + 1)


def _tidy(value: float) -> int | float:
    rounded = round(value, 10)
    return int(rounded) if float(rounded).is_integer() else rounded


def _median(ordered: list[tuple[int, int]] | list[tuple[int | float, int]], count: int) -> Any:
    """The median of values given with their counts, in ascending order."""
    if not count:
        return None
    middle = (count - 1) / 2
    seen = 0
    lower: int | float | None = None
    for value, n in ordered:
        if not n:
            continue
        if lower is None and seen + n > math.floor(middle):
            lower = value
        if seen + n > math.ceil(middle):
            assert lower is not None
            return _tidy((lower + value) / 2)
        seen += n
    return lower


class TextTally(Tally):
    """Word frequencies for the cloud, and the latest answers for the wall."""

    def __init__(self, question: Question) -> None:
        super().__init__(question)
        self.words: Counter[str] = Counter()
        self.latest: OrderedDict[str, str] = OrderedDict()
        """Voter → answer, the most recently changed last."""

    def add(self, voter: str, answer: Answer, at: float) -> None:
        assert isinstance(answer, str)
        self.words.update(words_of(answer))
        self.latest[voter] = answer
        self.latest.move_to_end(voter)

    def remove(self, voter: str, answer: Answer) -> None:
        assert isinstance(answer, str)
        self.words.subtract(words_of(answer))
        for word in words_of(answer):
            if self.words[word] <= 0:
                del self.words[word]
        self.latest.pop(voter, None)

    def summary(self, guard: Guard) -> dict[str, Any]:
        cloud = []
        masked = 0
        for word, count in self.words.most_common():
            if guard.is_blocked(word):
                masked += count
                continue
            cloud.append([word, count])
            if len(cloud) == CLOUD_WORDS:
                break
        wall = []
        for answer in reversed(self.latest.values()):
            wall.append(guard.mask(answer))
            if len(wall) == WALL_ANSWERS:
                break
        return {"count": len(self.latest), "words": cloud, "masked": masked, "latest": wall}


class RankingTally(Tally):
    """Borda scores (n-1 points for first place … 0 for last) and first places."""

    def __init__(self, question: Question) -> None:
        super().__init__(question)
        self.scores = [0] * len(question.options)
        self.firsts = [0] * len(question.options)

    def _apply(self, answer: Answer, sign: int) -> None:
        assert isinstance(answer, tuple)
        last = len(answer) - 1
        for position, option in enumerate(answer):
            self.scores[option] += sign * (last - position)
        self.firsts[answer[0]] += sign

    def add(self, voter: str, answer: Answer, at: float) -> None:
        self._apply(answer, 1)

    def remove(self, voter: str, answer: Answer) -> None:
        self._apply(answer, -1)

    def summary(self, guard: Guard) -> dict[str, Any]:
        order = sorted(range(len(self.scores)), key=lambda i: (-self.scores[i], -self.firsts[i], i))
        return {
            "scores": list(self.scores),
            "firsts": list(self.firsts),
            "order": order,
        }


class QaTally(Tally):
    """Q&A keeps no answers per voter; its board lives in :class:`QaBoard`."""

    def add(self, voter: str, answer: Answer, at: float) -> None:
        raise Rejection("wrong_type", "this question takes questions and upvotes, not votes")

    def remove(self, voter: str, answer: Answer) -> None:
        raise Rejection("wrong_type", "this question takes questions and upvotes, not votes")

    def summary(self, guard: Guard) -> dict[str, Any]:
        return {}


_TALLIES: dict[str, type[Tally]] = {
    "single": ChoiceTally,
    "multi": ChoiceTally,
    "quiz": QuizTally,
    "scale": ScaleTally,
    "number": NumberTally,
    "text": TextTally,
    "ranking": RankingTally,
    "qa": QaTally,
}


@dataclass(slots=True)
class QaItem:
    """One attendee question in a Q&A."""

    id: int
    text: str
    author: str
    """The poster's voter key: never shown, only used for the per-phone limit."""
    state: QaState
    at: float
    voters: set[str] = field(default_factory=set)
    """Who upvoted it: one upvote per voter per item."""

    def public(self, guard: Guard | None) -> dict[str, Any]:
        """The item as screens show it (masked when the Q&A is not moderated)."""
        text = guard.mask(self.text) if guard is not None else self.text
        return {"id": self.id, "text": text, "votes": len(self.voters), "state": self.state}


_QA_ORDER: dict[str, int] = {"pending": 0, "visible": 1, "answered": 2, "hidden": 3}


@dataclass(slots=True)
class QaBoard:
    """The questions attendees posted in a Q&A, their upvotes and their moderation."""

    moderated: bool
    limit: int = MAX_QA_ITEMS
    """Items the board takes from phones; items restored from the store are never refused."""
    items: dict[int, QaItem] = field(default_factory=dict)
    posted: Counter[str] = field(default_factory=Counter)
    by_author: dict[tuple[str, str], int] = field(default_factory=dict)
    """(voter, text) → the item it made, so that the same question sent again is one item."""
    next_id: int = 1
    """The id the next posted item gets (kept, not recomputed: a post costs O(1))."""

    def post(self, voter: str, text: str, at: float, item_id: int | None = None) -> QaItem:
        """Add a question; it waits for approval in a moderated Q&A.

        A phone that sends the same question again gets the item it already made: the
        page resends a question whose ack a dropped connection lost, and the room must
        not see it twice.
        """
        repeat = self.by_author.get((voter, text))
        if repeat is not None:
            return self.items[repeat]
        if item_id is None and len(self.items) >= self.limit:
            raise Rejection(
                "qa_full",
                f"this Q&A has taken its limit of {self.limit} questions; "
                "upvote one that is already there",
            )
        if item_id is None and self.posted[voter] >= QA_QUESTIONS_PER_VOTER:
            raise Rejection(
                "limit_reached", f"you can post at most {QA_QUESTIONS_PER_VOTER} questions here"
            )
        new_id = item_id if item_id is not None else self.next_id
        self.next_id = max(self.next_id, new_id + 1)
        item = QaItem(new_id, text, voter, "pending" if self.moderated else "visible", at)
        self.items[new_id] = item
        self.posted[voter] += 1
        self.by_author[(voter, text)] = new_id
        return item

    def upvote(self, voter: str, item_id: int, up: bool) -> bool:
        """Add or take back a voter's upvote; True if it changed anything."""
        item = self.items.get(item_id)
        if item is None or item.state in ("pending", "hidden"):
            raise Rejection("no_such_item", f"there is no question {item_id} to upvote")
        if up == (voter in item.voters):
            return False
        if up:
            item.voters.add(voter)
        else:
            item.voters.discard(voter)
        return True

    @property
    def full(self) -> bool:
        """True once the board takes no more items from phones."""
        return len(self.items) >= self.limit

    def counts(self) -> dict[str, int]:
        """How many items are in each state (O(items): once per tick, not per vote)."""
        counts: dict[str, int] = dict.fromkeys(QA_STATES, 0)
        for item in self.items.values():
            counts[item.state] += 1
        return counts

    def ranked(self, states: Iterable[QaState]) -> list[QaItem]:
        """Items in the given states: those awaiting approval first (the chair's queue),
        then open ones by upvotes, then answered ones, hidden ones last; ties oldest first."""
        wanted = set(states)
        chosen = [item for item in self.items.values() if item.state in wanted]
        return sorted(chosen, key=_rank)

    def top(self, states: Iterable[QaState], count: int) -> list[QaItem]:
        """The first ``count`` of :meth:`ranked`, without sorting the whole board."""
        wanted = set(states)
        chosen = (item for item in self.items.values() if item.state in wanted)
        return heapq.nsmallest(count, chosen, key=_rank)


def _rank(item: QaItem) -> tuple[int, int, int]:
    """The queue's order: by state, then most upvoted, then oldest."""
    return (_QA_ORDER[item.state], -len(item.voters), item.id)


@dataclass(slots=True)
class QuestionState:
    """The live state of one question: status, timer, visibility and its tally."""

    question: Question
    status: Status = Status.PENDING
    results_shown: bool = False
    answers: dict[str, Answer] = field(default_factory=dict)
    """Latest answer per voter key (a pseudonymous key, never the phone's raw token)."""
    tally: Tally = field(init=False)
    qa: QaBoard | None = field(init=False)
    opened_at: float | None = None
    """When voting first opened; reopening keeps it, so a quiz's speed scores have one
    starting gun that a restart restores (the store keeps this one time)."""
    deadline: float | None = None
    """When a timed question closes by itself; None when the chair closes it."""

    def __post_init__(self) -> None:
        self.tally = _TALLIES[self.question.type](self.question)
        self.qa = QaBoard(self.question.moderated) if self.question.type == "qa" else None

    @property
    def counts(self) -> list[int]:
        """Votes per option (choice types) or per point (scale); empty otherwise."""
        counts = getattr(self.tally, "counts", None)
        return list(counts) if counts is not None else []

    @property
    def respondents(self) -> int:
        """How many voters answered (a multi answer counts once; Q&A: posters)."""
        if self.qa is not None:
            return len(self.qa.posted)
        return len(self.answers)

    def record(self, voter: str, answer: Answer, at: float) -> Answer | None:
        """Set ``voter``'s answer and move the tally by the difference; returns the old one."""
        previous = self.answers.get(voter)
        if previous == answer:
            return previous
        if previous is not None:
            self.tally.remove(voter, previous)
        self.tally.add(voter, answer, at)
        self.answers[voter] = answer
        return previous

    def time_left(self, now: float) -> float | None:
        """Seconds until a timed question closes, or None."""
        if self.deadline is None or self.status is not Status.OPEN:
            return None
        return max(0.0, round(self.deadline - now, 1))


def categories(question: Question, answer: Answer) -> tuple[int, ...]:
    """The categories (indexes into :attr:`Question.segments`) an answer falls in:
    its options for a choice question, its point's position for a scale."""
    if isinstance(answer, tuple):
        return answer
    assert isinstance(answer, int)
    return (answer - question.scale_values.start,)


class CrossTab:
    """One question's answers split by an earlier question's answers, kept incrementally.

    Rows are the segments (the segmenting question's options or scale points), columns
    the split question's options or points. ``cells[row][column]`` counts voters in
    that segment whose answer includes that column; ``bases[row]`` counts voters in the
    segment who answered the split question at all. A voter who picked several options
    of a ``multi`` segmenting question is in each of those segments.

    Each change of answer, to either question, moves one voter's counts: O(options of
    the one times options of the other), and never a recount of the voters.
    """

    def __init__(self, question: QuestionState, segment: QuestionState) -> None:
        self.question = question
        self.segment = segment
        rows, columns = len(segment.question.segments), len(question.question.segments)
        self.cells = [[0] * columns for _ in range(rows)]
        self.bases = [0] * rows
        for voter, answer in question.answers.items():
            grouping = segment.answers.get(voter)
            if grouping is not None:
                self._move(grouping, answer, 1)

    def _move(self, grouping: Answer, answer: Answer, sign: int) -> None:
        columns = categories(self.question.question, answer)
        for row in categories(self.segment.question, grouping):
            self.bases[row] += sign
            cells = self.cells[row]
            for column in columns:
                cells[column] += sign

    def answered(self, voter: str, previous: Answer | None, answer: Answer) -> None:
        """``voter`` changed their answer to the split question."""
        grouping = self.segment.answers.get(voter)
        if grouping is None:
            return
        if previous is not None:
            self._move(grouping, previous, -1)
        self._move(grouping, answer, 1)

    def regrouped(self, voter: str, previous: Answer | None, grouping: Answer) -> None:
        """``voter`` changed their answer to the segmenting question: their answer to
        the split question moves from their old segment(s) to the new one(s)."""
        answer = self.question.answers.get(voter)
        if answer is None:
            return
        if previous is not None:
            self._move(previous, answer, -1)
        self._move(grouping, answer, 1)

    def summary(self, min_base: int = MIN_SEGMENT) -> dict[str, Any]:
        """The table for screens and reports, JSON-ready.

        A segment with fewer than ``min_base`` respondents shows neither its counts nor
        its base, only that it is too small: ``{"label", "suppressed": true}``.
        Percentages are of the segment's base (row percentages), to one decimal.
        """
        rows: list[dict[str, Any]] = []
        for label, base, cells in zip(
            self.segment.question.segments, self.bases, self.cells, strict=True
        ):
            if base < min_base:
                rows.append({"label": label, "suppressed": True})
                continue
            rows.append(
                {
                    "label": label,
                    "suppressed": False,
                    "base": base,
                    "counts": list(cells),
                    "percents": [round(100 * count / base, 1) for count in cells],
                }
            )
        return {
            "question": self.question.question.id,
            "by": self.segment.question.id,
            "prompt": self.question.question.prompt,
            "by_prompt": self.segment.question.prompt,
            "columns": list(self.question.question.segments),
            "rows": rows,
            "min_base": min_base,
        }


def crosstab_problem(deck: Deck, question_id: str, by: str) -> str | None:
    """Why ``question_id`` cannot be split by ``by``, or None when it can.

    Any question with categories (options or scale points) can be split by any other
    such question asked before it.
    """
    ids = [question.id for question in deck.questions]
    for name in (question_id, by):
        if name not in ids:
            return f"there is no question {name!r}"
    if question_id == by:
        return "a question cannot be split by itself"
    kinds = f"{', '.join(SEGMENT_TYPES[:-1])} or {SEGMENT_TYPES[-1]}"
    for name in (question_id, by):
        question = deck.question(name)
        assert question is not None
        if question.type not in SEGMENT_TYPES:
            return f"{name!r} is a {question.type} question; cross-tabs take {kinds} questions"
    if ids.index(by) > ids.index(question_id):
        return f"{by!r} comes after {question_id!r}; split a question by an earlier one"
    return None


class Session:
    """One run of a deck: the chair's position in it and every question's state.

    Every change bumps :attr:`version`, so the server can tell cheaply whether a
    tick has anything new to send.
    """

    def __init__(
        self,
        deck: Deck,
        *,
        max_qa_items: int = MAX_QA_ITEMS,
        max_text_answers: int = MAX_TEXT_ANSWERS,
        min_segment: int = MIN_SEGMENT,
    ) -> None:
        self.deck = deck
        self.guard = Guard(deck.blocklist)
        self.states: dict[str, QuestionState] = {q.id: QuestionState(q) for q in deck.questions}
        self.max_text_answers = max_text_answers
        """Text answers a question takes from phones (a voter may still change theirs)."""
        for state in self.states.values():
            if state.qa is not None:
                state.qa.limit = max_qa_items
        self.current_index = 0
        self.version = 0
        self.nicknames: dict[str, str] = {}
        """Voter key → the nickname chosen for the quiz leaderboard."""
        self.min_segment = min_segment
        """Cross-tab segments with fewer respondents than this are not shown."""
        self.crosstabs: dict[tuple[str, str], CrossTab] = {}
        """(question id, segmenting question id) → its cross-tab, kept up to date."""
        self._crosstabs_of: dict[str, list[CrossTab]] = {}
        """Question id → the cross-tabs its answers move (as split or as segment)."""
        self.segment_view: str | None = None
        """The question the chair split the current one by on the console, or None."""
        for question in deck.questions:
            if question.segment_by is not None:
                self.crosstab(question.id, question.segment_by)

    def crosstab(self, question_id: str, by: str) -> CrossTab:
        """The cross-tab of ``question_id`` by ``by``, counted once and kept from then on.

        Declared ones (``segment_by``) exist from the start; another pair the chair or
        a report asks for is counted from the answers once, then kept incrementally.

        Raises:
            Rejection: the pair cannot be cross-tabulated.
        """
        table = self.crosstabs.get((question_id, by))
        if table is not None:
            return table
        problem = crosstab_problem(self.deck, question_id, by)
        if problem is not None:
            raise Rejection("bad_crosstab", problem)
        table = CrossTab(self.states[question_id], self.states[by])
        self.crosstabs[(question_id, by)] = table
        self._crosstabs_of.setdefault(question_id, []).append(table)
        self._crosstabs_of.setdefault(by, []).append(table)
        return table

    def _record(self, state: QuestionState, voter: str, answer: Answer, at: float) -> Answer | None:
        """Record an answer and move every cross-tab the question takes part in."""
        previous = state.record(voter, answer, at)
        if previous != answer:
            question_id = state.question.id
            for table in self._crosstabs_of.get(question_id, ()):
                if table.question is state:
                    table.answered(voter, previous, answer)
                else:
                    table.regrouped(voter, previous, answer)
        return previous

    def set_segment_view(self, by: str | None) -> bool:
        """Split the current question by ``by`` on the console (None: the plain view).

        Raises:
            Rejection: the current question cannot be split by ``by``.
        """
        if by is not None:
            self.crosstab(self.current.question.id, by)
        if by == self.segment_view:
            return False
        self.segment_view = by
        self.version += 1
        return True

    def segment_choices(self) -> list[str]:
        """What the console's ``s`` cycles through for the current question: its declared
        ``segment_by`` alone, else every earlier question with categories (none when the
        current question's answers are not categories)."""
        question = self.current.question
        if question.segment_by is not None:
            return [question.segment_by]
        if question.type not in SEGMENT_TYPES:
            return []
        earlier = self.deck.questions[: self.current_index]
        return [other.id for other in earlier if other.type in SEGMENT_TYPES]

    def cycle_segment_view(self) -> bool:
        """The chair's ``s``: split by the next choice, and after the last, back to plain.

        Returns whether the view changed.
        """
        choices = self.segment_choices()
        if not choices:
            return self.set_segment_view(None)
        if self.segment_view in choices:
            following = choices.index(self.segment_view) + 1
            return self.set_segment_view(choices[following] if following < len(choices) else None)
        return self.set_segment_view(choices[0])

    def segment_view_summary(self) -> dict[str, Any] | None:
        """The cross-tab the console shows for the current question, or None."""
        if self.segment_view is None:
            return None
        table = self.crosstabs.get((self.current.question.id, self.segment_view))
        return table.summary(self.min_segment) if table is not None else None

    @property
    def current(self) -> QuestionState:
        """The question on screen now."""
        return self.states[self.deck.questions[self.current_index].id]

    def limit_of(self, state: QuestionState) -> int | None:
        """How many answers (text) or items (Q&A) ``state`` takes; None when unbounded
        (every other type keeps one small answer per voter)."""
        if state.qa is not None:
            return state.qa.limit
        if state.question.type == "text":
            return self.max_text_answers
        return None

    def state_of(self, question_id: str) -> QuestionState | None:
        """The state of a question by id, or None for an unknown id."""
        return self.states.get(question_id)

    def _open_state(self, question_id: str, at: float) -> QuestionState:
        state = self.states.get(question_id)
        if state is None:
            raise Rejection("no_such_question", f"there is no question {question_id!r}")
        if state.status is Status.PENDING:
            raise Rejection("question_not_open", "voting on this question has not opened yet")
        if state.status is Status.CLOSED:
            raise Rejection("question_closed", "voting on this question is closed")
        if state.deadline is not None and at > state.deadline:
            raise Rejection("time_up", "time is up for this question")
        return state

    def apply_vote(self, voter: str, question_id: str, raw_answer: Any, at: float) -> AcceptedVote:
        """Validate and count one answer.

        Raises:
            Rejection: unknown question, voting not open, time up, or an invalid answer.
        """
        try:
            state = self._open_state(question_id, at)
        except Rejection as rejection:
            # A phone that lost its connection before the ack resends after voting
            # closed; if it is the answer already counted, it is the same vote.
            state_now = self.states.get(question_id)
            if rejection.code in ("question_closed", "time_up") and state_now is not None:
                previous = state_now.answers.get(voter)
                with contextlib.suppress(Rejection):
                    if (
                        previous is not None
                        and validate_answer(state_now.question, raw_answer) == previous
                    ):
                        return AcceptedVote(question_id, voter, previous, previous, at)
            raise
        answer = validate_answer(state.question, raw_answer)
        if (
            state.question.type == "text"
            and voter not in state.answers
            and len(state.answers) >= self.max_text_answers
        ):
            raise Rejection(
                "answers_full",
                f"this question has taken its limit of {self.max_text_answers} answers; "
                "no more can be added",
            )
        previous = self._record(state, voter, answer, at)
        if previous != answer:
            self.version += 1
        return AcceptedVote(question_id, voter, answer, previous, at)

    def post_question(self, voter: str, question_id: str, raw_text: Any, at: float) -> QaItem:
        """Post an attendee question to an open Q&A.

        Raises:
            Rejection: not an open Q&A, bad text, or the phone's limit reached.
        """
        state = self._open_state(question_id, at)
        if state.qa is None:
            raise Rejection("wrong_type", "this question does not take questions")
        text = clean_answer_text(state.question, raw_text)
        known = len(state.qa.items)
        item = state.qa.post(voter, text, at)
        if len(state.qa.items) != known:
            self.version += 1
        return item

    def upvote(self, voter: str, question_id: str, item_id: Any, up: bool, at: float) -> bool:
        """Upvote (or take back an upvote on) a Q&A item, once per voter per item.

        Raises:
            Rejection: not an open Q&A, or no such visible item.
        """
        state = self._open_state(question_id, at)
        if state.qa is None:
            raise Rejection("wrong_type", "this question does not take upvotes")
        if isinstance(item_id, bool) or not isinstance(item_id, int):
            raise Rejection("bad_message", "item must be a number")
        changed = state.qa.upvote(voter, item_id, up)
        if changed:
            self.version += 1
        return changed

    def moderate(self, item_id: int, new_state: str, at: float) -> Event | None:
        """The chair approves, hides, or marks answered an item of the current Q&A."""
        board = self.current.qa
        if board is None or new_state not in QA_STATES or new_state == "pending":
            return None
        item = board.items.get(item_id)
        if item is None or item.state == new_state:
            return None
        item.state = new_state
        detail = f"{item_id}:{new_state}"
        return self._changed(Event(EventKind.QA_MODERATED, self.current.question.id, at, detail))

    def set_nickname(self, voter: str, raw: Any) -> str:
        """A phone's nickname for quiz leaderboards, once per session (it may change it).

        Raises:
            Rejection: not text, empty, or too long.
        """
        if not isinstance(raw, str):
            raise Rejection("bad_message", "a nickname is text")
        name = clean_text(raw)
        if not name and raw.strip():
            raise Rejection("bad_nickname", "a nickname needs visible characters")
        if not name or len(name) > MAX_NICKNAME:
            raise Rejection("bad_nickname", f"a nickname has 1-{MAX_NICKNAME} characters")
        self.nicknames[voter] = name
        self.version += 1
        return name

    def leaderboard(
        self, through: str | None = None, *, movement: bool = False
    ) -> list[dict[str, Any]]:
        """Quiz players by total points across the session's quizzes, best first.

        With ``through``, only the quizzes up to and including that question in deck
        order count: the board the room saw when that quiz closed, which is what a
        report shows under each quiz rather than the final board every time.

        With ``movement`` (the presenter's board), each player also gets
        ``previous_rank``: their rank before the last quiz counted (ties share a
        rank; None when they had no points before it, or it is the first quiz), and
        ``gained``: the points that quiz gave them.
        """
        totals: Counter[str] = Counter()
        before: Counter[str] = Counter()
        right: Counter[str] = Counter()
        for question in self.deck.questions:
            state = self.states[question.id]
            if isinstance(state.tally, QuizTally) and state.status is not Status.PENDING:
                before = totals.copy()
                totals.update(state.tally.scores)
                right.update(state.tally.scores.keys())
            if question.id == through:
                break
        ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:LEADERBOARD_SIZE]
        board: list[dict[str, Any]] = [
            {
                "name": self.guard.mask(self.nicknames.get(voter, "Anonymous")),
                "points": points,
                "right": right[voter],
            }
            for voter, points in ranked
        ]
        if movement:
            earlier = sorted(before.values(), reverse=True)
            for entry, (voter, points) in zip(board, ranked, strict=True):
                had = before.get(voter)
                entry["previous_rank"] = (
                    None if had is None else 1 + sum(1 for other in earlier if other > had)
                )
                entry["gained"] = points - (had or 0)
        return board

    def open_voting(self, at: float) -> Event | None:
        """Open voting on the current question (starting its timer); None if already open."""
        state = self.current
        if state.status is Status.OPEN:
            return None
        kind = EventKind.REOPENED if state.status is Status.CLOSED else EventKind.OPENED
        state.status = Status.OPEN
        if state.opened_at is None:
            state.opened_at = at
        limit = state.question.time_limit
        state.deadline = at + limit if limit else None
        if isinstance(state.tally, QuizTally):
            state.tally.opened_at = state.opened_at
        detail = f"{limit}s" if limit else ""
        return self._changed(Event(kind, state.question.id, at, detail))

    def close_voting(self, at: float, kind: EventKind = EventKind.CLOSED) -> Event | None:
        """Close voting on the current question; None if it is not open."""
        state = self.current
        if state.status is not Status.OPEN:
            return None
        state.status = Status.CLOSED
        state.deadline = None
        return self._changed(Event(kind, state.question.id, at))

    def toggle_voting(self, at: float) -> Event | None:
        """The chair's one key for voting: open it if it is not open, else close it."""
        if self.current.status is Status.OPEN:
            return self.close_voting(at)
        return self.open_voting(at)

    def extend(self, at: float, seconds: int = EXTEND_SECONDS) -> Event | None:
        """Give a timed question more time; None when it is not open or not timed."""
        state = self.current
        if state.status is not Status.OPEN or state.deadline is None:
            return None
        state.deadline = max(state.deadline, at) + seconds
        return self._changed(Event(EventKind.EXTENDED, state.question.id, at, f"+{seconds}s"))

    def expire(self, at: float) -> Event | None:
        """Close the current question if its time is up (the server calls this each tick)."""
        state = self.current
        if state.status is Status.OPEN and state.deadline is not None and at >= state.deadline:
            return self.close_voting(at, EventKind.TIME_UP)
        return None

    def set_results_shown(self, shown: bool, at: float) -> Event | None:
        """Show or hide the current question's results; None when nothing changes."""
        state = self.current
        if state.results_shown == shown:
            return None
        state.results_shown = shown
        kind = EventKind.RESULTS_SHOWN if shown else EventKind.RESULTS_HIDDEN
        return self._changed(Event(kind, state.question.id, at))

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
        self.segment_view = None
        moved = Event(EventKind.MOVED, self.current.question.id, at, detail=str(index))
        events.append(self._changed(moved))
        return events

    def next(self, at: float) -> list[Event]:
        """Move to the next question, if there is one."""
        return self.go_to(self.current_index + 1, at)

    def previous(self, at: float) -> list[Event]:
        """Move back to the previous question, if there is one."""
        return self.go_to(self.current_index - 1, at)

    def summary(self, state: QuestionState) -> dict[str, Any]:
        """A question's results as the screens show them (blocked words masked)."""
        return state.tally.summary(self.guard)

    def restore(
        self,
        current_index: int,
        statuses: Mapping[str, StoredQuestionState],
        answers: Iterable[tuple[str, str, Any, float]],
        qa_items: Iterable[StoredQaItem] = (),
        nicknames: Mapping[str, str] | None = None,
    ) -> None:
        """Rebuild the session from stored state after a restart.

        Args:
            current_index: the question that was on screen.
            statuses: per question id, its stored status, visibility and timer.
            answers: (question id, voter key, answer as JSON, answer time) rows.
            qa_items: Q&A items with their upvoters.
            nicknames: voter key → quiz nickname.
        """
        if 0 <= current_index < len(self.deck.questions):
            self.current_index = current_index
        for question_id, stored in statuses.items():
            state = self.states.get(question_id)
            if state is None:
                continue
            state.status = stored.status
            state.results_shown = stored.results_shown
            state.opened_at = stored.opened_at
            state.deadline = stored.deadline if stored.status is Status.OPEN else None
            if isinstance(state.tally, QuizTally):
                state.tally.opened_at = stored.opened_at
        # Only the question on screen can be open; a stored state that says otherwise
        # (a file edited by hand) is closed rather than trusted.
        for state in self.states.values():
            if state.status is Status.OPEN and state is not self.current:
                state.status = Status.CLOSED
                state.deadline = None
        for question_id, voter, value, at in answers:
            state = self.states.get(question_id)
            if state is not None:
                self._record(state, voter, answer_from_json(state.question, value), at)
        for stored_item in qa_items:
            state = self.states.get(stored_item.question_id)
            if state is None or state.qa is None:
                continue
            item = state.qa.post(
                stored_item.author, stored_item.text, stored_item.at, stored_item.id
            )
            item.state = stored_item.state
            item.voters = set(stored_item.voters)
        self.nicknames.update(nicknames or {})
        self.version += 1

    def _changed(self, event: Event) -> Event:
        self.version += 1
        return event


@dataclass(frozen=True, slots=True)
class StoredQuestionState:
    """What the store keeps of a question's state, to resume after a restart."""

    status: Status
    results_shown: bool = False
    opened_at: float | None = None
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class StoredQaItem:
    """A Q&A item as the store keeps it."""

    question_id: str
    id: int
    text: str
    author: str
    state: QaState
    at: float
    voters: tuple[str, ...] = ()
