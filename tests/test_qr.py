"""The join QR code, as the console draws it, decodes to the join URL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from rich.color import Color
from rich.console import Console
from rich.segment import Segment
from textual.geometry import Region
from textual.widgets._toast import Toast

from livepoll.deck import Deck, Question
from livepoll.protocol import PresenterState, Welcome
from livepoll.server.admission import JoinMode
from livepoll.server.app import ServerConfig, running_server
from livepoll.tui import render_qr
from livepoll.tui.app import PresenterApp, make_app
from livepoll.tui.qr import QRCode, fit_qr, qr_matrix, render_matrix
from livepoll.tui.screens import join_details
from test_tui_app import screen_text, wait_until

JOIN_URL = "http://192.168.100.200:8000/"
LONG_URL = "https://poll.example-conference.org/join?code=K7HX9Q"

UPPER_HALF = "▀"


def _is_light(color: Color | None) -> bool:
    """Whether a cell colour reads as a light module (the terminal default counts as dark)."""
    if color is None:
        return False
    red, green, blue = color.get_truecolor()
    return (red * 299 + green * 587 + blue * 114) / 1000 > 128


def image_from_lines(lines: Iterable[Iterable[Segment]], upscale: int = 4) -> np.ndarray:
    """Rebuild the picture a camera sees: two pixels per cell, from each cell's colours.

    ``▀`` paints its top half in the foreground colour and its bottom half in the
    background colour; any other cell (padding) is its background colour.
    """
    rows: list[list[int]] = []
    for line in lines:
        top: list[int] = []
        bottom: list[int] = []
        for segment in line:
            style = segment.style
            color = style.color if style else None
            bgcolor = style.bgcolor if style else None
            for char in segment.text:
                if char == UPPER_HALF:
                    top.append(255 if _is_light(color) else 0)
                else:
                    top.append(255 if _is_light(bgcolor) else 0)
                bottom.append(255 if _is_light(bgcolor) else 0)
        rows.extend([top, bottom])
    width = max(len(row) for row in rows)
    image = np.array([row + [0] * (width - len(row)) for row in rows], dtype=np.uint8)
    return np.kron(image, np.ones((upscale, upscale), dtype=np.uint8))


def decode(image: np.ndarray) -> list[str]:
    """Every QR code zxing finds in ``image``."""
    return [result.text for result in zxingcpp.read_barcodes(image)]


def test_render_qr_text_decodes_to_the_url() -> None:
    """The public Rich rendering of the code, at scale 1, reads back as the URL."""
    text = render_qr(JOIN_URL)
    lines = [list(line.render(_console())) for line in text.split("\n")]
    assert decode(image_from_lines(lines)) == [JOIN_URL]


@pytest.mark.parametrize("scale", [1, 2, 3])
@pytest.mark.parametrize("level", ["M", "L"])
def test_half_block_rendering_decodes_at_every_scale(scale: int, level: str) -> None:
    """Module scaling and both error-correction levels keep the code readable."""
    lines = render_matrix(qr_matrix(LONG_URL, level), scale)
    assert decode(image_from_lines(lines, upscale=2)) == [LONG_URL]


def test_a_damaged_picture_does_not_decode() -> None:
    """The decoder check is meaningful: losing the bottom half of each cell breaks it."""
    lines = render_matrix(qr_matrix(JOIN_URL, "M"), 1)
    image = image_from_lines(lines, upscale=1)
    image[1::2] = image[0::2]
    assert decode(np.kron(image, np.ones((4, 4), dtype=np.uint8))) == []


def test_code_keeps_a_light_quiet_zone() -> None:
    """The outer four modules on every side are light, so a dark theme cannot touch it."""
    layout = fit_qr(JOIN_URL, 100, 100, max_scale=1)
    assert layout is not None
    image = image_from_lines(render_matrix(layout.matrix, 1), upscale=1)
    assert image[:4, :].min() == 255
    assert image[-4:, :].min() == 255
    assert image[:, :4].min() == 255
    assert image[:, -4:].min() == 255


def _console() -> Console:
    return Console(width=400, color_system="truecolor")


def _state() -> PresenterState:
    question = Question("q1", "single", "Ready?", ("Yes", "No"))
    return PresenterState(
        title="Deck",
        index=0,
        count=1,
        question=question,
        status="open",
        results_shown=True,
        counts=(1, 0),
        respondents=1,
        phones=2,
    )


async def _drawn_code(app: PresenterApp, selector: str) -> tuple[list[list[Segment]], int]:
    """The QR widget's lines exactly as the compositor gets them, and its scale."""
    widget = app.screen.query_one(selector, QRCode)
    layout = widget.layout_now
    assert layout is not None, "the code did not fit"
    width, height = widget.size
    strips = widget.render_lines(Region(0, 0, width, height))
    return [list(strip) for strip in strips], layout.scale


