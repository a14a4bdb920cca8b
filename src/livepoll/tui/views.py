"""What the results area shows for each question type, worked out without Textual.

The server sends every type's summary in its own shape (counts per option, Borda
scores, a histogram, a word list, Q&A items). This module turns each into the one
shape the bars widget draws: labelled rows with a bar length and a figure (a word
cloud gets its words instead, for :mod:`livepoll.tui.cloud` to lay out). Keeping
it pure makes the per-type rules cheap to test and keeps the widget generic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from livepoll.protocol import PresenterState

TEXT_ROWS = 12
"""Answers listed on a text question's wall; the rest would not fit."""

QA_ROWS = 12
"""Audience questions listed for a Q&A, most upvoted first."""

LEADERBOARD_NAMES = 5
"""Quiz players named on the leaderboard line under the bars."""

QaAction = Literal["approve", "hide", "answered"]
"""The chair's moderation keys (``a``, ``h``, ``x``)."""

_QA_MARKS = {"pending": "PENDING", "visible": "", "answered": "answered", "hidden": "HIDDEN"}
_QA_TONES = {"pending": "warning", "visible": "", "answered": "success", "hidden": "muted"}

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def option_letter(index: int) -> str:
    """The letter the chair can call an option by (decks have at most 26)."""
    return _LETTERS[index] if index < len(_LETTERS) else str(index + 1)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of results: a key to call it by, user text, a bar and a figure."""

    key: str
    """A short handle, e.g. ``A`` for an option or ``4`` for a scale point; may be empty."""
    label: str
    """User text (an option, a word, an answer): always drawn literally."""
    value: float = 0.0
    """How long the bar is, against :attr:`ResultsView.full`."""
    figure: str = ""
    """The number(s) printed after the bar, e.g. ``12  40%``."""
    mark: str = ""
    """A short tag after the label, e.g. ``✓`` for a quiz's right answer."""
    tone: str = "success"
    """How the mark is coloured: ``success``, ``warning`` or ``muted`` (also dims the label)."""
    selected: bool = False
    """The chair's moderation cursor is on this row."""


@dataclass(frozen=True, slots=True)
class ResultsView:
    """The results area of one state: rows, how to scale their bars, and a summary."""

    rows: tuple[Row, ...]
    full: float
    """The value a full-width bar stands for; 0 draws labels without bars."""
    shown: bool
    """False while the chair keeps results off the projector (avoids herding)."""
    listing: tuple[Row, ...] = ()
    """Rows safe to show while results are hidden: the options, never the answers."""
    summary: str = ""
    """One line under the rows, e.g. ``mean 3.4 · median 4``."""
    empty: str = ""
    """Shown instead of rows when there are none yet."""
    focus: int | None = None
    """The row that must stay on screen when not all fit (the moderation cursor)."""
    cloud: tuple[tuple[str, int], ...] | None = None
    """A word cloud's ``(word, count)`` pairs, most used first, drawn instead of rows;
    None for every other kind of results."""


def _number(value: Any) -> str:
    """A figure from the server (int, float or None), short and without noise."""
    if value is None:
        return "–"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _share_rows(
    keys: list[str], labels: list[str], counts: list[int], respondents: int
) -> tuple[Row, ...]:
    """Rows of ``count  percent`` where percent is of respondents, aligned in columns."""
    width = len(str(max(counts, default=0)))
    rows = []
    for key, label, count in zip(keys, labels, counts, strict=False):
        percent = 100.0 * count / respondents if respondents > 0 else 0.0
        rows.append(Row(key, label, float(count), f"{count:>{width}}  {percent:>3.0f}%"))
    return tuple(rows)


def moderation_items(state: PresenterState) -> tuple[dict[str, Any], ...]:
    """The page of Q&A items the chair moderates, in the server's order: waiting for
    approval first, then shown ones by upvotes, answered ones, hidden ones last. Empty
    for other types."""
    if state.question.type != "qa" or state.qa is None:
        return ()
    return tuple(item for item in state.qa.page if isinstance(item.get("id"), int))


PageTurn = tuple[int, Literal["first", "last"]]
"""A moderation page to ask the server for (its offset) and where the cursor lands."""


def page_turn(state: PresenterState, current: int | None, step: int) -> PageTurn | None:
    """The page to ask for when the cursor moves ``step`` past the end (or the start)
    of the page it is on, or None when it stays on this page."""
    moderation = state.qa
    items = moderation_items(state)
    if moderation is None or not items or current is None:
        return None
    ids = [int(item["id"]) for item in items]
    if current not in ids:
        return None
    position = ids.index(current)
    if step > 0 and position == len(ids) - 1 and moderation.offset + len(ids) < moderation.total:
        return moderation.offset + moderation.size, "first"
    if step < 0 and position == 0 and moderation.offset > 0:
        return max(0, moderation.offset - moderation.size), "last"
    return None


