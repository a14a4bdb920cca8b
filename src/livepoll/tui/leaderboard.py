"""The quiz leaderboard as a screen of its own: the top ten in large type.

After a quiz closes the room wants to see who leads, from the back row. The
server sends the board (best first, with each player's rank before the last quiz
and the points it gave them); :func:`standings` turns it into ranked rows, ties
sharing a rank, and :class:`LeaderboardTable` draws them in the pixel font of
:mod:`livepoll.tui.bigtext` when the terminal has the room, in bold text when not.

Nicknames are user text: they only ever go into ``Text`` objects, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from livepoll.tui.bigtext import GLYPH_HEIGHT, can_draw, natural_width, render_lines

TOP = 10
"""Players on the board."""

COLUMN_GAP = 3
"""Blank cells between the board's columns, per unit of scale (the letters' own
spacing grows with the scale, so the columns' must too)."""


@dataclass(frozen=True, slots=True)
class Standing:
    """One player's row on the board."""

    rank: int
    """1 for the leader; players with equal points share a rank (1, 2, 2, 4)."""
    name: str
    """The nickname, user text, drawn literally."""
    points: int
    change: str
    """Places moved since the last quiz (``▲ 2``, ``▼ 1``, ``=``, ``new``) and the
    points it gave (``+300``); empty after the first quiz, when nobody moved."""


def standings(board: Sequence[dict[str, Any]]) -> tuple[Standing, ...]:
    """The top :data:`TOP` of the server's board, ranked with ties sharing a rank."""
    top = list(board)[:TOP]
    points = [int(entry.get("points", 0)) for entry in top]
    moved = any(entry.get("previous_rank") is not None for entry in top)
    rows = []
    for entry, own in zip(top, points, strict=True):
        rank = 1 + sum(1 for other in points if other > own)
        previous = entry.get("previous_rank")
        if not moved:
            places = ""
        elif previous is None:
            places = "new"
        elif int(previous) > rank:
            places = f"▲ {int(previous) - rank}"
        elif int(previous) < rank:
            places = f"▼ {rank - int(previous)}"
        else:
            places = "="
        gained = entry.get("gained")
        parts = [places] if places else []
        if moved and gained:
            parts.append(f"+{int(gained)}")
        rows.append(Standing(rank, str(entry.get("name", "")), own, "  ".join(parts)))
    return tuple(rows)


def _big_width(text: str, scale: int) -> int:
    """Cells ``text`` takes at ``scale``, in the font if it can be drawn, else as text."""
    return natural_width(text) * scale if can_draw(text, prose=True) else cell_len(text)


def board_layout(
    rows: Sequence[Standing], width: int, height: int, max_scale: int = 3
) -> tuple[int, int]:
    """(scale, blank rows between players) of the largest big-letter board that fits
    ``width`` × ``height``: a blank row between players when there is room, none when
    that is what lets the letters be big (a glyph's bottom pixel row is mostly blank,
    so rows stay apart); (0, 0) when even scale 1 does not fit (drawn as text)."""
    if not rows:
        return 0, 0
    for scale in range(max_scale, 0, -1):
        row_height = (GLYPH_HEIGHT * scale + 1) // 2
        columns = (
            max(_big_width(str(row.rank), scale) for row in rows)
            + max(_big_width(row.name, scale) for row in rows)
            + max(_big_width(str(row.points), scale) for row in rows)
            + max(cell_len(row.change) for row in rows)
            + 3 * COLUMN_GAP * scale
        )
        if columns > width:
            continue
        for gap in (1, 0):
            if len(rows) * (row_height + gap) - gap <= height:
                return scale, gap
    return 0, 0


def board_scale(rows: Sequence[Standing], width: int, height: int, max_scale: int = 3) -> int:
    """The scale of :func:`board_layout` (0: the board is drawn as text)."""
    return board_layout(rows, width, height, max_scale)[0]


