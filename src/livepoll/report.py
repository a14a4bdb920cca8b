"""A self-contained HTML report of past sessions, for organisers.

One file, inline CSS and SVG, no JavaScript and no external requests, so it can be
mailed, attached to a conference write-up, or printed on A4. Every figure comes
from the engine's own tallies, rebuilt from the database exactly as the server
resumes a session, so the report shows what the projector showed. Every piece of
attendee or deck text is escaped, and wraps anywhere: a word of hundreds of
letters must not widen the page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from livepoll import __version__
from livepoll.crosstabs import Pair, check_pairs, tables
from livepoll.deck import Question
from livepoll.engine import MIN_SEGMENT, Session
from livepoll.event import Event
from livepoll.export import (
    RoomFigures,
    chosen_sessions,
    event_overview,
    in_event_order,
    replay,
)
from livepoll.store import EventRow, ResponseRow, SessionSummary, epoch

WIDTH = 640
"""Chart width in SVG units; the page scales it to fit A4 or a screen."""
PALETTE = ("#1d4ed8", "#0f766e", "#b45309", "#7c3aed", "#be123c", "#4d7c0f", "#0369a1")
CLOUD_WORD_LIMIT = 24
"""Characters of a word the cloud shows; its largest size fits 24 in the chart's width."""
OPENING_EVENTS = ("opened", "reopened")
TURNOUT_EVENTS = ("opened", "reopened", "closed", "time_up")


def esc(text: object) -> str:
    """Escape any text for HTML and SVG (quotes included, for attributes)."""
    return html.escape(str(text), quote=True)


@dataclass(slots=True)
class SessionData:
    """What the report needs of one session, read once."""

    summary: SessionSummary
    engine: Session
    events: list[EventRow]
    responses: list[ResponseRow]

    @property
    def label(self) -> str:
        """How the session is named in comparisons: its number, room (one deck may run
        in several rooms of an event) and start."""
        room = f" · {self.summary.room}" if self.summary.room is not None else ""
        return f"Session {self.summary.id}{room} · {_minute(self.summary.started_at)}"

    def turnout(self, question_id: str) -> tuple[int, int | None]:
        """Respondents and the most phones connected while the question was open."""
        respondents = self.engine.states[question_id].respondents
        phones = [
            event.phones
            for event in self.events
            if event.question_id == question_id
            and event.kind in TURNOUT_EVENTS
            and event.phones is not None
        ]
        return respondents, max(phones) if phones else None

    def answer_times(self, question_id: str) -> list[float]:
        """Seconds from the first opening of the question to each voter's first answer."""
        opened = [
            epoch(event.at)
            for event in self.events
            if event.question_id == question_id and event.kind in OPENING_EVENTS
        ]
        if not opened:
            return []
        start = opened[0]
        return sorted(
            max(0.0, epoch(row.first_at) - start)
            for row in self.responses
            if row.question_id == question_id
        )


async def build_report(
    database: Path,
    session_ids: Sequence[int] | None,
    *,
    room: str | None = None,
    crosstabs: Sequence[Pair] = (),
    min_segment: int = MIN_SEGMENT,
    event: Event | None = None,
) -> str:
    """The HTML report for the chosen sessions (all by default) of ``database``.

    Args:
        room: only the sessions of this room of an event.
        crosstabs: (question, by) pairs to show besides the deck's declared ones.
        min_segment: cross-tab segments with fewer respondents show no figures.
        event: the event file the sessions ran under: the overview then names the
            rooms, in the file's order, under the event's title.

    Raises:
        ExportError: an unknown session id, an unusable database, or an ``event``
            none of whose rooms the chosen sessions ran in.
        CrosstabError: a ``crosstabs`` pair that no chosen session's deck can make.
    """
    sessions, rooms = await load_sessions(database, session_ids, room, crosstabs)
    title: str | None = None
    idle: list[str] = []
    if event is not None:
        rooms, without = in_event_order(rooms, event, database)
        title = event.title
        # A chosen part of the event says nothing of the other rooms.
        if room is None and not session_ids:
            idle = [f"{other.name} ({other.id})" for other in without]
    return render(
        sessions,
        database.name,
        rooms=rooms,
        event_title=title,
        idle_rooms=idle,
        crosstabs=crosstabs,
        min_segment=min_segment,
    )