def limit_line(state: PresenterState) -> str:
    """Tells the chair that the question takes no more answers or questions, or ""."""
    if not state.full or state.limit is None:
        return ""
    what = "questions" if state.question.type == "qa" else "answers"
    return f"limit of {state.limit} {what} reached: phones are told no more are taken"


def move_cursor(items: Sequence[dict[str, Any]], current: int | None, step: int) -> int | None:
    """The item id ``step`` rows from ``current`` (clamped to the list); the first
    item when ``current`` is None or gone; None when there are no items."""
    ids = [int(item["id"]) for item in items]
    if not ids:
        return None
    if current not in ids:
        return ids[0]
    position = max(0, min(ids.index(current) + step, len(ids) - 1))
    return ids[position]


def cursor_after(items: Sequence[dict[str, Any]], acted_on: int) -> int:
    """Where the cursor goes once the chair has acted on ``acted_on``: the next item
    in the list (the next one waiting, in a queue), else the one before, else itself."""
    ids = [int(item["id"]) for item in items]
    if acted_on not in ids or len(ids) == 1:
        return acted_on
    position = ids.index(acted_on)
    return ids[position + 1] if position + 1 < len(ids) else ids[position - 1]


def _qa_count(state: PresenterState, item_state: str) -> int:
    return state.qa.counts.get(item_state, 0) if state.qa is not None else 0


def _join(*lines: str) -> str:
    return "\n".join(line for line in lines if line)


def _moderation_view(state: PresenterState, cursor: int) -> ResultsView:
    """A page of Q&A items for the chair, waiting ones first, with their state and the
    cursor; the summary says which page of how many items."""
    items = moderation_items(state)
    most = max((int(i.get("votes", 0)) for i in items), default=1)
    rows = tuple(
        Row(
            "▶" if item["id"] == cursor else " ",
            str(item.get("text", "")),
            float(item.get("votes", 0)),
            f"▲ {item.get('votes', 0)}",
            _QA_MARKS.get(str(item.get("state")), str(item.get("state"))),
            _QA_TONES.get(str(item.get("state")), ""),
            selected=item["id"] == cursor,
        )
        for item in items
    )
    focus = next((i for i, row in enumerate(rows) if row.selected), None)
    # Shown ones carry no mark; the counts say what needs the chair, or was set aside.
    summary = " · ".join(
        f"{count} {label}"
        for label, count in (
            ("waiting", _qa_count(state, "pending")),
            ("answered", _qa_count(state, "answered")),
            ("hidden", _qa_count(state, "hidden")),
        )
        if count
    )
    moderation = state.qa
    if moderation is not None and items and moderation.total > len(items):
        first = moderation.offset + 1
        where = f"{first}–{moderation.offset + len(items)} of {moderation.total}"
        summary = " · ".join(part for part in (where, summary) if part)
    summary = _join(summary, limit_line(state))
    return ResultsView(rows, float(max(most, 1)), True, (), summary, "", focus)


def _leaderboard_line(state: PresenterState) -> str:
    """``Leaderboard  1 Ada 1840 · 2 Grace 1720 …`` (nicknames are user text)."""
    players = [
        f"{place} {player.get('name', '')} {player.get('points', 0)}"
        for place, player in enumerate(state.leaderboard[:LEADERBOARD_NAMES], start=1)
    ]
    return "Leaderboard  " + " · ".join(players) if players else ""


