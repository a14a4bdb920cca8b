"""The presenter console's pure parts: URLs, backoff, the big font, bars and per-type views."""

from __future__ import annotations

import random

import pytest

from livepoll.deck import Question
from livepoll.protocol import (
    JoinInfo,
    PresenterState,
    ProtocolError,
    QaModeration,
    Welcome,
    encode_command,
)
from livepoll.tui.bars import bar_cells, choose_layout
from livepoll.tui.bigtext import (
    SUPPORTED,
    best_scale,
    can_draw,
    display_form,
    render_lines,
    rendered_size,
)
from livepoll.tui.link import (
    BACKOFF_CAP,
    LinkUp,
    ReplayLink,
    presenter_url,
    reconnect_delay,
)
from livepoll.tui.screens import format_seconds, join_details
from livepoll.tui.views import cursor_after, moderation_items, move_cursor, results_view


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


def qa_state(
    question: Question, items: tuple[dict[str, object], ...], **changes: object
) -> PresenterState:
    """A Q&A state as the server sends it: the room's items and one moderation page."""
    counts = {state: 0 for state in ("pending", "visible", "answered", "hidden")}
    for item in items:
        counts[str(item["state"])] += 1
    moderation = QaModeration(counts, len(items), 0, 20, items)
    public = tuple(item for item in items if item["state"] in ("visible", "answered"))
    return make_state(question, items=public, qa=moderation, **changes)


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


def test_text_cloud_view_hands_its_words_to_the_cloud() -> None:
    """A text question in cloud mode gives its words and counts, most used first, for
    the cloud to lay out; no rows, and nothing to list while results are hidden."""
    question = Question("t", "text", "One word?")
    results = {"count": 3, "words": [["agile", 2], ["slow", 1]], "latest": []}
    view = results_view(make_state(question, respondents=3, results=results))
    assert view.cloud == (("agile", 2), ("slow", 1))
    assert view.rows == ()
    assert view.listing == ()
    assert view.summary == "most used words in 3 answers"


def test_only_cloud_questions_have_cloud_words() -> None:
    """A wall, or any other type, is drawn as rows: its view has no cloud."""
    wall = Question("w", "text", "Stop doing?", display="wall")
    results = {"count": 1, "words": [["agile", 1]], "latest": ["agile"]}
    assert results_view(make_state(wall, results=results)).cloud is None
    empty = results_view(make_state(Question("t", "text", "One word?"), results={"count": 0}))
    assert empty.cloud == ()
    assert empty.empty == "No answers yet."


def test_qa_view_never_shows_pending_questions() -> None:
    """Questions waiting for approval stay off the projector; they are only counted."""
    question = Question("qa", "qa", "Ask us", moderated=True)
    items = (
        {"id": 1, "text": "Visible?", "votes": 3, "state": "visible"},
        {"id": 2, "text": "Rude one", "votes": 0, "state": "pending"},
        {"id": 3, "text": "Done", "votes": 1, "state": "answered"},
    )
    view = results_view(qa_state(question, items))
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


# -- Q&A moderation ------------------------------------------------------------------------

QA_ITEMS = (
    {"id": 4, "text": "Waiting [b]one[/b]", "votes": 0, "state": "pending"},
    {"id": 1, "text": "Popular", "votes": 5, "state": "visible"},
    {"id": 2, "text": "Done", "votes": 2, "state": "answered"},
    {"id": 3, "text": "Rude", "votes": 0, "state": "hidden"},
)


def test_moderation_view_lists_everything_waiting_first_with_marks() -> None:
    """The chair sees every item in the server's order, each state marked, the cursor on one."""
    question = Question("qa", "qa", "Ask us", moderated=True)
    view = results_view(qa_state(question, QA_ITEMS), cursor=1)
    assert [row.label for row in view.rows] == ["Waiting [b]one[/b]", "Popular", "Done", "Rude"]
    assert [row.mark for row in view.rows] == ["PENDING", "", "answered", "HIDDEN"]
    assert [row.selected for row in view.rows] == [False, True, False, False]
    assert view.rows[1].key == "▶"
    assert view.focus == 1
    assert view.summary == "1 waiting · 1 answered · 1 hidden"