async def load_sessions(
    database: Path,
    session_ids: Sequence[int] | None,
    room: str | None,
    crosstabs: Sequence[Pair],
) -> tuple[list[SessionData], list[RoomFigures]]:
    """The chosen sessions replayed, with their events and responses, and the event
    overview of them by room (empty when none ran in an event's room): what the report
    and the workbook are both drawn from, so the two always show the same figures.

    Raises:
        ExportError: an unknown session id or an unusable database.
        CrosstabError: a ``crosstabs`` pair that no chosen session's deck can make.
    """
    async with chosen_sessions(database, session_ids, room) as (store, summaries):
        check_pairs((summary.deck for summary in summaries), crosstabs)
        sessions = [
            SessionData(
                summary,
                await replay(store, summary),
                await store.events(summary.id),
                await store.responses(summary),
            )
            for summary in summaries
        ]
        return sessions, await event_overview(store, summaries)


def render(
    sessions: list[SessionData],
    database_name: str,
    *,
    rooms: Sequence[RoomFigures] = (),
    event_title: str | None = None,
    idle_rooms: Sequence[str] = (),
    crosstabs: Sequence[Pair] = (),
    min_segment: int = MIN_SEGMENT,
) -> str:
    """The whole HTML document: the event overview when sessions ran in rooms, then
    each deck's results, sessions of the same deck compared side by side."""
    groups: dict[str, list[SessionData]] = {}
    for data in sessions:
        groups.setdefault(data.summary.deck.fingerprint, []).append(data)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>livepoll report · {esc(database_name)}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<header><h1>Poll results</h1>",
        f"<p class=meta>{len(sessions)} session{'s' if len(sessions) != 1 else ''} from "
        f"<code>{esc(database_name)}</code> · generated {generated} by livepoll "
        f"{esc(__version__)}</p></header>",
    ]
    if not sessions:
        parts.append("<p>No sessions in this database yet.</p>")
    if rooms:
        parts.append(_overview(rooms, event_title, idle_rooms))
    for group in groups.values():
        parts.append(_deck_section(group, crosstabs, min_segment))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _deck_section(group: list[SessionData], crosstabs: Sequence[Pair], min_segment: int) -> str:
    deck = group[0].summary.deck
    parts = [f"<section class=deck><h2>{esc(deck.title)}</h2>"]
    if len(group) > 1:
        parts.append(
            f"<p class=meta>Run in {len(group)} sessions: "
            + "; ".join(
                f"<span id=session-{data.summary.id}>{esc(data.label)}</span>" for data in group
            )
            + ". Each question compares them side by side.</p>"
        )
    else:
        data = group[0]
        ended = data.summary.ended_at or "not ended"
        parts.append(
            f"<p class=meta id=session-{data.summary.id}>{esc(data.label)} · ended "
            f"{esc(_minute(ended))} · join mode: {esc(data.summary.join_mode)}</p>"
        )
    for position, question in enumerate(deck.questions, start=1):
        parts.append(_question_section(position, question, group))
    parts.append(_crosstab_section(group, crosstabs, min_segment))
    parts.append("</section>")
    return "\n".join(parts)


