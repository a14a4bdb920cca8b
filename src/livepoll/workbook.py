"""An Excel workbook of past sessions, for organisers who analyse in a spreadsheet.

Organisers take the answers into Excel. A CSV loses what a spreadsheet needs to be
read at once: times as real date-time cells, one table and chart per question, the
cross-tabs. The workbook has a "Summary" sheet (sessions and turnout), one sheet per
question with its counts, percentages and a native chart, a "Crosstabs" sheet, and a
"Responses" sheet with exactly the CSV export's rows.

Every figure comes from the engine's tallies rebuilt from the database, as in the
report. Every string cell goes through :func:`livepoll.spreadsheet.neutralise`, and
XlsxWriter's own conversion of strings to formulas, numbers or links is turned off,
so an attendee's ``=HYPERLINK(...)`` is text, whatever program opens the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from livepoll.crosstabs import Pair, tables
from livepoll.deck import Question
from livepoll.engine import MIN_SEGMENT
from livepoll.export import CSV_COLUMNS, export
from livepoll.report import TYPE_NAMES, SessionData, load_sessions
from livepoll.spreadsheet import neutralise

MAX_COLUMN_WIDTH = 60
"""Characters: a long prompt wraps at this width rather than making one huge column."""
TIME_COLUMNS = frozenset({"first_answer_at", "last_answer_at"})
CHART_TYPES = {
    "single": "bar",
    "multi": "bar",
    "quiz": "bar",
    "ranking": "bar",
    "text": "bar",
    "qa": "bar",
    "scale": "column",
    "number": "column",
}
TOP_WORDS = 30


@dataclass(frozen=True, slots=True)
class Table:
    """A question's results as rows: a label, a count and, where it means something,
    a share of respondents (0-1); the chart plots the counts."""

    header: tuple[str, str, str | None]
    rows: list[tuple[str, int, float | None]]
    extra: list[tuple[str, Any]]
    """Figures shown above the table: mean, median, right answer, ..."""


def question_table(question: Question, data: SessionData) -> Table:
    """The rows of one question's sheet, from the engine's summary of its tally."""
    state = data.engine.states[question.id]
    summary = data.engine.summary(state)
    respondents = state.respondents
    kind = question.type

    def share(count: int) -> float | None:
        return count / respondents if respondents else None

    if kind in ("single", "multi", "quiz"):
        rows = [
            (option, count, share(count))
            for option, count in zip(question.options, summary["counts"], strict=True)
        ]
        extra: list[tuple[str, Any]] = []
        if kind == "quiz":
            right = "; ".join(question.options[index] for index in question.correct)
            extra = [("Right answer", right), ("Answered right", summary["right"])]
        return Table(("Option", "Answers", "% of respondents"), rows, extra)
    if kind == "scale":
        rows = [
            (str(value), count, share(count))
            for value, count in zip(summary["values"], summary["counts"], strict=True)
        ]
        extra = [("Mean", summary["mean"]), ("Median", summary["median"])]
        if question.labels:
            extra.append(("Ends", f"{question.labels[0]} … {question.labels[1]}"))
        return Table(("Point", "Answers", "% of respondents"), rows, extra)
    if kind == "number":
        rows = [
            (f"{b['from']:g}–{b['to']:g}", b["count"], share(b["count"])) for b in summary["bins"]
        ]
        extra = [("Median", summary["median"]), ("Mean", summary["mean"])]
        if question.unit:
            extra.append(("Unit", question.unit))
        return Table(("Range", "Answers", "% of respondents"), rows, extra)
    if kind == "ranking":
        rows = [
            (question.options[index], summary["scores"][index], None) for index in summary["order"]
        ]
        return Table(("Option", "Borda points", None), rows, [])
    if kind == "text":
        rows = [(word, count, share(count)) for word, count in summary["words"][:TOP_WORDS]]
        return Table(("Word", "Answers using it", "% of respondents"), rows, [])
    assert state.qa is not None
    items = state.qa.ranked(("visible", "answered", "pending", "hidden"))
    rows = [(item.text, len(item.voters), None) for item in items]
    return Table(("Question (by upvotes)", "Upvotes", None), rows, [])


class _Writer:
    """Writes cells with the workbook's formats, tracking column widths to fit."""

    def __init__(self, book: Workbook) -> None:
        self.book = book
        self.bold = book.add_format({"bold": True})
        self.header = book.add_format({"bold": True, "bottom": 1, "bg_color": "#E7ECF5"})
        self.title = book.add_format({"bold": True, "font_size": 13})
        self.percent = book.add_format({"num_format": "0.0%"})
        self.moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.muted = book.add_format({"italic": True, "font_color": "#6B7280"})
        self.widths: dict[str, dict[int, int]] = {}
        self.used_names: set[str] = set()

    def sheet(self, name: str) -> Worksheet:
        """A new sheet with a unique name that Excel accepts (31 characters at most)."""
        base = name[:31]
        unique, number = base, 2
        while unique.casefold() in self.used_names:
            suffix = f" ({number})"
            unique, number = base[: 31 - len(suffix)] + suffix, number + 1
        self.used_names.add(unique.casefold())
        sheet = self.book.add_worksheet(unique)
        self.widths[sheet.name] = {}
        return sheet

    def _fit(self, sheet: Worksheet, column: int, shown: str) -> None:
        widths = self.widths[sheet.name]
        widths[column] = max(widths.get(column, 0), min(len(shown) + 2, MAX_COLUMN_WIDTH))

    def text(
        self,
        sheet: Worksheet,
        row: int,
        column: int,
        value: str,
        style: Any = None,
        *,
        fit: bool = True,
    ) -> None:
        """A string cell, neutralised so that no program reads it as a formula.

        ``fit=False`` for a title that may run on over the empty cells beside it.
        """
        cell = neutralise(value)
        sheet.write_string(row, column, cell, style)
        if fit:
            self._fit(sheet, column, cell)

    def value(self, sheet: Worksheet, row: int, column: int, value: Any, style: Any = None) -> None:
        """A number, a share (as a percentage), a time, nothing, or text."""
        if value is None:
            sheet.write_blank(row, column, None, style)
        elif isinstance(value, datetime):
            sheet.write_datetime(row, column, value, style or self.moment)
            self._fit(sheet, column, "2026-01-01 00:00:00")
        elif isinstance(value, bool):
            self.text(sheet, row, column, "yes" if value else "no", style)
        elif isinstance(value, int | float):
            sheet.write_number(row, column, value, style)
            self._fit(sheet, column, f"{value:.1%}" if style is self.percent else f"{value:g}")
        else:
            self.text(sheet, row, column, str(value), style)

    def header_row(self, sheet: Worksheet, row: int, names: Sequence[str]) -> None:
        for column, name in enumerate(names):
            self.text(sheet, row, column, name, self.header)

    def finish(self) -> None:
        """Set every column to the width of its longest cell."""
        for sheet in self.book.worksheets():
            for column, width in self.widths[sheet.name].items():
                sheet.set_column(column, column, width)