def results_view(state: PresenterState, cursor: int | None = None) -> ResultsView:
    """The results area for ``state``, whatever the question's type.

    ``cursor`` is the Q&A item the chair is moderating (None: the room's view).
    """
    question = state.question
    results = state.results or {}
    kind = question.type
    letters = [option_letter(i) for i in range(len(question.options))]
    listing = tuple(Row(key, label) for key, label in zip(letters, question.options, strict=True))
    shown = state.results_shown

    if kind in ("single", "multi", "quiz"):
        counts = list(state.counts) or list(results.get("counts", []))
        counts += [0] * (len(question.options) - len(counts))
        rows = _share_rows(letters, list(question.options), counts, state.respondents)
        summary = ""
        if kind == "quiz" and state.status == "closed":
            # The right answer is revealed with the results, once voting is over.
            right = set(question.correct)
            rows = tuple(
                Row(r.key, r.label, r.value, r.figure, "✓" if i in right else "")
                for i, r in enumerate(rows)
            )
            summary = f"{results.get('right', 0)} of {state.respondents} got it right"
            board = _leaderboard_line(state)
            if board:
                summary += "\n" + board
        elif kind == "multi" and question.max_choices > 1:
            summary = f"up to {question.max_choices} choices each, so shares add up past 100%"
        return ResultsView(rows, float(max(state.respondents, 1)), shown, listing, summary)

    if kind == "ranking":
        scores = list(results.get("scores", [0] * len(question.options)))
        firsts = list(results.get("firsts", [0] * len(question.options)))
        order = list(results.get("order", range(len(question.options))))
        width = len(str(max(scores, default=0)))
        rows = tuple(
            Row(
                letters[i],
                question.options[i],
                float(scores[i]),
                f"{scores[i]:>{width}} pts  {firsts[i]} first",
            )
            for i in order
            if 0 <= i < len(question.options)
        )
        most = state.respondents * max(len(question.options) - 1, 1)
        summary = "points: each ranking gives n-1 to its first choice … 0 to its last"
        return ResultsView(rows, float(max(most, 1)), shown, listing, summary)

    if kind == "scale":
        values = [int(v) for v in results.get("values", list(question.scale_values))]
        counts = [int(c) for c in results.get("counts", [0] * len(values))]
        ends = question.labels or ("", "")
        labels = [
            ends[0] if i == 0 else ends[1] if i == len(values) - 1 else ""
            for i in range(len(values))
        ]
        total = int(results.get("count", sum(counts)))
        rows = _share_rows([str(v) for v in values], labels, counts, total)
        scale_listing = tuple(Row(str(v), label) for v, label in zip(values, labels, strict=True))
        summary = f"mean {_number(results.get('mean'))} · median {_number(results.get('median'))}"
        return ResultsView(rows, float(max(total, 1)), shown, scale_listing, summary)

    if kind == "number":
        bins = list(results.get("bins", []))
        counts = [int(b.get("count", 0)) for b in bins]
        labels = [f"{_number(b.get('from'))}–{_number(b.get('to'))}{question.unit}" for b in bins]
        total = int(results.get("count", sum(counts)))
        rows = _share_rows([""] * len(bins), labels, counts, total)
        unit = question.unit
        summary = (
            f"median {_number(results.get('median'))}{unit} · "
            f"mean {_number(results.get('mean'))}{unit} · "
            f"range {_number(results.get('min'))}–{_number(results.get('max'))}{unit}"
            if total
            else ""
        )
        return ResultsView(rows, float(max(total, 1)), shown, (), summary, "No answers yet.")

    if kind == "text":
        total = int(results.get("count", 0))
        if question.display == "wall":
            answers = [str(a) for a in results.get("latest", [])][:TEXT_ROWS]
            rows = tuple(Row("", answer) for answer in answers)
            summary = _join(f"{total} answers, newest first", limit_line(state))
            return ResultsView(rows, 0.0, shown, (), summary, "No answers yet.")
        words = tuple((str(w), int(c)) for w, c in results.get("words", []))
        answered = f"{total} answer" if total == 1 else f"{total} answers"
        empty = f"No words to show yet from {answered}." if total else "No answers yet."
        summary = _join(f"most used words in {answered}", limit_line(state))
        return ResultsView((), 0.0, shown, (), summary, empty, cloud=words)

    if kind == "qa" and cursor is not None:
        return _moderation_view(state, cursor)

    if kind == "qa":
        # Pending questions await the chair's approval: never on the projector.
        public = [i for i in state.items if i.get("state") in ("visible", "answered")]
        waiting = _qa_count(state, "pending")
        most = max((int(i.get("votes", 0)) for i in public), default=1)
        rows = tuple(
            Row(
                "",
                str(item.get("text", "")),
                float(item.get("votes", 0)),
                f"▲ {item.get('votes', 0)}",
                "answered" if item.get("state") == "answered" else "",
            )
            for item in public[:QA_ROWS]
        )
        summary = _join(f"{waiting} waiting for approval" if waiting else "", limit_line(state))
        # Audience questions are the content of a Q&A, not a result to hold back.
        empty = summary or "No questions from the room yet."
        return ResultsView(rows, float(max(most, 1)), True, (), summary, empty)

    return ResultsView((), 0.0, shown, listing, "", f"No live view for {kind!r} questions.")