def _question_section(position: int, question: Question, group: list[SessionData]) -> str:
    parts = [
        "<article class=question>",
        f"<h3><span class=number>{position}</span> {esc(question.prompt)}</h3>",
        f"<p class=meta>{esc(TYPE_NAMES[question.type])}</p>",
        f'<div class="runs runs-{min(len(group), 3)}">',
    ]
    for data in group:
        state = data.engine.states[question.id]
        respondents, phones = data.turnout(question.id)
        turnout = (
            f" · turnout {round(100 * respondents / phones)}% of {phones} phones" if phones else ""
        )
        label = f"<h4>{esc(data.label)}</h4>" if len(group) > 1 else ""
        noun = "question" if question.type == "qa" else "answer"
        parts.append(
            "<div class=run>"
            + label
            + f"<p class=count><strong>{respondents}</strong> "
            + f"{noun if respondents == 1 else noun + 's'}{turnout}</p>"
        )
        if state.status.value == "pending":
            parts.append("<p class=meta>Not asked in this session.</p></div>")
            continue
        parts.append(_chart(question, data))
        times = data.answer_times(question.id)
        if len(times) > 1:
            parts.append("<p class=caption>Answers over time after opening</p>")
            parts.append(curve_svg(times))
        parts.append("</div>")
    parts.append("</div></article>")
    return "\n".join(parts)


TYPE_NAMES = {
    "single": "Single choice",
    "multi": "Multiple choice",
    "scale": "Scale",
    "text": "Free text",
    "ranking": "Ranking (Borda count)",
    "number": "Number",
    "qa": "Audience Q&A",
    "quiz": "Quiz",
}


def _chart(question: Question, data: SessionData) -> str:
    state = data.engine.states[question.id]
    summary = data.engine.summary(state)
    kind = question.type
    if kind in ("single", "multi", "quiz"):
        respondents = state.respondents
        rows = [
            (option, count, f"{count} · {_percent(count, respondents)}")
            for option, count in zip(question.options, summary["counts"], strict=True)
        ]
        chart = bars_svg(rows, highlight=set(question.correct))
        if kind == "quiz":
            chart += _leaderboard(data.engine.leaderboard(through=question.id))
        return chart
    if kind == "ranking":
        rows = [
            (
                question.options[index],
                summary["scores"][index],
                f"{summary['scores'][index]} pts · first for {summary['firsts'][index]}",
            )
            for index in summary["order"]
        ]
        return bars_svg(rows)
    if kind == "scale":
        labels = [str(value) for value in summary["values"]]
        ends = ""
        if question.labels:
            ends = (
                f"<p class=caption>{esc(labels[0])} = {esc(question.labels[0])}, "
                f"{esc(labels[-1])} = {esc(question.labels[1])}</p>"
            )
        stats = _stats(("Mean", summary["mean"]), ("Median", summary["median"]))
        return stats + columns_svg(labels, summary["counts"]) + ends
    if kind == "number":
        unit = f" {question.unit}" if question.unit else ""
        stats = _stats(
            ("Median", _unit(summary["median"], unit)),
            ("Mean", _unit(summary["mean"], unit)),
            ("Range", f"{_unit(summary['min'], '')}–{_unit(summary['max'], unit)}"),
        )
        labels = [f"{b['from']:g}–{b['to']:g}" for b in summary["bins"]]
        return stats + columns_svg(labels, [b["count"] for b in summary["bins"]])
    if kind == "text":
        words = summary["words"]
        table = "".join(
            f"<tr><td>{esc(word)}</td><td class=num>{count}</td></tr>" for word, count in words[:15]
        )
        return (
            cloud_svg(words)
            + "<table class=freq><thead><tr><th>Word</th><th class=num>Answers</th></tr></thead>"
            + f"<tbody>{table}</tbody></table>"
        )
    if kind == "qa":
        assert state.qa is not None
        items = state.qa.ranked(("visible", "answered", "pending", "hidden"))
        rows_html = "".join(
            f"<tr><td>{esc(item.text)}</td><td class=num>{len(item.voters)}</td>"
            f"<td>{esc(item.state)}</td></tr>"
            for item in items
        )
        return (
            "<table class=qa><thead><tr><th>Question</th><th class=num>Upvotes</th>"
            f"<th>State</th></tr></thead><tbody>{rows_html}</tbody></table>"
        )
    return ""


