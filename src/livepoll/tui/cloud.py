"""The word cloud of a text question: laid out without Textual, drawn by a thin widget.

The server sends the words already folded, stop-words removed and blocked words
masked, most used first. :func:`layout_cloud` places them in the room the screen
gives: in a fixed shuffled order (a hash of each word, so a word keeps its place
while counts change), flowing left to right in centred lines, each word drawn by
its *tier*, that is how often it was used against the most used word:

* ``BIG``: in the pixel font of :mod:`livepoll.tui.bigtext`, the most used word
  largest and the others one size smaller; a word the font cannot draw (or that
  does not fit) gets a coloured chip instead;
* ``BOLD``: bold, in a bright colour;
* ``PLAIN``: in a bright colour;
* ``DIM``: muted, for words used rarely.

Each word keeps one colour (from a hash of it). When not everything fits, the
letters get smaller first, then big words other than the top one become chips,
then rare (dim) words are left out, then the top word becomes a chip too, and
last the least used words are left out.

Words are user text: they only ever go into ``Text`` objects, never into markup.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from livepoll.tui.bigtext import can_draw, render_lines, rendered_size
from livepoll.tui.views import ResultsView

DIM, PLAIN, BOLD, BIG = 0, 1, 2, 3
"""Tiers, from rarely used words to the most used ones."""

BIG_SHARE = 0.6
"""A word used at least this share as often as the top word is drawn big…"""
BOLD_SHARE = 0.3
"""…at least this share, bold…"""
PLAIN_SHARE = 0.15
"""…at least this share, in colour; below it, dim."""

MAX_BIG = 5
"""Big words at most: a cloud of only big words is a list again."""

MAX_SCALE = 4
"""The most used word's pixels are at most this many cells."""

HUES = 6
"""Colours the words cycle through (the widget's ``word-cloud--hue-N`` classes)."""

COLUMN_GAP = 2
"""Blank cells between words on a line."""

STACK = 3
"""Small words stacked at most beside a big word: more, and they read as a list."""

SUMMARY_WORDS = 8
"""Words named with their counts in the summary line, room permitting."""

Words = tuple[tuple[str, int], ...]
"""``(word, count)`` pairs, most used first, as the server sends them."""


def _hash(word: str, salt: bytes = b"") -> int:
    """A hash that is the same in every process (``hash()`` of a str is salted)."""
    return zlib.crc32(salt + word.encode("utf-8", "surrogatepass"))


def hue_of(word: str) -> int:
    """The colour a word always gets, whatever else is in the cloud."""
    return _hash(word, b"hue:") % HUES


def tier_of(count: int, most: int) -> int:
    """How loud a word used ``count`` times is drawn when the top word has ``most``.

    A word needs two mentions to be drawn big: while every word has one, none
    stands out.
    """
    share = count / most if most > 0 else 0.0
    if share >= BIG_SHARE and count >= 2:
        return BIG
    if share >= BOLD_SHARE:
        return BOLD
    if share >= PLAIN_SHARE:
        return PLAIN
    return DIM


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of cells on one line: part of a word, or blank (``word`` None)."""

    text: str
    word: str | None = None
    tier: int = DIM
    hue: int = 0
    big: bool = False
    """Drawn in the pixel font (``text`` is block characters)."""
    chip: bool = False
    """A big word drawn as a coloured chip (``text`` has a blank on each side)."""


@dataclass(frozen=True, slots=True)
class Placed:
    """A word of the cloud as it was drawn."""

    word: str
    count: int
    tier: int
    scale: int
    """The pixel font's scale; 0 when the word is drawn as text."""


@dataclass(frozen=True, slots=True)
class Cloud:
    """A laid-out cloud: lines of pieces, never wider than asked, and what is on them."""

    lines: tuple[tuple[Piece, ...], ...]
    placed: tuple[Placed, ...]
    """Every word drawn, in the order they flow (each once)."""
    left_out: int = 0
    """Words that did not fit, the least used ones."""