def test_moderation_cursor_moves_within_the_list() -> None:
    """↑/↓ stop at the ends; a vanished item puts the cursor back on the first."""
    assert move_cursor(QA_ITEMS, None, 0) == 4
    assert move_cursor(QA_ITEMS, 4, 1) == 1
    assert move_cursor(QA_ITEMS, 4, -1) == 4
    assert move_cursor(QA_ITEMS, 3, 1) == 3
    assert move_cursor(QA_ITEMS, 99, 1) == 4
    assert move_cursor((), None, 1) is None


def test_cursor_moves_on_to_the_next_item_after_an_action() -> None:
    """Approving or hiding moves to the next item (the next in the queue), else back one."""
    assert cursor_after(QA_ITEMS, 4) == 1
    assert cursor_after(QA_ITEMS, 3) == 2
    assert cursor_after(QA_ITEMS[:1], 4) == 4


def test_only_qa_questions_have_items_to_moderate() -> None:
    """A choice question offers no moderation, whatever its state carries."""
    question = Question("q1", "single", "Pick", ("Yes", "No"))
    assert moderation_items(qa_state(question, QA_ITEMS)) == ()


def test_qa_room_view_counts_waiting_questions_when_none_is_shown_yet() -> None:
    """Before the chair approves anything, the room is told questions are waiting."""
    question = Question("qa", "qa", "Ask us", moderated=True)
    view = results_view(qa_state(question, QA_ITEMS[:1]))
    assert view.rows == ()
    assert view.empty == "1 waiting for approval"


def test_a_question_at_its_limit_tells_the_chair() -> None:
    """A text question or Q&A that reached its cap says so under the results."""
    wall = Question("w", "text", "Say", display="wall")
    full = make_state(wall, results={"count": 3, "latest": []}, limit=3, full=True)
    assert results_view(full).summary == (
        "3 answers, newest first\nlimit of 3 answers reached: phones are told no more are taken"
    )
    not_full = make_state(wall, results={"count": 2, "latest": []}, limit=3, full=False)
    assert results_view(not_full).summary == "2 answers, newest first"
    cloud = Question("c", "text", "Say")
    assert results_view(make_state(cloud, limit=3, full=True)).summary.endswith(
        "limit of 3 answers reached: phones are told no more are taken"
    )


def test_closed_quiz_names_the_leaderboard() -> None:
    """A closed quiz's summary adds the best players, nicknames as typed."""
    question = Question("quiz", "quiz", "Which?", ("A", "B"), correct=(0,))
    board = ({"name": "[red]Ada[/]", "points": 980, "right": 1}, {"name": "Bo", "points": 0})
    view = results_view(make_state(question, status="closed", leaderboard=board))
    assert view.summary.splitlines()[1] == "Leaderboard  1 [red]Ada[/] 980 · 2 Bo 0"


# -- the replay link -------------------------------------------------------------------------


def _replay(count: int = 3) -> ReplayLink:
    question = Question("q1", "single", "Pick", ("Yes", "No"))
    states = [make_state(question, index=i, count=count, status="closed") for i in range(count)]
    return ReplayLink(states, Welcome("", "/tmp/x.db", "0.1.0"), "read-only: session 1")


def test_replay_link_moves_like_a_server_within_its_questions() -> None:
    """next / previous / goto answer with that question's state; moving past the ends
    or to where it already is answers nothing."""
    link = _replay()
    assert link.answer(encode_command("previous")) is None
    moved = link.answer(encode_command("next"))
    assert isinstance(moved, PresenterState)
    assert moved.index == 1
    assert link.answer(encode_command("goto", 2)) == link.states[2]
    assert link.answer(encode_command("next")) is None
    assert link.answer(encode_command("goto", 9)) is None
    assert link.answer(encode_command("goto", 0)) == link.states[0]


def test_replay_link_refuses_what_would_change_a_past_session() -> None:
    """Opening voting, showing results or moderating is refused: it is read-only."""
    link = _replay()
    for frame in (
        encode_command("toggle_voting"),
        encode_command("toggle_results"),
        encode_command("moderate", item=1, state="hidden"),
    ):
        refused = link.answer(frame)
        assert isinstance(refused, ProtocolError)
        assert refused.code == "read_only"
    assert link.index == 0


async def test_replay_link_starts_with_the_welcome_and_the_first_state() -> None:
    """The stream opens like a server's: up, welcome, then the state; a command's answer follows."""
    link = _replay()
    events = link.events()
    first = [await anext(events) for _ in range(3)]
    assert first == [LinkUp(), link.welcome, link.states[0]]
    await link.send(encode_command("next"))
    assert await anext(events) == link.states[1]
    await events.aclose()
