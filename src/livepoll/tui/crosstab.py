"""The console's cross-tab view: the current question's results split by another's.

The chair presses ``s`` and the bars give way to a grid: one row per segment (each
answer to the segmenting question) with its base ``n``, and in it one bar per option
of the current question, as a share of that segment (row percentages). The server
sends the table ready-made, with small segments already stripped of their figures;
this widget only lays it out for the room it has. Every label is user text, placed
in ``Text`` objects and never parsed as markup.
"""

from __future__ import annotations

import math
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from livepoll.tui.bars import bar_cells, choose_layout
from livepoll.tui.views import option_letter

LABEL_SHARE = 3
"""The segment labels take at most a third of the width; the bars get the rest."""
MAX_THICKNESS = 5
"""Rows a segment's bars may take on a large screen (legible from the back)."""
MIN_BAR_CELL = 11
"""Cells narrower than this (a small terminal, many options) show figures without bars."""


def half_up(percent: float) -> int:
    """A percentage to a whole number the way people round: 62.5 is 63 (not 62)."""
    return math.floor(percent + 0.5)


class CrossTabView(Widget):
    """A grid of bars: segments down, the current question's options across."""

    DEFAULT_CSS = """
    CrossTabView {
        height: 1fr;
        min-height: 3;
    }
    CrossTabView > .crosstab--title {
        color: $text-muted;
        text-style: italic;
    }
    CrossTabView > .crosstab--header {
        text-style: bold;
    }
    CrossTabView > .crosstab--key {
        color: $accent;
        text-style: bold;
    }
    CrossTabView > .crosstab--label {
        text-style: bold;
    }
    CrossTabView > .crosstab--base {
        color: $text-muted;
    }
    CrossTabView > .crosstab--bar {
        color: $accent;
        background: $boost;
    }
    CrossTabView > .crosstab--figure {
        text-style: bold;
    }
    CrossTabView > .crosstab--suppressed {
        color: $text-muted;
        text-style: italic;
    }
    """

    COMPONENT_CLASSES = {
        "crosstab--title",
        "crosstab--header",
        "crosstab--key",
        "crosstab--label",
        "crosstab--base",
        "crosstab--bar",
        "crosstab--figure",
        "crosstab--suppressed",
    }

    table: reactive[dict[str, Any] | None] = reactive(None)
    """The cross-tab as the server sent it; None draws nothing."""

    shown: reactive[bool] = reactive(True)
    """False while the chair keeps results off the projector: labels only, no figures."""

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"crosstab--{name}", partial=True)

    def render(self) -> Text:
        """Draw the table for the current size."""
        table = self.table
        if table is None:
            return Text("")
        width, height = self.content_size
        columns: list[str] = list(table["columns"])
        rows: list[dict[str, Any]] = list(table["rows"])
        minimum = int(table.get("min_base", 5))
        title = Text.assemble(
            ("Split by: ", self._style("title")),
            (str(table["by_prompt"]), self._style("title")),
            (f"  ·  row % of each segment  ·  under {minimum} not shown", self._style("title")),
        )
        title.truncate(width, overflow="ellipsis")
        lines: list[Text] = [title, Text("")]
        label_width = min(
            max((len(str(row["label"])) for row in rows), default=8), max(width // LABEL_SHARE, 8)
        )
        base_width = len("  n = 9999 ")
        cell_width = max((width - label_width - base_width) // max(len(columns), 1), 5)
        figure_width = len(" 100%")
        # Too narrow for a readable bar: the cells show their percentages alone.
        bar_width = cell_width - figure_width - 2 if cell_width >= MIN_BAR_CELL else 0
        header = Text(" " * (label_width + base_width))
        for index, name in enumerate(columns):
            cell = Text.assemble(
                (option_letter(index), self._style("key")), " ", (name, self._style("header"))
            )
            cell.truncate(cell_width - 1, overflow="ellipsis")
            cell.pad_right(cell_width - cell.cell_len)
            header.append_text(cell)
        header.truncate(width)
        lines.append(header)
        room = height - len(lines) - 2
        layout = choose_layout(len(rows), max(room, 1), max_thickness=MAX_THICKNESS)
        thickness = max(layout.thickness, 1)
        for position, row in enumerate(rows):
            if position and layout.gap:
                lines.append(Text(""))
            lines.extend(
                self._segment(
                    row,
                    columns,
                    thickness,
                    label_width,
                    base_width,
                    cell_width,
                    bar_width,
                    minimum,
                    width,
                )
            )
        if not rows:
            lines.append(Text("No segments yet.", self._style("suppressed")))
        if not self.shown:
            lines.append(Text(""))
            lines.append(Text("Results hidden · press r to show them", self._style("title")))
        return Text("\n", no_wrap=True, end="").join(lines[: max(height, 1)])

    def _segment(
        self,
        row: dict[str, Any],
        columns: list[str],
        thickness: int,
        label_width: int,
        base_width: int,
        cell_width: int,
        bar_width: int,
        minimum: int,
        width: int,
    ) -> list[Text]:
        """The lines of one segment: its bars ``thickness`` rows tall, figures in the middle."""
        middle = (thickness - 1) // 2
        lines = []
        for line_number in range(thickness):
            line = Text()
            label = Text(str(row["label"]) if line_number == middle else "", self._style("label"))
            label.truncate(label_width, overflow="ellipsis")
            label.pad_right(label_width - label.cell_len)
            line.append_text(label)
            if row.get("suppressed"):
                if line_number == middle:
                    line.append(f"  fewer than {minimum}", self._style("suppressed"))
                lines.append(line)
                continue
            # Hidden results hide the segment sizes too: they are the earlier answers' counts.
            base = f"  n = {row['base']}" if line_number == middle and self.shown else ""
            line.append(base.ljust(base_width), self._style("base"))
            for percent in row["percents"]:
                if not self.shown:
                    line.append(" " * cell_width)
                    continue
                if bar_width:
                    # Whole, not partial: the bar's background must be blended to a colour.
                    bar_style = self.get_component_rich_style("crosstab--bar")
                    cells = bar_cells(float(percent) / 100, bar_width)
                    line.append(cells, bar_style)
                    line.append(" " * (bar_width - len(cells)), Style(bgcolor=bar_style.bgcolor))
                figure = f"{half_up(float(percent)):>3}%" if line_number == middle else ""
                line.append(f" {figure}".ljust(cell_width - bar_width), self._style("figure"))
            line.truncate(width)
            lines.append(line)
        return lines