@dataclass(frozen=True, slots=True)
class _Item:
    """One word sized for a layout attempt."""

    placed: Placed
    rows: tuple[str, ...]
    """The word's rows of text: several for the pixel font, one otherwise."""
    width: int
    hue: int
    key: int
    chip: bool = False


@dataclass(slots=True)
class _Column:
    """A slot on a line of the cloud: one big word, or small words one under another."""

    items: list[_Item]
    width: int

    @property
    def height(self) -> int:
        return sum(len(item.rows) for item in self.items)

    @property
    def big(self) -> bool:
        return self.items[0].placed.scale > 0


@dataclass(slots=True)
class _Line:
    """Slots side by side, as high as the highest; ``width`` counts the gaps too."""

    columns: list[_Column]
    width: int = 0

    @property
    def height(self) -> int:
        return max(column.height for column in self.columns)


def _fit_text(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with an ellipsis when it is longer."""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(width - 1, 0)) + "…"


def _item(word: str, count: int, tier: int, scale: int, width: int, height: int) -> _Item:
    """``word`` at ``scale`` (0: as text), smaller if need be to fit ``width`` × ``height``."""
    key = _hash(word)
    hue = hue_of(word)
    if scale and can_draw(word):
        while scale > 0:
            columns, rows = rendered_size(word, scale)
            if columns <= width and rows <= height:
                lines = render_lines(word, scale)
                return _Item(Placed(word, count, tier, scale), lines, columns, hue, key)
            scale -= 1
    if tier == BIG:
        text = _fit_text(f" {word} ", width)
        return _Item(Placed(word, count, tier, 0), (text,), cell_len(text), hue, key, chip=True)
    text = _fit_text(word, width)
    return _Item(Placed(word, count, tier, 0), (text,), cell_len(text), hue, key)


def _flow(items: Sequence[_Item], width: int) -> list[_Line]:
    """Words left to right in lines at most ``width`` wide.

    Beside a big word a line is several rows high, so small words there are
    stacked rather than each leaving rows empty above and below it.
    """
    lines: list[_Line] = []
    for item in items:
        line = lines[-1] if lines else None
        if line is not None and not item.placed.scale:
            last = line.columns[-1]
            grown = line.width - last.width + max(last.width, item.width)
            stackable = not last.big and last.height < min(line.height, STACK)
            if stackable and grown <= width:
                last.items.append(item)
                last.width = max(last.width, item.width)
                line.width = grown
                continue
        if line is not None and line.width + COLUMN_GAP + item.width <= width:
            line.columns.append(_Column([item], item.width))
            line.width += COLUMN_GAP + item.width
            continue
        lines.append(_Line([_Column([item], item.width)], item.width))
    return lines


def _height(lines: Sequence[_Line], gap: int) -> int:
    return sum(line.height for line in lines) + gap * max(len(lines) - 1, 0)


def _draw_column(column: _Column, height: int) -> list[list[Piece]]:
    """``height`` rows of exactly ``column.width`` cells; the words sit at a spot of
    their own (a big word in the middle), so stacks do not line up like a table."""
    rows: list[list[Piece]] = [[Piece(" " * column.width)] for _ in range(height)]
    spare = height - column.height
    top = spare // 2 if column.big else column.items[0].key % (spare + 1)
    for item in column.items:
        left = (column.width - item.width) // 2
        for text in item.rows:
            piece = Piece(
                text,
                item.placed.word,
                item.placed.tier,
                item.hue,
                big=item.placed.scale > 0,
                chip=item.chip,
            )
            right = column.width - item.width - left
            rows[top] = [Piece(" " * left), piece, Piece(" " * right)]
            top += 1
    return rows


def _draw(lines: Sequence[_Line], width: int, gap: int) -> tuple[tuple[Piece, ...], ...]:
    drawn: list[tuple[Piece, ...]] = []
    for index, line in enumerate(lines):
        if index:
            drawn.extend(() for _ in range(gap))
        height = line.height
        columns = [_draw_column(column, height) for column in line.columns]
        indent = Piece(" " * ((width - line.width) // 2))
        for row in range(height):
            pieces = [indent]
            for number, column in enumerate(columns):
                if number:
                    pieces.append(Piece(" " * COLUMN_GAP))
                pieces.extend(column[row])
            drawn.append(_merge_blanks(pieces))
    return tuple(drawn)


def _merge_blanks(pieces: Sequence[Piece]) -> tuple[Piece, ...]:
    """Adjacent blank pieces as one, and no blanks at the end of a line."""
    merged: list[Piece] = []
    for piece in pieces:
        if not piece.text:
            continue
        if piece.word is None and merged and merged[-1].word is None:
            merged[-1] = Piece(merged[-1].text + piece.text)
        else:
            merged.append(piece)
    while merged and merged[-1].word is None:
        merged.pop()
    return tuple(merged)


def _attempts(words: Words, width: int, height: int) -> Iterator[tuple[list[_Item], int]]:
    """Ways to draw the cloud, the best-looking first: (words in flow order, blank rows
    between lines). Each is tried in turn until one fits."""
    most = max(max((count for _, count in words), default=1), 1)
    tiers = [tier_of(count, most) for _, count in words]
    big = [i for i, tier in enumerate(tiers) if tier == BIG][:MAX_BIG]
    tiers = [BOLD if tier == BIG and i not in big else tier for i, tier in enumerate(tiers)]
    # (words kept, the top word's scale, which words may be big), best first.
    plans: list[tuple[int, int, Sequence[int]]] = []
    if big:
        plans += [(len(words), scale, big) for scale in range(MAX_SCALE, 0, -1)]
        plans += [(len(words), 1, big[:kept]) for kept in range(len(big) - 1, 0, -1)]
        # The top word drawn big is what makes it a cloud: rare words go first.
        rare = next((i for i, tier in enumerate(tiers) if tier == DIM), len(words))
        plans += [(kept, 1, big[:1]) for kept in range(len(words) - 1, max(rare, 1) - 1, -1)]
    plans += [(kept, 0, ()) for kept in range(len(words), 0, -1)]
    for kept, scale, big_words in plans:
        items = []
        for i, (word, count) in enumerate(words[:kept]):
            word_scale = 0
            if scale and i in big_words:
                # Two sizes only, the top word's and one smaller: a count going up
                # resizes (and reflows) nothing until a word changes tier.
                word_scale = scale if count == most else max(1, scale - 1)
            items.append(_item(word, count, tiers[i], word_scale, width, height))
            if items[-1].placed.scale:
                # A word shrunk to fit: no less used word may be drawn larger.
                scale = items[-1].placed.scale
        items.sort(key=lambda item: (item.key, item.placed.word))
        for gap in (1, 0):
            yield items, gap


@lru_cache(maxsize=16)
def layout_cloud(words: Words, width: int, height: int) -> Cloud:
    """Place ``words`` in ``width`` × ``height`` cells (see the module's docstring).

    The lines are centred, and as wide as makes the cloud's shape close to the
    area's, so a few words do not make one long strip on a large screen.
    """
    if not words or width < 1 or height < 1:
        return Cloud((), (), len(words))
    for items, gap in _attempts(words, width, height):
        lines = _flow(items, width)
        if _height(lines, gap) > height:
            continue
        lines = _balanced(items, width, height, gap, lines)
        placed = tuple(item.placed for line in lines for c in line.columns for item in c.items)
        return Cloud(_draw(lines, width, gap), placed, len(words) - len(items))
    return Cloud((), (), len(words))  # unreached: the top word alone, cut short, always fits


def _balanced(
    items: Sequence[_Item], width: int, height: int, gap: int, lines: list[_Line]
) -> list[_Line]:
    """The flow whose filled share of the width is closest to that of the height."""
    best = lines
    best_score = abs(max(line.width for line in lines) / width - _height(lines, gap) / height)
    widest = max(item.width for item in items)
    for target in range(width - 1, widest - 1, -1):
        trial = _flow(items, target)
        used = _height(trial, gap)
        if used > height:
            break
        score = abs(max(line.width for line in trial) / width - used / height)
        if score < best_score:
            best, best_score = trial, score
    return best


def summary_line(prefix: str, words: Words, width: int) -> str:
    """``prefix: word count · word count …`` with as many words as fit ``width``."""
    line = prefix
    for number, (word, count) in enumerate(words[:SUMMARY_WORDS]):
        longer = f"{line}{': ' if number == 0 else ' · '}{word} {count}"
        if cell_len(longer) > width:
            break
        line = longer
    return line


class WordCloud(Widget):
    """The word cloud of a text question, with its summary line under it.

    While results are hidden only a hint is shown: the words are the answers.
    """

    DEFAULT_CSS = """
    WordCloud {
        height: 1fr;
        min-height: 2;
    }
    WordCloud > .word-cloud--hue-0 { color: #ffd75f; }
    WordCloud > .word-cloud--hue-1 { color: #5fd7ff; }
    WordCloud > .word-cloud--hue-2 { color: #87ff87; }
    WordCloud > .word-cloud--hue-3 { color: #ff87af; }
    WordCloud > .word-cloud--hue-4 { color: #ffaf5f; }
    WordCloud > .word-cloud--hue-5 { color: #d7afff; }
    WordCloud > .word-cloud--dim {
        color: $text-muted;
    }
    WordCloud > .word-cloud--chip {
        color: $background;
        text-style: bold;
    }
    WordCloud > .word-cloud--note {
        color: $text-muted;
        text-style: italic;
    }
    """

    COMPONENT_CLASSES = {
        *(f"word-cloud--hue-{hue}" for hue in range(HUES)),
        "word-cloud--dim",
        "word-cloud--chip",
        "word-cloud--note",
    }

    view: reactive[ResultsView | None] = reactive(None)
    """What to draw (its ``cloud`` words); None draws nothing."""

    hidden_hint: reactive[str] = reactive("Results hidden · press r to show them")
    """The line shown while results are hidden."""

    def render(self) -> Text:
        """The cloud centred in the widget, the summary on its last row."""
        view = self.view
        if view is None:
            return Text("")
        width, height = self.content_size
        if not view.shown:
            return self._finish([], self.hidden_hint)
        if not view.cloud:
            return self._finish([], view.empty)
        note = summary_line(view.summary, view.cloud, width)
        room = max(height - 2, 0)
        cloud = layout_cloud(view.cloud, width, room)
        top = (room - len(cloud.lines)) // 2
        lines = [Text("") for _ in range(top)]
        lines.extend(self._line(pieces) for pieces in cloud.lines)
        lines.extend(Text("") for _ in range(room - len(lines)))
        return self._finish(lines, note)

    def _finish(self, lines: list[Text], note: str) -> Text:
        width, height = self.content_size
        hint = Text(note, style=self.get_component_rich_style("word-cloud--note"))
        hint.truncate(width, overflow="ellipsis")
        lines = [*lines[: max(height - 2, 0)], Text(""), hint] if lines else [hint]
        return Text("\n", no_wrap=True, end="").join(lines[-max(height, 1) :])

    def _style(self, piece: Piece) -> Style:
        hue = self.get_component_rich_style(f"word-cloud--hue-{piece.hue}", partial=True)
        if piece.chip:
            chip = self.get_component_rich_style("word-cloud--chip", partial=True)
            return chip + Style(bgcolor=hue.color)
        if piece.big:
            return hue
        if piece.tier == DIM:
            # Not partial: the muted colour is translucent, blended with the background.
            return self.get_component_rich_style("word-cloud--dim")
        if piece.tier == PLAIN:
            return hue
        return hue + Style(bold=True)

    def _line(self, pieces: Sequence[Piece]) -> Text:
        line = Text()
        for piece in pieces:
            if piece.word is None:
                line.append(piece.text)
            else:
                line.append(piece.text, self._style(piece))
        return line