def _crosstab_section(group: list[SessionData], crosstabs: Sequence[Pair], min_segment: int) -> str:
    """Each cross-tab of the deck (declared, then asked for): per session a grouped bar
    chart of row percentages and a table of base, counts and percentages per segment."""
    per_session = [tables(data.engine, crosstabs, min_segment) for data in group]
    if not per_session or not per_session[0]:
        return ""
    parts = [
        "<h3 class=crosstabs>Cross-tabs</h3>",
        f"<p class=meta>Rows are segments (answers to the earlier question); percentages "
        f"are of each segment. Segments with fewer than {min_segment} respondents are not "
        "shown.</p>",
    ]
    for index, first in enumerate(per_session[0]):
        parts.append(
            "<article class=question>"
            f"<h3>{esc(first['prompt'])}</h3>"
            f"<p class=meta>split by: {esc(first['by_prompt'])}</p>"
            f'<div class="runs runs-{min(len(group), 3)}">'
        )
        for data, session_tables in zip(group, per_session, strict=True):
            table = session_tables[index]
            label = f"<h4>{esc(data.label)}</h4>" if len(group) > 1 else ""
            parts.append(
                f"<div class=run>{label}{crosstab_svg(table)}{_crosstab_table(table)}</div>"
            )
        parts.append("</div></article>")
    return "\n".join(parts)


