"""Large letters for the join URL, readable from the back of a room.

Textual's ``Digits`` draws numbers only, and a join URL needs letters and
punctuation, so this is a small pixel font: glyphs 1-5 pixels wide and 6 pixels
tall (5 above the baseline, 1 for descenders), drawn with half blocks so that two
pixels share a terminal cell and pixels stay square. A scale factor makes every
pixel ``scale`` columns by ``scale`` half-rows when the screen is wide enough.

Covered: what URLs need (lower-case letters, digits and ``.:/-_?=&%~[]``) and
upper-case letters and a space for room codes. At this size some capitals look like digits or
small letters (``B``/``8``, ``C``/``c``), and a URL's path is case-sensitive, so
text that mixes upper and lower case is not drawn big: :class:`BigText` falls back
to plain bold text, and the full URL is always printed plainly as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

GLYPH_HEIGHT = 6
"""Pixel rows per glyph: 5 above the baseline and 1 for descenders."""

LETTER_SPACING = 1
"""Blank pixel columns between glyphs."""

# Each glyph: 6 rows of '#' (ink) and '.' (paper), all rows of equal width.
_GLYPHS: dict[str, tuple[str, ...]] = {
    "0": ("###", "#.#", "#.#", "#.#", "###", "..."),
    "1": (".#.", "##.", ".#.", ".#.", "###", "..."),
    "2": ("###", "..#", "###", "#..", "###", "..."),
    "3": ("###", "..#", ".##", "..#", "###", "..."),
    "4": ("#.#", "#.#", "###", "..#", "..#", "..."),
    "5": ("###", "#..", "###", "..#", "###", "..."),
    "6": ("###", "#..", "###", "#.#", "###", "..."),
    "7": ("###", "..#", ".#.", ".#.", ".#.", "..."),
    "8": ("###", "#.#", "###", "#.#", "###", "..."),
    "9": ("###", "#.#", "###", "..#", "###", "..."),
    "a": ("...", "##.", ".##", "#.#", "###", "..."),
    "b": ("#..", "#..", "##.", "#.#", "##.", "..."),
    "c": ("...", ".##", "#..", "#..", ".##", "..."),
    "d": ("..#", "..#", ".##", "#.#", ".##", "..."),
    "e": ("...", ".#.", "#.#", "##.", ".##", "..."),
    "f": ("..#", ".#.", "###", ".#.", ".#.", "..."),
    "g": ("...", ".##", "#.#", ".##", "..#", "##."),
    "h": ("#..", "#..", "##.", "#.#", "#.#", "..."),
    "i": ("#", ".", "#", "#", "#", "."),
    "j": ("..#", "...", "..#", "..#", "#.#", ".#."),
    "k": ("#..", "#.#", "##.", "##.", "#.#", "..."),
    "l": ("##.", ".#.", ".#.", ".#.", ".##", "..."),
    "m": (".....", "####.", "#.#.#", "#.#.#", "#.#.#", "....."),
    "n": ("...", "##.", "#.#", "#.#", "#.#", "..."),
    "o": ("...", ".#.", "#.#", "#.#", ".#.", "..."),
    "p": ("...", "##.", "#.#", "##.", "#..", "#.."),
    "q": ("...", ".##", "#.#", ".##", "..#", "..#"),
    "r": ("...", ".##", "#..", "#..", "#..", "..."),
    "s": ("...", ".##", "#..", "..#", "##.", "..."),
    "t": (".#.", "###", ".#.", ".#.", ".##", "..."),
    "u": ("...", "#.#", "#.#", "#.#", "###", "..."),
    "v": ("...", "#.#", "#.#", "#.#", ".#.", "..."),
    "w": (".....", "#.#.#", "#.#.#", "#.#.#", ".#.#.", "....."),
    "x": ("...", "#.#", ".#.", ".#.", "#.#", "..."),
    "y": ("...", "#.#", "#.#", ".##", "..#", "##."),
    "z": ("...", "###", ".##", "##.", "###", "..."),
    "A": (".#.", "#.#", "###", "#.#", "#.#", "..."),
    "B": ("##.", "#.#", "##.", "#.#", "##.", "..."),
    "C": (".##", "#..", "#..", "#..", ".##", "..."),
    "D": ("##.", "#.#", "#.#", "#.#", "##.", "..."),
    "E": ("###", "#..", "##.", "#..", "###", "..."),
    "F": ("###", "#..", "##.", "#..", "#..", "..."),
    "G": (".##", "#..", "#.#", "#.#", ".##", "..."),
    "H": ("#.#", "#.#", "###", "#.#", "#.#", "..."),
    "I": ("###", ".#.", ".#.", ".#.", "###", "..."),
    "J": ("..#", "..#", "..#", "#.#", ".#.", "..."),
    "K": ("#.#", "#.#", "##.", "#.#", "#.#", "..."),
    "L": ("#..", "#..", "#..", "#..", "###", "..."),
    "M": ("#...#", "##.##", "#.#.#", "#...#", "#...#", "....."),
    "N": ("#..#", "##.#", "#.##", "#..#", "#..#", "...."),
    "O": (".#.", "#.#", "#.#", "#.#", ".#.", "..."),
    "P": ("##.", "#.#", "##.", "#..", "#..", "..."),
    "Q": (".#.", "#.#", "#.#", "##.", ".##", "..."),
    "R": ("##.", "#.#", "##.", "#.#", "#.#", "..."),
    "S": (".##", "#..", ".#.", "..#", "##.", "..."),
    "T": ("###", ".#.", ".#.", ".#.", ".#.", "..."),
    "U": ("#.#", "#.#", "#.#", "#.#", "###", "..."),
    "V": ("#.#", "#.#", "#.#", "#.#", ".#.", "..."),
    "W": ("#...#", "#...#", "#.#.#", "##.##", "#...#", "....."),
    "X": ("#.#", "#.#", ".#.", "#.#", "#.#", "..."),
    "Y": ("#.#", "#.#", ".#.", ".#.", ".#.", "..."),
    "Z": ("###", "..#", ".#.", "#..", "###", "..."),
    " ": ("..", "..", "..", "..", "..", ".."),
    ".": (".", ".", ".", ".", "#", "."),
    ":": (".", ".", "#", ".", "#", "."),
    "/": ("..#", "..#", ".#.", "#..", "#..", "..."),
    "-": ("...", "...", "###", "...", "...", "..."),
    "_": ("...", "...", "...", "...", "...", "###"),
    "?": ("##.", "..#", ".#.", "...", ".#.", "..."),
    "=": ("...", "###", "...", "###", "...", "..."),
    "&": (".#.", "#.#", ".#.", "#.#", ".##", "..."),
    "%": ("#.#", "..#", ".#.", "#..", "#.#", "..."),
    "~": ("....", ".#.#", "#.#.", "....", "....", "...."),
    "[": ("##", "#.", "#.", "#.", "##", ".."),
    "]": ("##", ".#", ".#", ".#", "##", ".."),
    # Punctuation that questions and nicknames use (prose, not URLs).
    ",": (".", ".", ".", ".", "#", "#"),
    ";": (".", ".", "#", ".", "#", "#"),
    "'": ("#", "#", ".", ".", ".", "."),
    "\u2019": ("#", "#", ".", ".", ".", "."),  # ’
    '"': ("#.#", "#.#", "...", "...", "...", "..."),
    "\u201c": ("#.#", "#.#", "...", "...", "...", "..."),  # “
    "\u201d": ("#.#", "#.#", "...", "...", "...", "..."),  # ”
    "!": ("#", "#", "#", ".", "#", "."),
    "(": (".#", "#.", "#.", "#.", ".#", ".."),
    ")": ("#.", ".#", ".#", ".#", "#.", ".."),
    "+": ("...", ".#.", "###", ".#.", "...", "..."),
    "*": ("...", "#.#", ".#.", "#.#", "...", "..."),
    "#": (".#.#.", "#####", ".#.#.", "#####", ".#.#.", "....."),
    "<": ("..#", ".#.", "#..", ".#.", "..#", "..."),
    ">": ("#..", ".#.", "..#", ".#.", "#..", "..."),
    "\u2013": ("...", "...", "###", "...", "...", "..."),  # –
    "\u2014": (".....", ".....", "#####", ".....", ".....", "....."),  # —
    "\u2026": (".....", ".....", ".....", ".....", "#.#.#", "....."),  # …
}

SUPPORTED = frozenset(_GLYPHS)
"""The characters the big font can draw."""

_HALF_BLOCKS = {
    (False, False): " ",
    (True, False): "\u2580",  # ▀
    (False, True): "\u2584",  # ▄
    (True, True): "\u2588",  # █
}


def can_draw(text: str, *, prose: bool = False) -> bool:
    """Whether ``text`` can be drawn big without ambiguity.

    Every character needs a glyph. Unless ``prose``, the text must not mix upper
    and lower case (a capital and a small letter can look alike at five pixels
    high, which matters in a URL to type, not in a sentence to read).
    """
    if not text or not all(char in SUPPORTED for char in text):
        return False
    if prose:
        return True
    return not (any(char.isupper() for char in text) and any(char.islower() for char in text))


def natural_width(text: str) -> int:
    """Columns ``text`` takes at scale 1 (pixels are one column wide)."""
    if not text:
        return 0
    return sum(len(_GLYPHS[char][0]) for char in text) + LETTER_SPACING * (len(text) - 1)


def pixel_height(text: str) -> int:
    """Pixel rows ``text`` needs: the descender row only when a glyph uses it."""
    if any("#" in _GLYPHS[char][GLYPH_HEIGHT - 1] for char in text):
        return GLYPH_HEIGHT
    return GLYPH_HEIGHT - 1


def rendered_size(text: str, scale: int) -> tuple[int, int]:
    """(columns, rows) ``text`` takes at ``scale``."""
    return natural_width(text) * scale, (pixel_height(text) * scale + 1) // 2


def _pixel_rows(text: str, rows: int, scale: int) -> list[list[bool]]:
    """The first ``rows`` pixel rows of ``text``, each pixel ``scale`` × ``scale``."""
    pixel_rows: list[list[bool]] = []
    for row in range(rows):
        pixels: list[bool] = []
        for position, char in enumerate(text):
            if position:
                pixels.extend([False] * LETTER_SPACING)
            pixels.extend(cell == "#" for cell in _GLYPHS[char][row])
        scaled = [pixel for pixel in pixels for _ in range(scale)]
        pixel_rows.extend([scaled] * scale)
    return pixel_rows


def _half_blocks(pixel_rows: list[list[bool]]) -> tuple[str, ...]:
    """Two pixel rows per terminal row; an odd last row gets a blank one under it."""
    if len(pixel_rows) % 2:
        pixel_rows = [*pixel_rows, [False] * len(pixel_rows[0])]
    return tuple(
        "".join(_HALF_BLOCKS[pair] for pair in zip(top, bottom, strict=True))
        for top, bottom in zip(pixel_rows[0::2], pixel_rows[1::2], strict=True)
    )


@lru_cache(maxsize=32)
def render_lines(text: str, scale: int = 1) -> tuple[str, ...]:
    """Draw ``text`` in the big font, one string per terminal row.

    Raises:
        KeyError: ``text`` holds a character without a glyph (check :func:`can_draw`).
        ValueError: ``scale`` is below 1.
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    return _half_blocks(_pixel_rows(text, pixel_height(text), scale))


