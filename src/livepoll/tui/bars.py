"""Live horizontal result bars, sized to whatever room the screen gives them.

Every label is user text (deck options, audience answers) and is only ever placed
in ``Text`` objects, never parsed as markup: an option called ``[red]x[/]`` shows
as typed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from livepoll.tui.views import ResultsView, Row

_PARTIAL_BLOCKS = " ▏▎▍▌▋▊▉"
"""Left-aligned blocks of 0/8 to 7/8 of a cell: bars grow smoothly, not in cell steps."""


def bar_cells(fraction: float, width: int) -> str:
    """A bar ``fraction`` (0-1) of ``width`` cells long, with 1/8-cell precision."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, partial = divmod(eighths, 8)
    bar = "█" * full
    if partial:
        bar += _PARTIAL_BLOCKS[partial]
    return bar


@dataclass(frozen=True, slots=True)
class BarsLayout:
    """How the options are stacked: bar thickness and blank rows between options.

    ``thickness`` 0 means the compact layout: one row per option, label and bar
    side by side, for decks with many options on a small screen.
    """

    thickness: int
    gap: int


def choose_layout(options: int, height: int, max_thickness: int = 6) -> BarsLayout:
    """The thickest bars (then the airiest spacing) that fit ``height`` rows."""
    for thickness in range(max_thickness, 0, -1):
        for gap in (1, 0):
            if options * (1 + thickness) + max(options - 1, 0) * gap <= height:
                return BarsLayout(thickness, gap)
    return BarsLayout(0, 1 if options * 2 - 1 <= height else 0)


