"""QR codes drawn with half-block characters, readable by a phone pointed at a projector.

A terminal cell is about twice as tall as it is wide, so one cell holds two square
"pixels" stacked vertically: the upper half block ``▀`` painted with the top
pixel's colour as foreground and the bottom pixel's colour as background. One QR
module is ``scale`` columns wide and ``scale`` half-rows tall, so it stays square.

The colours are fixed to pure black on pure white whatever the theme, and the code
keeps its 4-module quiet zone: a dark theme around a code without a light margin
is what makes cameras fail to find the finder patterns.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import qrcode
import qrcode.constants
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

QUIET_ZONE = 4
"""Modules of light margin on every side, as ISO/IEC 18004 asks for."""

DARK = "#000000"
LIGHT = "#ffffff"
UPPER_HALF = "\u2580"  # ▀

_STYLES = {
    (True, True): Style(color=DARK, bgcolor=DARK),
    (True, False): Style(color=DARK, bgcolor=LIGHT),
    (False, True): Style(color=LIGHT, bgcolor=DARK),
    (False, False): Style(color=LIGHT, bgcolor=LIGHT),
}
"""(top is dark, bottom is dark) → the style of one ``▀`` cell."""

Matrix = tuple[tuple[bool, ...], ...]
"""QR modules, True for dark, quiet zone included."""


@lru_cache(maxsize=16)
def qr_matrix(data: str, error_correction: str = "M") -> Matrix:
    """The modules of the smallest QR code holding ``data``, quiet zone included.

    Args:
        data: what the code encodes (the join URL).
        error_correction: ``"M"`` (15 % recoverable, the default: survives a glare
            spot on the projection) or ``"L"`` (7 %, a smaller code when space is short).
    """
    level = {
        "L": qrcode.constants.ERROR_CORRECT_L,
        "M": qrcode.constants.ERROR_CORRECT_M,
    }[error_correction]
    code = qrcode.QRCode(error_correction=level, border=QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    return tuple(tuple(bool(module) for module in row) for row in matrix)


def rendered_size(modules: int, scale: int) -> tuple[int, int]:
    """(columns, rows) a code of ``modules`` × ``modules`` takes at ``scale``."""
    pixels = modules * scale
    return pixels, (pixels + 1) // 2


def render_matrix(matrix: Matrix, scale: int = 1) -> list[list[Segment]]:
    """Draw ``matrix`` as lines of half-block segments, ``scale`` cells per module.

    Runs of equal cells are merged into one segment, so a large code costs a few
    hundred segments rather than thousands.

    Returns:
        One list of segments per terminal row, each exactly as wide as the code.
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    pixel_rows = [
        [module for module in row for _ in range(scale)] for row in matrix for _ in range(scale)
    ]
    if len(pixel_rows) % 2:
        # An odd pixel height leaves a bottom half row: paint it light, it only
        # widens the quiet zone.
        pixel_rows.append([False] * len(pixel_rows[0]))
    lines: list[list[Segment]] = []
    for top, bottom in zip(pixel_rows[0::2], pixel_rows[1::2], strict=True):
        line: list[Segment] = []
        run_key = (top[0], bottom[0])
        run_length = 0
        for key in zip(top, bottom, strict=True):
            if key == run_key:
                run_length += 1
                continue
            line.append(Segment(UPPER_HALF * run_length, _STYLES[run_key]))
            run_key, run_length = key, 1
        line.append(Segment(UPPER_HALF * run_length, _STYLES[run_key]))
        lines.append(line)
    return lines


def render_qr(data: str, scale: int = 1, error_correction: str = "M") -> Text:
    """The QR code for ``data`` as Rich text, exactly as :class:`QRCode` draws it.

    Args:
        data: what the code encodes (the join URL).
        scale: terminal columns (and half-rows) per module.
        error_correction: ``"M"`` or ``"L"``.
    """
    text = Text(no_wrap=True, overflow="crop", end="")
    lines = render_matrix(qr_matrix(data, error_correction), scale)
    for number, line in enumerate(lines):
        if number:
            text.append("\n")
        for segment in line:
            text.append(segment.text, segment.style)
    return text


@dataclass(frozen=True, slots=True)
class QRLayout:
    """How a code fits a region: which error correction, and how large."""

    matrix: Matrix
    scale: int
    width: int
    height: int


def fit_qr(data: str, width: int, height: int, max_scale: int = 8) -> QRLayout | None:
    """The largest rendering of ``data`` that fits ``width`` × ``height`` cells.

    Error correction M is preferred; L is used only when it makes the code fit at
    all or lets it be drawn larger, because bigger modules matter more to a camera
    at the back of the room than the extra redundancy.

    Returns:
        The layout, or None when even one cell per module does not fit.
    """
    best: QRLayout | None = None
    for level in ("M", "L"):
        matrix = qr_matrix(data, level)
        modules = len(matrix)
        for scale in range(max_scale, 0, -1):
            columns, rows = rendered_size(modules, scale)
            if columns <= width and rows <= height:
                if best is None or scale > best.scale:
                    best = QRLayout(matrix, scale, columns, rows)
                break
    return best


class QRCode(Widget):
    """A QR code that grows to the largest size its region allows, centred in it.

    When even the smallest code does not fit, it says so in words instead of
    drawing a code that would be cropped (and so unreadable).
    """

    DEFAULT_CSS = """
    QRCode {
        width: 1fr;
        height: 1fr;
        min-height: 3;
    }
    QRCode > .qrcode--too-small {
        color: $text-muted;
    }
    QRCode > .qrcode--caption {
        text-style: bold;
    }
    """

    COMPONENT_CLASSES = {"qrcode--too-small", "qrcode--caption"}

    data: reactive[str] = reactive("", layout=False)
    """The text to encode; an empty string draws nothing."""

    max_scale: reactive[int] = reactive(8)
    """Never draw a module larger than this many cells."""

    caption: reactive[str] = reactive("")
    """A line above the code, drawn only when there is a spare row for it: the code
    itself always gets the space first."""

    def __init__(
        self,
        data: str = "",
        *,
        max_scale: int = 8,
        caption: str = "",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(QRCode.data, data)
        self.set_reactive(QRCode.max_scale, max_scale)
        self.set_reactive(QRCode.caption, caption)

    @property
    def layout_now(self) -> QRLayout | None:
        """How the code is drawn at the widget's current size (None: not drawn)."""
        if not self.data:
            return None
        size = self.content_size
        return fit_qr(self.data, size.width, size.height, self.max_scale)

    def render(self) -> Text:
        """Draw the code centred in the content region, or explain why it cannot."""
        size = self.content_size
        layout = self.layout_now
        if layout is None:
            if not self.data:
                return Text("")
            message = Text(
                "Window too small for the QR code: press j",
                style=self.get_component_rich_style("qrcode--too-small"),
                justify="center",
            )
            return message
        left = " " * ((size.width - layout.width) // 2)
        top = (size.height - layout.height) // 2
        text = Text(no_wrap=True, overflow="crop", end="")
        if self.caption and top >= 1:
            caption = Text(self.caption, style=self.get_component_rich_style("qrcode--caption"))
            caption.truncate(size.width, overflow="ellipsis")
            text.append("\n" * (top - 1))
            text.append(" " * ((size.width - caption.cell_len) // 2))
            text.append_text(caption)
            text.append("\n")
        else:
            text.append("\n" * top)
        for number, line in enumerate(render_matrix(layout.matrix, layout.scale)):
            if number:
                text.append("\n")
            text.append(left)
            for segment in line:
                text.append(segment.text, segment.style)
        return text
