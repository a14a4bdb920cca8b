"""The room view's layout rules, worked out without Textual.

What the projector shows is a trade between the question, the results and the
join code. The rules that decide it live here as plain functions, so they can be
stated once, tested cheaply and read in one place:

* the question takes up to :data:`PROMPT_SHARE` of the rows its pane has left
  over, and is drawn as large as fits in that (:func:`prompt_rows`);
* the join code is large while the join matters, and a strip once results are on
  screen (:func:`join_is_large`); the strip carries a small code only when it
  leaves the room most of the screen (:func:`strip_shows_code`).
"""

from __future__ import annotations

from livepoll.protocol import PresenterState

PANE_FIXED_ROWS = 8
"""Rows of the question pane that are not the prompt's or the results': the state
row and its margin (2), the prompt's margins (2), the counters (3), the session line (1)."""

PROMPT_SHARE = 0.5
"""The share of the question pane's free rows the prompt may take; the results get
the rest. At 200×60 this gives the prompt at least 15 rows next to the join strip
and 24 next to the full join panel (tests/test_tui_room.py checks both)."""

STRIP_CODE_SHARE = 0.3
"""The join strip carries a QR code only when the code takes at most this share of
the screen's rows: below that (80×24, 120×40) the strip is the address alone, and
``j`` shows the code full screen."""


def prompt_rows(pane_rows: int) -> int:
    """Rows the question's prompt may take in a question pane of ``pane_rows`` rows."""
    return max(1, int((pane_rows - PANE_FIXED_ROWS) * PROMPT_SHARE))


def join_is_large(state: PresenterState | None) -> bool:
    """Whether the join code gets its large panel rather than the strip.

    The join matters while the room is arriving: before the session state is
    known, and on the first question until its results are shown. From then on
    the results come first and the join shrinks to a strip (``j`` still shows the
    code full screen at any time).
    """
    return state is None or (state.index == 0 and not state.results_shown)


def strip_shows_code(code_rows: int, screen_rows: int) -> bool:
    """Whether a QR code ``code_rows`` tall belongs in the join strip of a screen
    ``screen_rows`` tall (see :data:`STRIP_CODE_SHARE`)."""
    return 0 < code_rows <= screen_rows * STRIP_CODE_SHARE