def _utc(stamp: str | None) -> datetime | None:
    """A stored ISO UTC time as a naive datetime (spreadsheets have no time zones)."""
    if stamp is None:
        return None
    return datetime.fromisoformat(stamp).replace(tzinfo=None)


def _summary_sheet(writer: _Writer, sessions: list[SessionData]) -> None:
    sheet = writer.sheet("Summary")
    columns = (
        "Session",
        "Room",
        "Deck",
        "Started (UTC)",
        "Ended (UTC)",
        "Join mode",
        "Question",
        "Prompt",
        "Type",
        "Respondents",
        "Phones connected",
        "Turnout",
    )
    writer.header_row(sheet, 0, columns)
    row = 1
    for data in sessions:
        summary = data.summary
        for question in summary.deck.questions:
            respondents, phones = data.turnout(question.id)
            state = data.engine.states[question.id]
            cells: list[Any] = [
                summary.id,
                summary.room,  # a blank cell for a one-room server's session
                summary.deck.title,
                _utc(summary.started_at),
                _utc(summary.ended_at),
                summary.join_mode,
                question.id,
                question.prompt,
                TYPE_NAMES[question.type],
                respondents if state.status.value != "pending" else None,
                phones,
            ]
            for column, cell in enumerate(cells):
                writer.value(sheet, row, column, cell)
            turnout = respondents / phones if phones else None
            writer.value(sheet, row, len(cells), turnout, writer.percent)
            row += 1
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(row - 1, 1), len(columns) - 1)


