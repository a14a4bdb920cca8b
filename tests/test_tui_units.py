"""The presenter console's pure parts: URLs, backoff, the big font, bars and per-type views."""

from __future__ import annotations

import random

import pytest

from livepoll.deck import Question
from livepoll.protocol import JoinInfo, PresenterState, Welcome
from livepoll.tui.bars import bar_cells, choose_layout
from livepoll.tui.bigtext import (
    SUPPORTED,
    best_scale,
    can_draw,
    display_form,
    render_lines,
    rendered_size,
)
from livepoll.tui.link import BACKOFF_CAP, presenter_url, reconnect_delay
from livepoll.tui.screens import format_seconds, join_details
from livepoll.tui.views import results_view


def make_state(question: Question, **changes: object) -> PresenterState:
    """A presenter state for ``question`` with sensible defaults."""
    fields: dict[str, object] = {
        "title": "Deck",
        "index": 0,
        "count": 1,
        "question": question,
        "status": "open",
        "results_shown": True,
        "counts": (),
        "respondents": 0,
        "phones": 0,
    }
    fields.update(changes)
    return PresenterState(**fields)  # type: ignore[arg-type]


# -- the presenter URL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://127.0.0.1:8000/", "ws://127.0.0.1:8000/presenter"),
        ("http://127.0.0.1:8000", "ws://127.0.0.1:8000/presenter"),
        ("ws://127.0.0.1:8000", "ws://127.0.0.1:8000/presenter"),
        ("ws://127.0.0.1:8000/presenter", "ws://127.0.0.1:8000/presenter"),
        ("https://poll.example.org/room1/", "wss://poll.example.org/room1/presenter"),
        ("wss://poll.example.org", "wss://poll.example.org/presenter"),
        ("http://[::1]:8000/?code=ABC#x", "ws://[::1]:8000/presenter"),
        ("127.0.0.1:8000", "ws://127.0.0.1:8000/presenter"),
    ],
)
def test_presenter_url_is_derived_from_the_base_url(base: str, expected: str) -> None:
    """Any form of the server's address leads to its presenter WebSocket."""
    assert presenter_url(base) == expected


@pytest.mark.parametrize("base", ["ftp://host/", "http:///nohost"])
def test_presenter_url_refuses_what_is_not_a_server_address(base: str) -> None:
    """A scheme other than http(s)/ws(s), or no host, is an error, not a guess."""
    with pytest.raises(ValueError, match="scheme|host"):
        presenter_url(base)


def test_reconnect_delay_grows_and_is_capped_near_five_seconds() -> None:
    """Retries start fast, back off exponentially and never wait more than the cap."""
    rng = random.Random(7)
    delays = [reconnect_delay(attempt, rng) for attempt in range(40)]
    assert delays[0] <= 0.2
    assert all(0 < delay <= BACKOFF_CAP for delay in delays)
    assert max(delays[10:]) > BACKOFF_CAP / 2


def test_reconnect_delay_is_jittered() -> None:
    """Two consoles retrying at the same attempt do not wait exactly as long."""
    rng = random.Random(1)
    assert len({round(reconnect_delay(5, rng), 6) for _ in range(20)}) > 1


# -- the big font --------------------------------------------------------------------------


def test_every_url_character_has_a_glyph() -> None:
    """Lower-case letters, digits and URL punctuation can all be drawn big."""
    needed = set("abcdefghijklmnopqrstuvwxyz0123456789.:/-_?=&%~")
    assert needed <= SUPPORTED


def test_big_text_rows_are_as_wide_as_promised() -> None:
    """Every rendered row has the width rendered_size reports, at every scale."""
    for scale in (1, 2, 3):
        lines = render_lines("poll.example.org:8080/join", scale)
        width, height = rendered_size("poll.example.org:8080/join", scale)
        assert len(lines) == height
        assert {len(line) for line in lines} == {width}


def test_big_text_is_three_rows_high_at_scale_one() -> None:
    """At the smallest scale a URL takes three terminal rows."""
    assert len(render_lines("192.168.1.20:8000", 1)) == 3
    assert len(render_lines("jpg", 1)) == 3


def test_mixed_case_is_not_drawn_big() -> None:
    """A capital and a small letter can look alike, so mixed-case text falls back."""
    assert can_draw("poll.example.org/join")
    assert can_draw("CODE K7HX")
    assert not can_draw("poll.example.org/Join")
    assert not can_draw("naïve.example")


def test_best_scale_picks_the_largest_that_fits() -> None:
    """The scale is the largest whose rendering fits both width and height."""
    text = "10.0.0.7:8000"
    width, _ = rendered_size(text, 1)
    assert best_scale(text, width, 3) == 1
    assert best_scale(text, width * 2, 5) == 2
    assert best_scale(text, width * 2, 4) == 1
    assert best_scale(text, width - 1, 10) == 0


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://192.168.1.20:8000/", "192.168.1.20:8000"),
        ("http://Poll.Example.ORG/join?x=1", "poll.example.org/join?x=1"),
        ("https://poll.example.org/", "https://poll.example.org/"),
        ("", ""),
    ],
)
def test_display_form_drops_only_what_browsers_add(url: str, shown: str) -> None:
    """``http://`` and a bare ``/`` go, the host is lower-cased, https is kept."""
    assert display_form(url) == shown


# -- bars ----------------------------------------------------------------------------------


