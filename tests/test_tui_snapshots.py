"""Snapshots of the presenter console's screens, from fixed states (no server, no clock).

Review changes in the HTML report (``snapshot_report.html``) before accepting them
with ``pytest --snapshot-update``: the point is to look at what the room will see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from livepoll.deck import Question
from livepoll.protocol import JoinInfo, PresenterState, Welcome
from livepoll.tui.app import PresenterApp
from livepoll.tui.screens import LinkStatus

SnapCompare = Callable[..., bool]

WELCOME = Welcome("http://192.168.1.20:8000/", "/home/chair/talks/livepoll.db", "0.1.0")

QUESTION = Question(
    "formats",
    "single",
    "Which talk format do you prefer at conferences like this one?",
    ("Long talks (45 min)", "Short talks (15 min)", "Lightning talks", "Workshops"),
)


def state(**changes: Any) -> PresenterState:
    """Question 3 of 8, voting open, 50 answers from 63 phones, results shown."""
    fields: dict[str, Any] = {
        "title": "PyCon Demo Deck",
        "index": 2,
        "count": 8,
        "question": QUESTION,
        "status": "open",
        "results_shown": True,
        "counts": (12, 30, 7, 1),
        "respondents": 50,
        "phones": 63,
    }
    fields.update(changes)
    return PresenterState(**fields)


def showing(
    presenter_state: PresenterState, link: LinkStatus | None = None
) -> Callable[[Pilot[None]], Any]:
    """A ``run_before`` that puts the app in a fixed state, as if the server had sent it."""

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, PresenterApp)
        app.apply_welcome(WELCOME)
        app.apply_state(presenter_state)
        if link is not None:
            app.link = link
        await pilot.pause()

    return run_before


def test_main_screen_at_80x24(snap_compare: SnapCompare) -> None:
    """At 80×24 everything fits: status, prompt, bars, counters, QR, URL and keys."""
    assert snap_compare(PresenterApp(), terminal_size=(80, 24), run_before=showing(state()))


def test_main_screen_at_200x60(snap_compare: SnapCompare) -> None:
    """At 200×60 the bars get thicker and the QR code larger."""
    assert snap_compare(PresenterApp(), terminal_size=(200, 60), run_before=showing(state()))


def test_hidden_results(snap_compare: SnapCompare) -> None:
    """With results hidden, the options are listed with no counts or bars."""
    assert snap_compare(
        PresenterApp(),
        terminal_size=(80, 24),
        run_before=showing(state(results_shown=False)),
    )


def test_join_screen_at_80x24(snap_compare: SnapCompare) -> None:
    """The join screen: the code as large as fits, the address in big letters."""
    assert snap_compare(
        PresenterApp(), press=["j"], terminal_size=(80, 24), run_before=showing(state())
    )


def test_join_screen_at_200x60(snap_compare: SnapCompare) -> None:
    """On a large terminal the code's modules grow to several cells each."""
    assert snap_compare(
        PresenterApp(), press=["j"], terminal_size=(200, 60), run_before=showing(state())
    )


def test_link_down_and_storage_problem_banners(snap_compare: SnapCompare) -> None:
    """A lost link and a storage problem each get a banner above everything else."""
    assert snap_compare(
        PresenterApp(),
        terminal_size=(80, 24),
        run_before=showing(
            state(status="closed", storage_problem="disk full: /home/chair/talks"),
            LinkStatus("down", "connection refused"),
        ),
    )


def test_room_code_and_timer(snap_compare: SnapCompare) -> None:
    """In room-code mode the panel shows the code; a timed question shows its countdown."""
    join = JoinInfo("http://192.168.1.20:8000/?code=K7HX9Q", "code", "K7HX9Q")
    assert snap_compare(
        PresenterApp(),
        terminal_size=(80, 24),
        run_before=showing(state(join=join, time_left=42.0)),
    )


def test_quit_confirmation(snap_compare: SnapCompare) -> None:
    """Quitting while voting is open asks first, with Stay focused."""
    assert snap_compare(
        PresenterApp(), press=["q"], terminal_size=(80, 24), run_before=showing(state())
    )