@pytest.mark.parametrize(("size", "scale"), [((80, 24), 1), ((200, 60), 2)])
async def test_main_panel_code_as_drawn_decodes_to_the_join_url(
    size: tuple[int, int], scale: int
) -> None:
    """The join panel's code (first question, results hidden: the room is joining),
    read back from the widget's own strips, is the join URL."""
    app = PresenterApp(url=None)
    async with app.run_test(size=size) as pilot:
        app.apply_welcome(Welcome(JOIN_URL, "/tmp/livepoll.db", "0.1.0"))
        app.apply_state(replace(_state(), results_shown=False))
        await pilot.pause()
        lines, drawn_scale = await _drawn_code(app, "#join-qr")
    assert drawn_scale == scale
    assert decode(image_from_lines(lines)) == [JOIN_URL]


@pytest.mark.parametrize(("size", "min_scale"), [((80, 24), 1), ((200, 60), 3)])
async def test_join_screen_code_as_drawn_decodes_to_the_join_url(
    size: tuple[int, int], min_scale: int
) -> None:
    """The full-screen code is as large as the terminal allows and still reads back."""
    app = PresenterApp(url=None)
    async with app.run_test(size=size) as pilot:
        app.apply_welcome(Welcome(JOIN_URL, "/tmp/livepoll.db", "0.1.0"))
        app.apply_state(_state())
        await pilot.press("j")
        await pilot.pause()
        lines, drawn_scale = await _drawn_code(app, "#join-screen-qr")
    assert drawn_scale >= min_scale
    assert decode(image_from_lines(lines)) == [JOIN_URL]


async def test_join_strip_code_as_drawn_decodes_to_the_join_url() -> None:
    """Once results are shown at 200×60, the strip's small code (one cell per module)
    still reads back as the join URL."""
    app = PresenterApp(url=None)
    async with app.run_test(size=(200, 60)) as pilot:
        app.apply_welcome(Welcome(JOIN_URL, "/tmp/livepoll.db", "0.1.0"))
        app.apply_state(replace(_state(), index=1, count=2))
        await pilot.pause()
        assert app.screen.query_one("#join-strip").display
        lines, drawn_scale = await _drawn_code(app, "#strip-qr")
    assert drawn_scale == 1
    assert decode(image_from_lines(lines)) == [JOIN_URL]


def _screen_lines(app: PresenterApp) -> list[list[Segment]]:
    """The whole terminal as the room sees it: every widget, toast and layer composited."""
    # The compositor is private, but it is exactly what the terminal receives.
    return [list(strip) for strip in app.screen._compositor.render_strips()]


@pytest.mark.parametrize("join_mode", ["open", "code"])
@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
@pytest.mark.parametrize("screen", ["main", "join"])
async def test_the_whole_screen_decodes_to_the_join_url_while_server_notices_show(
    sample_deck: Deck, tmp_path: Path, join_mode: JoinMode, size: tuple[int, int], screen: str
) -> None:
    """While the server's notices are up (loopback only, a resumed session), the whole
    terminal decodes to the join URL, with the room code when there is one."""
    database = tmp_path / "livepoll.db"
    config = ServerConfig(
        deck=sample_deck,
        database=database,
        host="127.0.0.1",
        port=0,
        join_mode=join_mode,
        end_session_on_stop=False,
    )
    async with running_server(config):
        pass  # the session is left unfinished, so the next start resumes it and says so
    async with running_server(config) as server:
        app = make_app(server.base_url, server.token)
        async with app.run_test(size=size, notifications=True) as pilot:
            await wait_until(pilot, lambda: app.state is not None and app.welcome is not None)
            if screen == "join":
                await pilot.press("j")
            assert app.welcome is not None
            notices = app.welcome.notices
            assert any("resumed session" in notice for notice in notices)
            assert any("127.0.0.1 only" in notice for notice in notices)
            await wait_until(pilot, lambda: len(app.screen.query(Toast)) == len(notices))
            # The join panel's code on the main screen (not the strip's, hidden while
            # the room is still joining), the full-screen one on the join screen.
            drawn = app.screen.query_one("#join-qr" if screen == "main" else "#join-screen-qr")
            assert isinstance(drawn, QRCode)
            await wait_until(pilot, lambda: drawn.layout_now is not None)
            await pilot.pause()
            # The main screen shows the notices beside the code; the join screen, all
            # code, keeps them until the chair goes back.
            shown = "resumed session" in screen_text(app)
            assert shown == (screen == "main"), "notices on the main screen only"
            expected, _, code = join_details(app.welcome, app.state)
            found = decode(image_from_lines(_screen_lines(app)))
            if screen == "join":
                await pilot.press("j")
                await wait_until(pilot, lambda: "resumed session" in screen_text(app))
    assert (code is not None) == (join_mode == "code")
    if code is not None:
        assert expected == f"{server.base_url}?code={code}"
    assert found == [expected]