class ResultsBars(Widget):
    """One horizontal bar per row with its figures, sized to the widget.

    The layout adapts: a label row above bars up to six rows thick on a large
    screen, down to one row per result on a small one. While results are hidden,
    only the view's ``listing`` (the options) is drawn, with a hint.
    """

    DEFAULT_CSS = """
    ResultsBars {
        height: 1fr;
        min-height: 2;
    }
    ResultsBars > .results-bars--key {
        color: $accent;
        text-style: bold;
    }
    ResultsBars > .results-bars--label {
        text-style: bold;
    }
    ResultsBars > .results-bars--mark {
        color: $success;
        text-style: bold;
    }
    ResultsBars > .results-bars--mark-warning {
        color: $warning;
        text-style: bold;
    }
    ResultsBars > .results-bars--mark-muted {
        color: $text-muted;
        text-style: bold;
    }
    ResultsBars > .results-bars--dim {
        color: $text-muted;
        text-style: strike;
    }
    ResultsBars > .results-bars--cursor {
        background: $accent-muted;
        text-style: bold;
    }
    ResultsBars > .results-bars--bar {
        color: $accent;
        background: $boost;
    }
    ResultsBars > .results-bars--figures {
        text-style: bold;
    }
    ResultsBars > .results-bars--note {
        color: $text-muted;
        text-style: italic;
    }
    """

    COMPONENT_CLASSES = {
        "results-bars--key",
        "results-bars--label",
        "results-bars--mark",
        "results-bars--mark-warning",
        "results-bars--mark-muted",
        "results-bars--dim",
        "results-bars--cursor",
        "results-bars--bar",
        "results-bars--figures",
        "results-bars--note",
    }

    view: reactive[ResultsView | None] = reactive(None)
    """What to draw; None draws nothing (no state from the server yet)."""

    max_thickness: reactive[int] = reactive(6)
    """Bars never get thicker than this many rows."""

    hidden_hint: reactive[str] = reactive("Results hidden · press r to show them")
    """The line shown under the options while results are hidden."""

    def render(self) -> Text:
        """Draw the view for the current size."""
        view = self.view
        if view is None:
            return Text("")
        width, height = self.content_size
        if not view.shown:
            return self._finish(self._listing(view.listing, width, height - 2), self.hidden_hint)
        if not view.rows:
            return self._finish([], view.empty)
        room = height - (1 + len(view.summary.splitlines()) if view.summary else 0)
        if view.focus is not None and len(view.rows) > room > 0:
            # Not every row fits, even one a line: keep the cursor's row in the window.
            start = max(0, min(view.focus - room // 2, len(view.rows) - room))
            view = replace(view, rows=view.rows[start : start + room])
        if view.full <= 0:
            lines = self._listing(view.rows, width, room)
        else:
            layout = choose_layout(len(view.rows), room, self.max_thickness)
            if layout.thickness == 0:
                lines = self._compact_lines(view, width, layout.gap)
            else:
                lines = self._stacked_lines(view, width, layout)
        return self._finish(lines[: max(room, 0)], view.summary)

    def _finish(self, lines: list[Text], note: str) -> Text:
        """Add ``note`` under the rows, always visible: it explains what is (not) shown.

        Each line of ``note`` gets a row of its own (a quiz adds its leaderboard).
        """
        width, height = self.content_size
        if note:
            style = self.get_component_rich_style("results-bars--note")
            hints = []
            for part in note.splitlines():
                hint = Text(part, style=style)
                hint.truncate(width, overflow="ellipsis")
                hints.append(hint)
            lines = lines[: max(height - 1 - len(hints), 0)]
            if lines:
                lines.append(Text(""))
            lines.extend(hints)
        return Text("\n", no_wrap=True, end="").join(lines[: max(height, 1)])

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"results-bars--{name}", partial=True)

    def _label(self, row: Row, width: int) -> Text:
        """Key, label and mark in ``width`` cells; a long label gives way, never the mark
        (a Q&A's PENDING or HIDDEN must stay readable)."""
        prefix = Text()
        if row.key:
            prefix.append(row.key, self._style("key"))
            prefix.append("  ")
        suffix = Text()
        if row.mark:
            tone = f"mark-{row.tone}" if row.tone in ("warning", "muted") else "mark"
            suffix.append("  ")
            suffix.append(row.mark, self._style(tone))
        label_style = self._style("label")
        if row.tone == "muted":
            label_style += self._style("dim")
        label = Text(row.label, label_style)
        room = width - prefix.cell_len - suffix.cell_len
        if room < min(label.cell_len, 8):
            # Too narrow for both: the label first, as before.
            suffix = Text()
            room = width - prefix.cell_len
        label.truncate(max(room, 0), overflow="ellipsis")
        text = Text.assemble(prefix, label, suffix)
        text.truncate(width, overflow="ellipsis")
        if row.selected:
            text.pad_right(width - text.cell_len)
            text.stylize(self._style("cursor"))
        return text

    def _bar(self, fraction: float, width: int) -> Text:
        bar_style = self.get_component_rich_style("results-bars--bar")
        cells = bar_cells(fraction, width)
        text = Text(cells, style=bar_style)
        text.append(" " * (width - len(cells)), Style(bgcolor=bar_style.bgcolor))
        return text

    def _listing(self, rows: tuple[Row, ...], width: int, room: int) -> list[Text]:
        gap = 1 if len(rows) * 2 - 1 <= room else 0
        lines: list[Text] = []
        for index, row in enumerate(rows):
            if index and gap:
                lines.append(Text(""))
            lines.append(self._label(row, width))
        return lines

    def _stacked_lines(self, view: ResultsView, width: int, layout: BarsLayout) -> list[Text]:
        figures_width = max(len(row.figure) for row in view.rows)
        indent = 3
        bar_width = max(width - indent - figures_width - 2, 1)
        middle = (layout.thickness - 1) // 2
        lines: list[Text] = []
        for index, row in enumerate(view.rows):
            if index and layout.gap:
                lines.append(Text(""))
            lines.append(self._label(row, width))
            bar = self._bar(row.value / view.full, bar_width)
            for line_number in range(layout.thickness):
                line = Text(" " * indent)
                line.append_text(bar)
                if line_number == middle:
                    line.append("  ")
                    line.append(row.figure.rjust(figures_width), self._style("figures"))
                lines.append(line)
        return lines

    def _compact_lines(self, view: ResultsView, width: int, gap: int) -> list[Text]:
        figures_width = max(len(row.figure) for row in view.rows)
        longest = max(
            self._label(replace(row, selected=False), width).cell_len for row in view.rows
        )
        label_width = max(min(longest, width // 3), 4)
        bar_width = max(width - label_width - figures_width - 3, 1)
        lines: list[Text] = []
        for index, row in enumerate(view.rows):
            if index and gap:
                lines.append(Text(""))
            line = self._label(row, label_width)
            line.pad_right(label_width - line.cell_len)
            line.append(" ")
            line.append_text(self._bar(row.value / view.full, bar_width))
            line.append("  ")
            line.append(row.figure.rjust(figures_width), self._style("figures"))
            lines.append(line)
        return lines