class LeaderboardTable(Widget):
    """The board: rank, nickname, points and change, as large as the widget allows."""

    DEFAULT_CSS = """
    LeaderboardTable {
        height: 1fr;
    }
    LeaderboardTable > .leaderboard--rank {
        color: $accent;
        text-style: bold;
    }
    LeaderboardTable > .leaderboard--name {
        text-style: bold;
    }
    LeaderboardTable > .leaderboard--points {
        text-style: bold;
    }
    LeaderboardTable > .leaderboard--change {
        color: $text-muted;
        text-style: bold;
    }
    LeaderboardTable > .leaderboard--empty {
        color: $text-muted;
        text-style: italic;
    }
    """

    COMPONENT_CLASSES = {
        "leaderboard--rank",
        "leaderboard--name",
        "leaderboard--points",
        "leaderboard--change",
        "leaderboard--empty",
    }

    rows: reactive[tuple[Standing, ...]] = reactive(())
    """The ranked players to draw."""

    @property
    def scale_now(self) -> int:
        """The scale drawn at the current size; 0 when drawn as text."""
        width, height = self.content_size
        return board_scale(self.rows, width, height)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"leaderboard--{name}", partial=True)

    def render(self) -> Text:
        """The rows in big letters, or as a table of bold text when they do not fit."""
        rows = self.rows
        if not rows:
            return Text("No points yet: nobody has answered a quiz right.", self._style("empty"))
        width, height = self.content_size
        scale, gap = board_layout(rows, width, height)
        if scale:
            lines = self._big_lines(rows, scale, gap)
        else:
            lines = self._text_lines(rows, width, height)
        return Text("\n", no_wrap=True, end="").join(lines)

    def _cell(self, text: str, scale: int, width: int, style: str, right: bool) -> list[Text]:
        """``text`` as rows of big letters (or as text on the middle row), padded to ``width``."""
        row_height = (GLYPH_HEIGHT * scale + 1) // 2
        if can_draw(text, prose=True):
            drawn = list(render_lines(text, scale))
            drawn += [" " * len(drawn[0])] * (row_height - len(drawn))
        else:
            drawn = [""] * row_height
            drawn[row_height // 2] = text
        cells = []
        for line in drawn:
            cell = Text(line, self._style(style))
            padding = " " * max(width - cell.cell_len, 0)
            cells.append(Text(padding) + cell if right else cell + Text(padding))
        return cells

    def _big_lines(self, rows: Sequence[Standing], scale: int, gap_rows: int) -> list[Text]:
        rank_width = max(_big_width(str(row.rank), scale) for row in rows)
        name_width = max(_big_width(row.name, scale) for row in rows)
        points_width = max(_big_width(str(row.points), scale) for row in rows)
        row_height = (GLYPH_HEIGHT * scale + 1) // 2
        gap = Text(" " * COLUMN_GAP * scale)
        lines: list[Text] = []
        for number, row in enumerate(rows):
            if number and gap_rows:
                lines.append(Text(""))
            ranks = self._cell(str(row.rank), scale, rank_width, "rank", right=True)
            names = self._cell(row.name, scale, name_width, "name", right=False)
            points = self._cell(str(row.points), scale, points_width, "points", right=True)
            for line in range(row_height):
                text = Text.assemble(ranks[line], gap, names[line], gap, points[line])
                if line == row_height // 2 and row.change:
                    text.append_text(gap)
                    text.append(row.change, self._style("change"))
                lines.append(text)
        return lines

    def _text_lines(self, rows: Sequence[Standing], width: int, height: int) -> list[Text]:
        """One line per player; names give way (with an ellipsis), figures never do."""
        rank_width = max(len(str(row.rank)) for row in rows)
        points_width = max(len(str(row.points)) for row in rows)
        change_width = max(cell_len(row.change) for row in rows)
        longest = max(cell_len(row.name) for row in rows)
        name_room = max(min(longest, width - rank_width - points_width - change_width - 6), 4)
        spaced = len(rows) * 2 - 1 <= height
        lines: list[Text] = []
        for number, row in enumerate(rows):
            if number and spaced:
                lines.append(Text(""))
            name = Text(row.name, self._style("name"))
            name.truncate(name_room, overflow="ellipsis", pad=True)
            lines.append(
                Text.assemble(
                    (str(row.rank).rjust(rank_width), self._style("rank")),
                    "  ",
                    name,
                    "  ",
                    (str(row.points).rjust(points_width), self._style("points")),
                    "  ",
                    (row.change, self._style("change")),
                )
            )
        return lines