def test_bar_cells_have_eighth_cell_precision() -> None:
    """A bar's length is rounded to the nearest eighth of a cell."""
    assert bar_cells(0.0, 10) == ""
    assert bar_cells(1.0, 10) == "█" * 10
    assert bar_cells(0.5, 3) == "█▌"
    assert bar_cells(2.0, 4) == "████"


def test_bars_get_thicker_when_there_is_room() -> None:
    """More rows make thicker bars; too few rows switch to one line per option."""
    assert choose_layout(3, 14).thickness == 3
    assert choose_layout(3, 50).thickness == 6
    assert choose_layout(3, 6).thickness == 1
    assert choose_layout(10, 12).thickness == 0


# -- per-type views ------------------------------------------------------------------------


def test_choice_view_gives_counts_and_percent_of_respondents() -> None:
    """Each option shows its count and its share of the people who answered."""
    question = Question("q1", "single", "Pick", ("Yes", "No", "Not sure"))
    view = results_view(make_state(question, counts=(3, 1, 0), respondents=4))
    assert [row.key for row in view.rows] == ["A", "B", "C"]
    assert [row.figure for row in view.rows] == ["3   75%", "1   25%", "0    0%"]
    assert view.full == 4


def test_hidden_view_lists_options_but_no_figures() -> None:
    """While results are hidden only the option texts may be drawn."""
    question = Question("q1", "single", "Pick", ("Yes", "No"))
    view = results_view(make_state(question, counts=(3, 1), respondents=4, results_shown=False))
    assert not view.shown
    assert [(row.label, row.figure) for row in view.listing] == [("Yes", ""), ("No", "")]


def test_quiz_view_marks_the_right_answer_only_once_closed() -> None:
    """The right option gets a tick when voting is closed, not before."""
    question = Question("q9", "quiz", "2+2?", ("3", "4"), correct=(1,))
    open_view = results_view(make_state(question, counts=(1, 2), respondents=3))
    closed_view = results_view(
        make_state(question, counts=(1, 2), respondents=3, status="closed", results={"right": 2})
    )
    assert [row.mark for row in open_view.rows] == ["", ""]
    assert [row.mark for row in closed_view.rows] == ["", "✓"]
    assert "2 of 3" in closed_view.summary


def test_ranking_view_orders_by_score() -> None:
    """A ranking lists options best first, with their points."""
    question = Question("r", "ranking", "Order", ("X", "Y", "Z"))
    results = {"scores": [1, 4, 1], "firsts": [0, 2, 0], "order": [1, 0, 2]}
    view = results_view(make_state(question, respondents=2, results=results))
    assert [row.label for row in view.rows] == ["Y", "X", "Z"]
    assert view.rows[0].figure.startswith("4 pts")


def test_scale_view_has_one_row_per_point_and_a_mean() -> None:
    """A scale shows its distribution, its end labels and mean and median."""
    question = Question("s", "scale", "Rate", minimum=1, maximum=3, labels=("Low", "High"))
    results = {"values": [1, 2, 3], "counts": [0, 1, 1], "count": 2, "mean": 2.5, "median": 2.5}
    view = results_view(make_state(question, respondents=2, results=results))
    assert [(row.key, row.label) for row in view.rows] == [("1", "Low"), ("2", ""), ("3", "High")]
    assert view.summary == "mean 2.5 · median 2.5"


def test_text_cloud_view_lists_the_most_used_words() -> None:
    """A text question in cloud mode lists its words with their counts."""
    question = Question("t", "text", "One word?")
    results = {"count": 3, "words": [["agile", 2], ["slow", 1]], "latest": []}
    view = results_view(make_state(question, respondents=3, results=results))
    assert [(row.label, row.figure) for row in view.rows] == [("agile", "2"), ("slow", "1")]
    assert view.listing == ()


def test_qa_view_never_shows_pending_questions() -> None:
    """Questions waiting for approval stay off the projector; they are only counted."""
    question = Question("qa", "qa", "Ask us", moderated=True)
    items = (
        {"id": 1, "text": "Visible?", "votes": 3, "state": "visible"},
        {"id": 2, "text": "Rude one", "votes": 0, "state": "pending"},
        {"id": 3, "text": "Done", "votes": 1, "state": "answered"},
    )
    view = results_view(make_state(question, items=items))
    assert [row.label for row in view.rows] == ["Visible?", "Done"]
    assert view.rows[1].mark == "answered"
    assert view.summary == "1 waiting for approval"


def test_join_details_prefer_the_state_with_its_room_code() -> None:
    """The QR carries the room code; the typed address stays the bare one."""
    question = Question("q1", "single", "Pick", ("Yes", "No"))
    welcome = Welcome("http://10.0.0.7:8000/", "/tmp/db", "1")
    join = JoinInfo("http://10.0.0.7:8000/?code=K7HX", "code", "K7HX")
    assert join_details(welcome, None) == ("http://10.0.0.7:8000/",) * 2 + (None,)
    assert join_details(welcome, make_state(question, join=join)) == (
        "http://10.0.0.7:8000/?code=K7HX",
        "http://10.0.0.7:8000/",
        "K7HX",
    )


def test_countdown_rounds_up() -> None:
    """A timer reads 0:00 only when time is really up."""
    assert format_seconds(61.2) == "1:02"
    assert format_seconds(0.1) == "0:01"
    assert format_seconds(0) == "0:00"
