"""Live horizontal result bars, sized to whatever room the screen gives them.

Every label is user text from the deck and is only ever placed in ``Text``
objects, never parsed as markup: an option called ``[red]x[/]`` shows as typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

_PARTIAL_BLOCKS = " ▏▎▍▌▋▊▉"
"""Left-aligned blocks of 0/8 to 7/8 of a cell: bars grow smoothly, not in cell steps."""

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def option_letter(index: int) -> str:
    """The letter the chair can call an option by (decks have at most 26)."""
    return _LETTERS[index] if index < len(_LETTERS) else str(index + 1)


@dataclass(frozen=True, slots=True)
class Tally:
    """What the bars show: options, their counts and the number of respondents."""

    options: tuple[str, ...]
    counts: tuple[int, ...]
    respondents: int
    shown: bool
    """False hides counts and bars (only the options are listed) to avoid herding."""

    def percent(self, option: int) -> float:
        """Share of respondents who picked ``option``, 0-100 (multi may sum above 100)."""
        if self.respondents <= 0 or option >= len(self.counts):
            return 0.0
        return 100.0 * self.counts[option] / self.respondents


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


def choose_layout(options: int, height: int, max_thickness: int = 3) -> BarsLayout:
    """The thickest bars (then the airiest spacing) that fit ``height`` rows."""
    for thickness in range(max_thickness, 0, -1):
        for gap in (1, 0):
            if options * (1 + thickness) + max(options - 1, 0) * gap <= height:
                return BarsLayout(thickness, gap)
    return BarsLayout(0, 1 if options * 2 - 1 <= height else 0)


class ResultsBars(Widget):
    """One horizontal bar per option with its count and percentage of respondents.

    The layout adapts to the widget's size: a label row above bars up to three
    rows thick on a large screen, down to one row per option on a small one. While
    results are hidden, the options are listed without any figures.
    """

    DEFAULT_CSS = """
    ResultsBars {
        height: 1fr;
        min-height: 2;
    }
    ResultsBars > .results-bars--letter {
        color: $accent;
        text-style: bold;
    }
    ResultsBars > .results-bars--label {
        text-style: bold;
    }
    ResultsBars > .results-bars--bar {
        color: $accent;
        background: $boost;
    }
    ResultsBars > .results-bars--figures {
        text-style: bold;
    }
    ResultsBars > .results-bars--hidden {
        color: $text-muted;
        text-style: italic;
    }
    """

    COMPONENT_CLASSES = {
        "results-bars--letter",
        "results-bars--label",
        "results-bars--bar",
        "results-bars--figures",
        "results-bars--hidden",
    }

    tally: reactive[Tally | None] = reactive(None)
    """The figures to draw; None draws nothing (no state from the server yet)."""

    max_thickness: reactive[int] = reactive(3)
    """Bars never get thicker than this many rows."""

    hidden_hint: reactive[str] = reactive("Results hidden · press r to show them")
    """The line shown under the options while results are hidden."""

    def render(self) -> Text:
        """Draw the options for the current size."""
        tally = self.tally
        if tally is None or not tally.options:
            return Text("")
        width, height = self.content_size
        if not tally.shown:
            return self._render_hidden(tally, width, height)
        layout = choose_layout(len(tally.options), height, self.max_thickness)
        if layout.thickness == 0:
            lines = self._compact_lines(tally, width, layout.gap)
        else:
            lines = self._stacked_lines(tally, width, layout)
        return Text("\n", no_wrap=True, end="").join(lines[: max(height, 1)])

    def _styles(self) -> tuple[Style, Style, Style, Style]:
        return (
            self.get_component_rich_style("results-bars--letter", partial=True),
            self.get_component_rich_style("results-bars--label", partial=True),
            self.get_component_rich_style("results-bars--bar"),
            self.get_component_rich_style("results-bars--figures", partial=True),
        )

    def _figures(self, tally: Tally) -> list[str]:
        count_width = len(str(max(tally.counts, default=0)))
        return [
            f"{tally.counts[i] if i < len(tally.counts) else 0:>{count_width}}"
            f"  {tally.percent(i):>3.0f}%"
            for i in range(len(tally.options))
        ]

    def _bar(self, fraction: float, width: int, bar_style: Style) -> Text:
        track = Style(bgcolor=bar_style.bgcolor)
        cells = bar_cells(fraction, width)
        text = Text(cells, style=bar_style)
        text.append(" " * (width - len(cells)), track)
        return text

    def _label(self, index: int, option: str, width: int) -> Text:
        letter_style, label_style, _, _ = self._styles()
        text = Text.assemble((option_letter(index), letter_style), "  ", (option, label_style))
        text.truncate(width, overflow="ellipsis")
        return text

    def _stacked_lines(self, tally: Tally, width: int, layout: BarsLayout) -> list[Text]:
        _, _, bar_style, figures_style = self._styles()
        figures = self._figures(tally)
        figures_width = max(len(figure) for figure in figures)
        indent = 3
        bar_width = max(width - indent - figures_width - 2, 1)
        middle = (layout.thickness - 1) // 2
        lines: list[Text] = []
        for index, option in enumerate(tally.options):
            if index and layout.gap:
                lines.append(Text(""))
            lines.append(self._label(index, option, width))
            bar = self._bar(tally.percent(index) / 100, bar_width, bar_style)
            for row in range(layout.thickness):
                line = Text(" " * indent)
                line.append_text(bar)
                if row == middle:
                    line.append("  ")
                    line.append(figures[index].rjust(figures_width), figures_style)
                lines.append(line)
        return lines

    def _compact_lines(self, tally: Tally, width: int, gap: int) -> list[Text]:
        _, _, bar_style, figures_style = self._styles()
        figures = self._figures(tally)
        figures_width = max(len(figure) for figure in figures)
        longest = max(len(option) for option in tally.options) + 3
        label_width = max(min(longest, width // 3), 4)
        bar_width = max(width - label_width - figures_width - 3, 1)
        lines: list[Text] = []
        for index, option in enumerate(tally.options):
            if index and gap:
                lines.append(Text(""))
            line = self._label(index, option, label_width)
            line.pad_right(label_width - line.cell_len)
            line.append(" ")
            line.append_text(self._bar(tally.percent(index) / 100, bar_width, bar_style))
            line.append("  ")
            line.append(figures[index].rjust(figures_width), figures_style)
            lines.append(line)
        return lines

    def _render_hidden(self, tally: Tally, width: int, height: int) -> Text:
        hint_style = self.get_component_rich_style("results-bars--hidden", partial=True)
        options = len(tally.options)
        gap = 1 if options * 2 + 1 <= height else 0
        lines: list[Text] = []
        for index, option in enumerate(tally.options):
            if index and gap:
                lines.append(Text(""))
            lines.append(self._label(index, option, width))
        if len(lines) + 2 <= height:
            lines.append(Text(""))
        hint = Text(self.hidden_hint, style=hint_style)
        hint.truncate(width, overflow="ellipsis")
        # The hint must stay visible: it is what tells the chair why there are no bars.
        lines = lines[: max(height - 1, 0)]
        lines.append(hint)
        return Text("\n", no_wrap=True, end="").join(lines)