def _question_sheet(writer: _Writer, data: SessionData, position: int, question: Question) -> None:
    sheet = writer.sheet(f"S{data.summary.id} Q{position} {question.id}")
    writer.text(sheet, 0, 0, question.prompt, writer.title, fit=False)
    state = data.engine.states[question.id]
    respondents, phones = data.turnout(question.id)
    facts: list[tuple[str, Any]] = [
        ("Session", data.summary.id),
        ("Type", TYPE_NAMES[question.type]),
        ("Respondents", respondents),
        ("Phones connected", phones),
    ]
    table = question_table(question, data)
    facts.extend(table.extra)
    for offset, (name, value) in enumerate(facts, start=1):
        writer.text(sheet, offset, 0, name, writer.bold)
        writer.value(sheet, offset, 1, value)
    top = len(facts) + 2
    if state.status.value == "pending":
        writer.text(sheet, top, 0, "Not asked in this session.", writer.muted)
        return
    names = [name for name in table.header if name is not None]
    writer.header_row(sheet, top, names)
    for offset, (label, count, share) in enumerate(table.rows, start=1):
        writer.text(sheet, top + offset, 0, label)
        writer.value(sheet, top + offset, 1, count)
        if table.header[2] is not None:
            writer.value(sheet, top + offset, 2, share, writer.percent)
    last = top + len(table.rows)
    sheet.freeze_panes(top + 1, 0)
    sheet.autofilter(top, 0, max(last, top + 1), len(names) - 1)
    if not table.rows:
        return
    chart = writer.book.add_chart({"type": CHART_TYPES[question.type]})
    assert chart is not None
    chart.add_series(
        {
            "name": table.header[1],
            "categories": [sheet.name, top + 1, 0, last, 0],
            "values": [sheet.name, top + 1, 1, last, 1],
            "data_labels": {"value": True},
        }
    )
    chart.set_title({"name": question.prompt[:120]})
    chart.set_legend({"none": True})
    if CHART_TYPES[question.type] == "bar":
        chart.set_y_axis({"reverse": True})
    chart.set_size({"width": 720, "height": max(288, 24 * len(table.rows) + 120)})
    sheet.insert_chart(top, len(names) + 1, chart)


def _crosstab_sheet(
    writer: _Writer,
    sessions: list[SessionData],
    extra: Sequence[Pair],
    min_segment: int,
) -> None:
    sheet = writer.sheet("Crosstabs")
    row = 0
    writer.text(
        sheet,
        row,
        0,
        f"Rows are segments; segments with fewer than {min_segment} respondents are not shown.",
        writer.muted,
        fit=False,
    )
    row += 2
    found = False
    for data in sessions:
        for table in tables(data.engine, extra, min_segment):
            found = True
            writer.text(
                sheet,
                row,
                0,
                f"Session {data.summary.id}: {table['prompt']} — by: {table['by_prompt']}",
                writer.title,
                fit=False,
            )
            row += 1
            columns = table["columns"]
            names = ["Segment", "Base (n)"]
            names += [f"{name} (n)" for name in columns] + [f"{name} (%)" for name in columns]
            writer.header_row(sheet, row, names)
            for segment in table["rows"]:
                row += 1
                writer.text(sheet, row, 0, segment["label"])
                if segment["suppressed"]:
                    writer.text(sheet, row, 1, f"fewer than {min_segment}", writer.muted)
                    continue
                writer.value(sheet, row, 1, segment["base"])
                for offset, count in enumerate(segment["counts"]):
                    writer.value(sheet, row, 2 + offset, count)
                for offset, percent in enumerate(segment["percents"]):
                    writer.value(
                        sheet, row, 2 + len(columns) + offset, percent / 100, writer.percent
                    )
            row += 2
    if not found:
        writer.text(sheet, row, 0, "No cross-tabs: no question has segment_by.", writer.muted)
    sheet.freeze_panes(1, 0)


def _responses_sheet(writer: _Writer, csv_text: str) -> None:
    """The CSV export's rows, with its times as date-time cells and sessions as numbers."""
    sheet = writer.sheet("Responses")
    reader = csv.reader(io.StringIO(csv_text, newline=""))
    header = next(reader, list(CSV_COLUMNS))
    writer.header_row(sheet, 0, header)
    row = 0
    for row, cells in enumerate(reader, start=1):
        for column, (name, cell) in enumerate(zip(header, cells, strict=False)):
            if name in TIME_COLUMNS and cell:
                writer.value(sheet, row, column, datetime.fromisoformat(cell).replace(tzinfo=None))
            elif name == "session" and cell.isdigit():
                writer.value(sheet, row, column, int(cell))
            else:
                writer.text(sheet, row, column, cell)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(row, 1), len(header) - 1)


async def build_workbook(
    database: Path,
    session_ids: Sequence[int] | None,
    *,
    room: str | None = None,
    crosstabs: Sequence[Pair] = (),
    min_segment: int = MIN_SEGMENT,
) -> bytes:
    """The .xlsx bytes for the chosen sessions (all by default) of ``database``
    (only those of ``room`` when given).

    Raises:
        ExportError: an unknown session id or an unusable database.
        CrosstabError: a ``crosstabs`` pair that no chosen session's deck can make.
    """
    sessions, _ = await load_sessions(database, session_ids, room, crosstabs)
    csv_text = await export(database, "csv", session_ids, room=room)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    book.set_properties({"title": "livepoll results", "comments": "Made by livepoll"})
    writer = _Writer(book)
    _summary_sheet(writer, sessions)
    for data in sessions:
        for position, question in enumerate(data.summary.deck.questions, start=1):
            _question_sheet(writer, data, position, question)
    _crosstab_sheet(writer, sessions, crosstabs, min_segment)
    _responses_sheet(writer, csv_text)
    writer.finish()
    book.close()
    return buffer.getvalue()