def _crosstab_table(table: dict[str, Any]) -> str:
    columns = table["columns"]
    head = "".join(f"<th class=num>{esc(name)}</th>" for name in columns)
    rows = []
    for segment in table["rows"]:
        if segment["suppressed"]:
            rows.append(
                f"<tr><td>{esc(segment['label'])}</td>"
                f"<td class=num colspan={len(columns) + 1}>fewer than {table['min_base']}</td></tr>"
            )
            continue
        cells = "".join(
            f"<td class=num>{count}<br><small>{percent:g}%</small></td>"
            for count, percent in zip(segment["counts"], segment["percents"], strict=True)
        )
        rows.append(
            f"<tr><td>{esc(segment['label'])}</td><td class=num>{segment['base']}</td>{cells}</tr>"
        )
    return (
        "<table class=crosstab><thead><tr><th>Segment</th><th class=num>Base (n)</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def crosstab_svg(table: dict[str, Any]) -> str:
    """Grouped horizontal bars: per segment one bar per option, as a share of the segment."""
    columns = table["columns"]
    shown = [segment for segment in table["rows"] if not segment["suppressed"]]
    bar, gap = 12, 16
    group_height = 18 + bar * len(columns) + gap
    legend_height = 22
    height = legend_height + group_height * max(len(shown), 1)
    bar_space = WIDTH - 60
    parts = [_svg_open(WIDTH, height, "Cross-tab: row percentages per segment")]
    x = 0.0
    for index, name in enumerate(columns):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect x="{x:.1f}" y="4" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14:.1f}" y="13" class="axis">{esc(_clip(name, 28))}</text>'
        )
        x += 24 + 7 * min(len(name), 28)
    for position, segment in enumerate(shown):
        top = legend_height + position * group_height
        parts.append(
            f'<text x="0" y="{top + 13}" class="label">{esc(_clip(segment["label"], 70))}'
            f" · n = {segment['base']}</text>"
        )
        for index, percent in enumerate(segment["percents"]):
            y = top + 18 + index * bar
            width = bar_space * percent / 100
            parts.append(
                f'<rect x="0" y="{y}" width="{width:.1f}" height="{bar - 2}" '
                f'fill="{PALETTE[index % len(PALETTE)]}"/>'
                f'<text x="{width + 4:.1f}" y="{y + 9}" class="axis">{percent:g}%</text>'
            )
    if not shown:
        parts.append(
            f'<text x="0" y="{legend_height + 14}" class="axis">No segment has '
            f"{table['min_base']} respondents yet.</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _overview(rooms: Sequence[RoomFigures], title: str | None, idle: Sequence[str]) -> str:
    """The event at a glance: a table of each room's sessions with their figures, room
    totals and the event's, every session linking to its results further down."""
    sessions = sum(len(room.sessions) for room in rooms)
    named = sum(1 for room in rooms if room.room is not None)
    answers = sum(room.answers for room in rooms)
    busiest = max(room.most_voters for room in rooms)
    ends = [room.ended_at for room in rooms]
    ended = None if None in ends else max(end for end in ends if end is not None)
    parts = [
        "<section class=overview aria-labelledby=overview><h2 id=overview>"
        + (f"{esc(title)}: event overview" if title else "Event overview")
        + "</h2>",
        _stats(
            ("Rooms", named),
            ("Sessions", sessions),
            ("Answers", answers),
            ("Most voters in a session", busiest),
        ),
        "<p class=meta>Voters are counted per session: a phone has a different pseudonym "
        "in each session, so one person voting in two sessions cannot be told from two "
        "people. Room and event totals give the busiest session's voters, not a sum.</p>",
        "<table class=overview><caption>Sessions by room, oldest first; each session "
        "links to its results below</caption><thead><tr>"
        + "".join(
            f"<th scope=col{' class=num' if number else ''}>{name}</th>"
            for name, number in OVERVIEW_COLUMNS
        )
        + "</tr></thead>",
    ]
    for room in rooms:
        name = f"Room {room.room}" if room.room is not None else "Sessions without a room"
        if room.name is not None:
            name = f"{room.name} ({room.room})"
        parts.append(
            f"<tbody><tr class=room><th scope=rowgroup colspan={len(OVERVIEW_COLUMNS)}>"
            f"{esc(name)}</th></tr>"
        )
        for line in room.sessions:
            summary = line.session
            parts.append(
                f'<tr><th scope=row><a href="#session-{summary.id}">Session {summary.id}</a>'
                f"</th><td>{esc(summary.deck.title)}</td><td>{esc(_minute(summary.started_at))}"
                f"</td><td>{esc(_minute(summary.ended_at or 'not ended'))}</td>"
                f"<td class=num>{line.asked} of {len(summary.deck.questions)}</td>"
                f"<td class=num>{line.voters}</td>"
                f"<td class=num>{'–' if line.most_phones is None else line.most_phones}</td>"
                f"<td class=num>{line.answers}</td></tr>"
            )
        count = len(room.sessions)
        parts.append(
            _total_row(
                "Room total",
                f"{count} session{'' if count == 1 else 's'}",
                room.started_at,
                room.ended_at,
                room.asked,
                room.most_voters,
                room.answers,
            )
            + "</tbody>"
        )
    started = min(room.started_at for room in rooms)
    rooms_text = f"{named} room{'' if named == 1 else 's'}, " if named else ""
    parts.append(
        "<tfoot>"
        + _total_row(
            "Event total",
            f"{rooms_text}{sessions} session{'' if sessions == 1 else 's'}",
            started,
            ended,
            sum(room.asked for room in rooms),
            busiest,
            answers,
        )
        + "</tfoot></table>"
    )
    if idle:
        parts.append(f"<p class=meta>No session recorded in: {esc(', '.join(idle))}.</p>")
    parts.append("</section>")
    return "\n".join(parts)


OVERVIEW_COLUMNS = (
    ("Session", False),
    ("Deck", False),
    ("Started (UTC)", False),
    ("Ended (UTC)", False),
    ("Questions asked", True),
    ("Voters", True),
    ("Most phones", True),
    ("Answers", True),
)


def _total_row(
    label: str, what: str, started: str, ended: str | None, asked: int, voters: int, answers: int
) -> str:
    return (
        f"<tr class=total><th scope=row>{label}</th><td>{esc(what)}</td>"
        f"<td>{esc(_minute(started))}</td>"
        f"<td>{esc(_minute(ended or 'not ended'))}</td>"
        f"<td class=num>{asked}</td><td class=num>{voters}<br><small>busiest session</small></td>"
        f"<td></td><td class=num>{answers}</td></tr>"
    )


def _minute(stamp: str) -> str:
    """A stored ISO time to the minute, as the report shows times (``2026-12-01 09:30``)."""
    return stamp[:16].replace("T", " ")


def _percent(count: int, total: int) -> str:
    return f"{round(100 * count / total)}%" if total else "0%"


def _unit(value: Any, unit: str) -> str:
    return "–" if value is None else f"{value:g}{unit}"


def _stats(*pairs: tuple[str, Any]) -> str:
    cells = "".join(
        f"<div><span>{esc(name)}</span><strong>{esc('–' if value is None else value)}"
        "</strong></div>"
        for name, value in pairs
    )
    return f"<div class=stats>{cells}</div>"


def _leaderboard(players: list[dict[str, Any]]) -> str:
    if not players:
        return "<p class=meta>Nobody answered right.</p>"
    rows = "".join(
        f"<tr><td class=num>{rank}</td><td>{esc(player['name'])}</td>"
        f"<td class=num>{player['points']}</td><td class=num>{player['right']}</td></tr>"
        for rank, player in enumerate(players, start=1)
    )
    return (
        "<table class=leaderboard><caption>Leaderboard after this quiz</caption>"
        "<thead><tr><th class=num>#</th><th>Player</th>"
        "<th class=num>Points</th><th class=num>Right</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def bars_svg(rows: list[tuple[str, int, str]], highlight: set[int] | None = None) -> str:
    """Horizontal bars, each with its label above it and its figure beside it."""
    highlight = highlight or set()
    row_height = 40
    height = row_height * len(rows) + 4
    largest = max((value for _, value, _ in rows), default=0) or 1
    bar_space = WIDTH - 170
    parts = [_svg_open(WIDTH, height, "Bar chart")]
    for index, (label, value, figure) in enumerate(rows):
        top = index * row_height
        colour = "#15803d" if index in highlight else PALETTE[0]
        width = max(2.0, bar_space * value / largest) if value else 0.0
        mark = " ✓" if index in highlight else ""
        parts.append(
            f'<text x="0" y="{top + 13}" class="label">{esc(_clip(label, 90))}{mark}</text>'
            f'<rect x="0" y="{top + 18}" width="{width:.1f}" height="16" rx="2" '
            f'fill="{colour}"/>'
            f'<text x="{width + 6:.1f}" y="{top + 31}" class="figure">{esc(figure)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def columns_svg(labels: list[str], counts: list[int]) -> str:
    """Vertical columns with their counts on top and labels below (scales, histograms)."""
    height = 180
    base = height - 24
    slot = WIDTH / max(1, len(labels))
    largest = max(counts, default=0) or 1
    parts = [_svg_open(WIDTH, height, "Column chart")]
    for index, (label, count) in enumerate(zip(labels, counts, strict=True)):
        bar_height = (base - 22) * count / largest
        x = index * slot + slot * 0.15
        width = slot * 0.7
        parts.append(
            f'<rect x="{x:.1f}" y="{base - bar_height:.1f}" width="{width:.1f}" '
            f'height="{bar_height:.1f}" rx="2" fill="{PALETTE[1]}"/>'
            f'<text x="{x + width / 2:.1f}" y="{base - bar_height - 5:.1f}" class="figure" '
            f'text-anchor="middle">{count}</text>'
            f'<text x="{x + width / 2:.1f}" y="{height - 6}" class="axis" '
            f'text-anchor="middle">{esc(label)}</text>'
        )
    parts.append(f'<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" class="baseline"/></svg>')
    return "".join(parts)


def cloud_svg(words: list[list[Any]]) -> str:
    """A word cloud: words in rows, sized by how many answers used them."""
    if not words:
        return "<p class=meta>No words yet.</p>"
    largest = max(count for _, count in words)
    placed: list[tuple[str, float, float, float, int]] = []
    x, y, line_height = 0.0, 0.0, 0.0
    for index, (whole, count) in enumerate(words):
        # SVG text cannot wrap: a word longer than a line is cut (the table below
        # the cloud has it whole).
        word = _clip(whole, CLOUD_WORD_LIMIT)
        size = 13 + 27 * (count / largest) ** 0.7
        width = len(word) * size * 0.6 + 14
        if x + width > WIDTH and x > 0:
            y += line_height
            x, line_height = 0.0, 0.0
        line_height = max(line_height, size * 1.25)
        placed.append((word, x, y + size, size, index))
        x += width
    height = y + line_height + 4
    parts = [_svg_open(WIDTH, height, "Word cloud")]
    for word, left, baseline, size, index in placed:
        parts.append(
            f'<text x="{left:.1f}" y="{baseline:.1f}" font-size="{size:.1f}" '
            f'fill="{PALETTE[index % len(PALETTE)]}" class="word">{esc(word)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def curve_svg(times: list[float]) -> str:
    """Cumulative answers against seconds since the question opened."""
    height, left, bottom = 110, 36, 20
    span = max(times[-1], 1.0)
    total = len(times)
    points = [f"{left:.1f},{height - bottom:.1f}"]
    for count, moment in enumerate(times, start=1):
        x = left + (WIDTH - left - 8) * moment / span
        y = (height - bottom) - (height - bottom - 8) * count / total
        points.append(f"{x:.1f},{y:.1f}")
    return (
        _svg_open(WIDTH, height, "Answers over time")
        + f'<polyline points="{" ".join(points)}" fill="none" stroke="{PALETTE[3]}" '
        'stroke-width="2"/>'
        + f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH}" y2="{height - bottom}" '
        'class="baseline"/>'
        + f'<text x="{left}" y="{height - 4}" class="axis">0 s</text>'
        + f'<text x="{WIDTH - 4}" y="{height - 4}" class="axis" text-anchor="end">'
        + f"{span:.0f} s</text>"
        + f'<text x="0" y="14" class="axis">{total}</text></svg>'
    )


def _svg_open(width: float, height: float, title: str) -> str:
    return (
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{esc(title)}</title>'
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


STYLE = """
:root{color-scheme:light;--ink:#111827;--muted:#4b5563;--line:#d1d5db}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
max-width:60rem;margin:0 auto;padding:1.5rem;overflow-wrap:anywhere}
h1{margin:0 0 .2rem;font-size:1.8rem}h2{margin:2rem 0 .3rem;font-size:1.45rem;
border-bottom:3px solid var(--ink);padding-bottom:.2rem}
h3{font-size:1.1rem;margin:0 0 .1rem}h4{margin:.2rem 0;font-size:.95rem}
.meta,.caption,caption{color:var(--muted);font-size:.85rem;margin:.2rem 0}
caption{text-align:left}
.number{display:inline-block;min-width:1.6rem;padding:0 .3rem;margin-right:.3rem;
border-radius:.3rem;background:var(--ink);color:#fff;text-align:center}
article.question{border:1px solid var(--line);border-radius:.5rem;padding:1rem;margin:1rem 0;
break-inside:avoid;page-break-inside:avoid}
.runs{display:grid;gap:1rem}.runs-2{grid-template-columns:1fr 1fr}
.runs-3{grid-template-columns:1fr 1fr 1fr}
.count{margin:.3rem 0 .5rem}
svg{display:block;max-width:100%;height:auto;margin:.3rem 0}
svg .label{font-size:13px;fill:#111827}svg .figure{font-size:12px;fill:#111827}
svg .axis{font-size:11px;fill:#4b5563}svg .baseline{stroke:#9ca3af;stroke-width:1}
svg .word{font-weight:600}
.stats{display:flex;gap:1.5rem;margin:.3rem 0}
.stats span{display:block;color:var(--muted);font-size:.8rem}
.stats strong{font-size:1.6rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}
th,td{border-bottom:1px solid var(--line);padding:.25rem .4rem;text-align:left;
vertical-align:top}
.num{text-align:right;font-variant-numeric:tabular-nums}
tr.room th{background:#f3f4f6;padding-top:.5rem}tr.total{font-weight:600}
tr.total small{font-weight:400;color:var(--muted)}
table.overview{font-size:.85rem;overflow-wrap:break-word}
table.overview td.num{white-space:nowrap}
table.overview a{color:#1d4ed8}
code{font-size:.9em}
@page{size:A4;margin:14mm}
@media print{body{padding:0;font-size:11pt}h2{break-before:auto}
.runs-3{grid-template-columns:1fr 1fr}}
"""