LINE_GAP = 1
"""Blank pixel rows between the lines of a paragraph (scaled with it)."""


def wrap_words(text: str, width: int) -> tuple[str, ...] | None:
    """``text`` wrapped on word boundaries into lines at most ``width`` columns wide at
    scale 1; None when a single word is wider than that (words are never split)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if natural_width(word) > width:
            return None
        candidate = f"{current} {word}" if current else word
        if natural_width(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return tuple(lines)


def paragraph_rows(lines: tuple[str, ...], scale: int) -> int:
    """Terminal rows a paragraph of ``lines`` takes at ``scale`` (0 for no lines)."""
    if not lines:
        return 0
    pixels = (GLYPH_HEIGHT + LINE_GAP) * (len(lines) - 1) + pixel_height(lines[-1])
    return (pixels * scale + 1) // 2


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A text laid out in the big font: its lines and the scale they are drawn at."""

    lines: tuple[str, ...]
    scale: int

    @property
    def rows(self) -> int:
        """Terminal rows the paragraph takes."""
        return paragraph_rows(self.lines, self.scale)


def fit_paragraph(text: str, width: int, height: int, max_scale: int = 4) -> Paragraph | None:
    """The largest scale at which ``text``, wrapped on word boundaries, fits ``width``
    × ``height`` cells; None when it does not fit even at scale 1 (or has characters
    outside the font): the caller draws it as bold text instead.

    Mixed case is allowed: a question is read as a sentence, not typed.
    """
    normal = " ".join(text.split())
    if not can_draw(normal, prose=True):
        return None
    for scale in range(max_scale, 0, -1):
        lines = wrap_words(normal, width // scale)
        if lines and paragraph_rows(lines, scale) <= height:
            return Paragraph(lines, scale)
    return None


@lru_cache(maxsize=32)
def render_paragraph(paragraph: Paragraph) -> tuple[str, ...]:
    """Draw a paragraph line under line, left-aligned, one string per terminal row,
    every string as wide as the widest line."""
    scale = paragraph.scale
    width = max(natural_width(line) for line in paragraph.lines) * scale
    pixel_rows: list[list[bool]] = []
    for number, line in enumerate(paragraph.lines):
        last = number == len(paragraph.lines) - 1
        if number:
            pixel_rows.extend([False] * width for _ in range(LINE_GAP * scale))
        rows = pixel_height(line) if last else GLYPH_HEIGHT
        pixel_rows.extend(
            row + [False] * (width - len(row)) for row in _pixel_rows(line, rows, scale)
        )
    return _half_blocks(pixel_rows)


def display_form(url: str) -> str:
    """The URL as people should type it: no ``http://``, host lower-cased.

    Browsers add ``http://`` and a bare ``/`` path themselves, and host names are
    case-insensitive, so these changes make the big text shorter without changing
    where it leads. ``https://`` is kept: dropping it would send people to plain HTTP.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or not parts.netloc:
        return url
    rest = url[len(parts.scheme) + 3 :]
    host_end = len(parts.netloc)
    shown = rest[:host_end].lower() + rest[host_end:]
    if parts.path == "/" and not parts.query and not parts.fragment:
        shown = shown[:host_end]
    return shown


def best_scale(text: str, width: int, height: int, max_scale: int = 4) -> int:
    """The largest scale at which ``text`` fits ``width`` × ``height``; 0 if none."""
    if not can_draw(text):
        return 0
    for scale in range(max_scale, 0, -1):
        columns, rows = rendered_size(text, scale)
        if columns <= width and rows <= height:
            return scale
    return 0


class BigText(Widget):
    """A line of text in the big font, falling back to bold text when it cannot fit.

    The widget's height is what the largest fitting scale needs, so the screen
    around it can give the rest of the space to other things (the QR code).
    """

    DEFAULT_CSS = """
    BigText {
        width: 1fr;
        height: auto;
        content-align: center middle;
    }
    """

    text: reactive[str] = reactive("", layout=True)
    """What to draw; characters outside the font make it fall back to bold text."""

    max_scale: reactive[int] = reactive(4, layout=True)
    """Never draw a pixel larger than this many cells."""

    max_rows: reactive[int] = reactive(12, layout=True)
    """Never take more terminal rows than this, so the QR keeps its space."""

    def __init__(
        self,
        text: str = "",
        *,
        max_scale: int = 4,
        max_rows: int = 12,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(BigText.text, text)
        self.set_reactive(BigText.max_scale, max_scale)
        self.set_reactive(BigText.max_rows, max_rows)

    def scale_for(self, width: int) -> int:
        """The scale used at content ``width`` (0 means the bold-text fallback)."""
        return best_scale(self.text, width, self.max_rows, self.max_scale)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """As many rows as the big letters need at ``width``; the fallback may wrap."""
        scale = self.scale_for(width)
        if scale == 0:
            return max(1, -(-len(self.text) // max(width, 1)))
        return rendered_size(self.text, scale)[1]

    def render(self) -> Text:
        """The big letters, or the text in bold (folded if need be) when they do not fit."""
        scale = self.scale_for(self.content_size.width)
        if scale == 0:
            return Text(self.text, style="bold", overflow="fold")
        return Text("\n".join(render_lines(self.text, scale)), no_wrap=True, end="")


class BigParagraph(Widget):
    """A text (a question) in the big font, wrapped on word boundaries, as large as
    its room allows; bold text, wrapped, when even the smallest letters do not fit.

    How many rows it may take is a rule of the screen around it: ``room`` gets the
    height of the container and returns the rows allowed, so the rest stays for
    what else must fit (the results).
    """

    DEFAULT_CSS = """
    BigParagraph {
        width: 1fr;
        height: auto;
    }
    """

    text: reactive[str] = reactive("", layout=True)
    """What to draw; characters outside the font make it fall back to bold text."""

    max_scale: reactive[int] = reactive(4, layout=True)
    """Never draw a pixel larger than this many cells."""

    def __init__(
        self,
        text: str = "",
        *,
        room: Callable[[int], int],
        max_scale: int = 4,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.room = room
        """Container height → the rows this paragraph may take."""
        self.set_reactive(BigParagraph.text, text)
        self.set_reactive(BigParagraph.max_scale, max_scale)

    def layout_for(self, width: int, height: int) -> Paragraph | None:
        """How the text is drawn in ``width`` × ``height`` (None: as bold text)."""
        return fit_paragraph(self.text, width, height, self.max_scale)

    @property
    def scale_now(self) -> int:
        """The scale drawn at the current size; 0 when drawn as bold text."""
        width, height = self.content_size
        paragraph = self.layout_for(width, height)
        return paragraph.scale if paragraph else 0

    def _plain(self, width: int) -> Text:
        return Text(self.text, style="bold", overflow="fold")

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The rows the big letters need, within what :attr:`room` allows."""
        allowed = max(1, self.room(container.height))
        paragraph = self.layout_for(width, allowed)
        if paragraph is not None:
            return paragraph.rows
        if not self.text:
            return 1
        lines = self._plain(width).wrap(self.app.console, max(width, 1))
        return max(1, min(len(lines), allowed))

    def render(self) -> Text:
        """The big letters, or the text in bold when they do not fit."""
        width, height = self.content_size
        paragraph = self.layout_for(width, height)
        if paragraph is None:
            return self._plain(width)
        return Text("\n".join(render_paragraph(paragraph)), no_wrap=True, end="")
