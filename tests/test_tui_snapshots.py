"""Snapshots of the presenter console's screens, from fixed states (no server, no clock).

Review changes in the HTML report (``snapshot_report.html``) before accepting them
with ``pytest --snapshot-update``: the point is to look at what the room will see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from textual.pilot import Pilot

from livepoll import deck as deck_module
from livepoll.deck import Question
from livepoll.engine import Session
from livepoll.protocol import (
    JoinInfo,
    PresenterState,
    Welcome,
    decode_presenter_frame,
    encode_presenter_state,
)
from livepoll.tui.app import PresenterApp, make_replay_app
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


def test_rotate_code_confirmation(snap_compare: SnapCompare) -> None:
    """In room-code mode c asks how to rotate: keep admitted phones (focused) or re-admit all."""
    join = JoinInfo("http://192.168.1.20:8000/?code=K7HX9", "code", "K7HX9")
    assert snap_compare(
        PresenterApp(), press=["c"], terminal_size=(80, 24), run_before=showing(state(join=join))
    )


def test_quit_confirmation(snap_compare: SnapCompare) -> None:
    """Quitting while voting is open asks first, with Stay focused."""
    assert snap_compare(
        PresenterApp(), press=["q"], terminal_size=(80, 24), run_before=showing(state())
    )


def test_quit_confirmation_under_run_says_the_server_stops(snap_compare: SnapCompare) -> None:
    """Under ``livepoll run`` quitting ends the server too, and the dialog says so."""
    assert snap_compare(
        PresenterApp(stops_server=True),
        press=["q"],
        terminal_size=(80, 24),
        run_before=showing(state()),
    )


# -- one snapshot per question type, from states the engine itself computed ---------------

TYPES_DECK = """title = "Digital Leaders Day"

[[questions]]
id = "single"
type = "single"
prompt = "Is your organisation running a transformation programme?"
options = ["Yes", "No", "Not sure"]

[[questions]]
id = "multi"
type = "multi"
prompt = "Which of these hold your organisation back?"
options = ["Legacy systems", "Culture", "Skills", "Budget", "Data sharing rules"]
max_choices = 2

[[questions]]
id = "scale"
type = "scale"
prompt = "How ready is your council for AI?"
min = 1
max = 5
labels = ["Not at all", "Fully"]

[[questions]]
id = "cloud"
type = "text"
prompt = "One word for your digital strategy"

[[questions]]
id = "wall"
type = "text"
display = "wall"
prompt = "What should we stop doing?"

[[questions]]
id = "ranking"
type = "ranking"
prompt = "Rank the service design principles"
options = ["Person-centred", "Persistent delivery", "Digital and IT", "Open by default"]

[[questions]]
id = "number"
type = "number"
prompt = "What share of your services is fully online?"
min = 0
max = 100
unit = "%"

[[questions]]
id = "qa"
type = "qa"
prompt = "Questions for the panel"
moderated = true

[[questions]]
id = "quiz"
type = "quiz"
prompt = "How long does an Estonian tax declaration take?"
options = ["3 minutes", "3 hours", "3 days"]
correct = "3 minutes"
time_limit = 60
"""

ANSWERS: dict[str, list[object]] = {
    "single": [0, 0, 1, 2, 0, 0, 2, 1, 0, 0, 0, 2],
    "multi": [[0, 1], [1], [1, 3], [0, 3], [3], [0, 1], [4], [1, 2], [0], [1, 3]],
    "scale": [1, 2, 2, 3, 3, 3, 3, 4, 4, 5, 3, 2],
    "cloud": [
        "people",
        "people first",
        "data",
        "Culture",
        "data",
        "cloud",
        "people",
        "[red]markup[/]",
        "legacy",
        "data",
        "trust",
        "people",
    ],
    "wall": [
        "Printing emails",
        "Meetings without an agenda",
        "Buying software before asking users",
        "[b]Bold[/b] claims in business cases",
        "Annual budgets for agile work",
    ],
    "ranking": [[0, 1, 2, 3], [0, 2, 1, 3], [1, 0, 2, 3], [0, 1, 3, 2], [3, 0, 1, 2]],
    "number": [50, 72.5, 10, 99, 50, 64, 35, 80, 45, 55, 60, 20],
    "quiz": [0, 1, 0, 0, 2, 0, 1, 0],
}
QA_POSTS = [
    ("How will you fund the legacy migration?", 6, "visible"),
    ("Is the [b]data[/b] strategy public?", 3, "answered"),
    ("What about staff without smartphones?", 0, "pending"),
    ("Off-topic rant", 0, "hidden"),
    ("Will this reach district councils?", 0, "pending"),
]
NICKNAMES = ["Ada", "Grace", "[red]Linus[/]", "Margaret", "Alan"]


# A busier room for the large cloud: every tier, and a frequent word with an
# apostrophe (drawn big: the font has prose punctuation).
CROWD_WORDS: list[object] = [
    "people", "people first", "people", "data", "trust", "citizen's voice", "people and data",
    "cloud", "data", "agile", "trust", "citizen's needs", "users", "open data", "people",
    "simple", "trust and transparency", "citizen's", "legacy", "cloud", "people", "data",
    "[red]markup[/]", "culture", "agile", "skills", "citizen's", "people", "security", "data",
    "ai", "people", "inclusion", "speed", "open", "citizen's trust", "co-op", "savings",
    "people", "users first", "citizen's data", "Reuse",
]  # fmt: skip


def engine_state(
    question_id: str, *, closed: bool = False, answers: list[object] | None = None
) -> PresenterState:
    """The state a live server would send for one question of TYPES_DECK, with the
    engine's own tallies (fixed clock, no server): the shape the console really gets.

    ``answers`` replaces the question's usual ones from ANSWERS, one voter each.
    """
    deck = deck_module.from_text(TYPES_DECK, "types.toml")
    session = Session(deck)
    index = [question.id for question in deck.questions].index(question_id)
    start = 1_000.0
    given = ANSWERS.get(question_id, []) if answers is None else answers
    voters = [f"voter-{n:02d}" for n in range(max(12, len(given)))]
    for voter, name in zip(voters, NICKNAMES, strict=False):
        session.set_nickname(voter, name)
    session.go_to(index, start)
    session.open_voting(start)
    if question_id == "qa":
        for n, (text, _, _) in enumerate(QA_POSTS):
            session.post_question(voters[n], "qa", text, start + n)
        for item_id, (_, votes, item_state) in enumerate(QA_POSTS, start=1):
            if item_state != "pending":
                session.moderate(item_id, "visible", start)
            for voter in voters[:votes]:
                session.upvote(voter, "qa", item_id, True, start + 10)
            if item_state in ("answered", "hidden"):
                session.moderate(item_id, item_state, start)
    else:
        for n, answer in enumerate(given):
            session.apply_vote(voters[n], question_id, answer, start + 2 + n)
    if closed:
        session.close_voting(start + 30)
    session.set_results_shown(True, start + 30)
    frame = encode_presenter_state(session, phones=63, now=start + 18)
    decoded = decode_presenter_frame(frame)
    assert isinstance(decoded, PresenterState)
    return decoded


@pytest.mark.parametrize(
    ("question_id", "closed"),
    [
        ("single", False),
        ("multi", False),
        ("scale", False),
        ("cloud", False),
        ("wall", False),
        ("ranking", True),
        ("number", True),
        ("qa", False),
        ("quiz", True),
    ],
)
def test_each_question_type_at_80x24(
    snap_compare: SnapCompare, question_id: str, closed: bool
) -> None:
    """Every type's live view fits 80×24: bars, words, answers, questions or leaderboard."""
    assert snap_compare(
        PresenterApp(),
        terminal_size=(80, 24),
        run_before=showing(engine_state(question_id, closed=closed)),
    )


def test_quiz_with_leaderboard_at_200x60(snap_compare: SnapCompare) -> None:
    """On a large screen a closed quiz shows its bars, the right answer and the leaderboard."""
    assert snap_compare(
        PresenterApp(),
        terminal_size=(200, 60),
        run_before=showing(engine_state("quiz", closed=True)),
    )


def test_cloud_at_200x60(snap_compare: SnapCompare) -> None:
    """On a large screen the most used words are drawn in big letters and the rest in
    bold, coloured or dim type by how often they were used, with the counts below."""
    assert snap_compare(
        PresenterApp(),
        terminal_size=(200, 60),
        run_before=showing(engine_state("cloud", answers=CROWD_WORDS)),
    )


def test_cloud_hidden_shows_no_words(snap_compare: SnapCompare) -> None:
    """While results are hidden the cloud shows only the hint, none of the answers."""
    hidden = replace(engine_state("cloud", answers=CROWD_WORDS), results_shown=False)
    assert snap_compare(PresenterApp(), terminal_size=(80, 24), run_before=showing(hidden))


def test_qa_moderation_cursor(snap_compare: SnapCompare) -> None:
    """Moderating a Q&A lists waiting questions first, marks each state, and shows the cursor."""
    assert snap_compare(
        PresenterApp(),
        press=["down", "down"],
        terminal_size=(80, 24),
        run_before=showing(engine_state("qa")),
    )


def test_qa_moderation_cursor_at_200x60(snap_compare: SnapCompare) -> None:
    """On a large screen the moderation list gets bars for the upvotes."""
    assert snap_compare(
        PresenterApp(),
        press=["down"],
        terminal_size=(200, 60),
        run_before=showing(engine_state("qa")),
    )


def test_results_read_only_view(snap_compare: SnapCompare) -> None:
    """A past session shown again: a read-only line, final results, no join panel, n/p/q only."""
    states = [engine_state(question_id, closed=True) for question_id in ("single", "multi")]
    app = make_replay_app(
        states,
        Welcome("", "/home/chair/talks/livepoll.db", "0.1.0"),
        "read-only: session 3 from 2025-03-14 10:02 UTC · past results",
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("n")
        while app.state is None or app.state.index != 1:
            await pilot.pause(0.02)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_short_question_in_big_letters_at_80x24(snap_compare: SnapCompare) -> None:
    """Even at 80×24 a short question is drawn in the pixel font."""
    short = replace(QUESTION, prompt="Ready to vote?")
    assert snap_compare(
        PresenterApp(), terminal_size=(80, 24), run_before=showing(state(question=short))
    )


# -- the room's view: each size a projector may have, results hidden and shown -----------

ROOM_SIZES = [(80, 24), (120, 40), (200, 60)]


@pytest.mark.parametrize("size", ROOM_SIZES, ids=[f"{w}x{h}" for w, h in ROOM_SIZES])
@pytest.mark.parametrize("shown", [False, True], ids=["hidden", "shown"])
@pytest.mark.parametrize(
    ("question_id", "closed"),
    [
        ("single", False),
        ("quiz", True),
        ("cloud", False),
        ("wall", False),
        ("qa", False),
        ("multi", False),
        ("scale", False),
        ("ranking", True),
        ("number", True),
    ],
)
def test_room_view(
    snap_compare: SnapCompare, question_id: str, closed: bool, shown: bool, size: tuple[int, int]
) -> None:
    """The question as large as fits; the join panel while the room joins (the first
    question, results hidden), the join strip once results are shown or later on."""
    presenter_state = replace(engine_state(question_id, closed=closed), results_shown=shown)
    assert snap_compare(PresenterApp(), terminal_size=size, run_before=showing(presenter_state))


# -- the quiz leaderboard, full screen ---------------------------------------------------

TEN_PLAYERS = ["Ada", "Grace", "[red]x[/]", "Margaret", "Alan", "Katherine", "Linus", "Guido",
               "Barbara", "Edsger"]  # fmt: skip
TEN_POINTS = [2815, 2640, 2640, 2210, 1980, 1975, 1500, 990, 975, 400]
TEN_BEFORE = [2, 1, 4, 3, None, 5, 6, 7, None, 8]
TEN_GAINED = [975, 700, 900, 480, 1980, 800, 0, 0, 975, 0]
BOARD = tuple(
    {"name": name, "points": points, "right": 2, "previous_rank": before, "gained": gained}
    for name, points, before, gained in zip(
        TEN_PLAYERS, TEN_POINTS, TEN_BEFORE, TEN_GAINED, strict=True
    )
)


@pytest.mark.parametrize("size", ROOM_SIZES, ids=[f"{w}x{h}" for w, h in ROOM_SIZES])
def test_leaderboard_screen(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """After a quiz, ``l``: the top ten with shared ranks for ties, the change since the
    last quiz, nicknames literally; big type where it fits, a table where not."""
    quiz = replace(engine_state("quiz", closed=True), leaderboard=BOARD)
    assert snap_compare(PresenterApp(), press=["l"], terminal_size=size, run_before=showing(quiz))


def test_help_screen(snap_compare: SnapCompare) -> None:
    """``?`` lists every key that applies now, with what it does."""
    assert snap_compare(
        PresenterApp(), press=["question_mark"], terminal_size=(80, 24), run_before=showing(state())
    )


# -- the high-contrast light theme, for washed-out projectors -----------------------------


@pytest.mark.parametrize("size", ROOM_SIZES, ids=[f"{w}x{h}" for w, h in ROOM_SIZES])
def test_light_theme(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Black type on white, dark colours backing up words and marks; the code unchanged."""
    quiz = engine_state("quiz", closed=True)
    assert snap_compare(PresenterApp(theme="light"), terminal_size=size, run_before=showing(quiz))


def test_light_theme_join_panel(snap_compare: SnapCompare) -> None:
    """The join panel in the light theme, on the first question while the room joins."""
    first = replace(engine_state("single"), results_shown=False)
    assert snap_compare(
        PresenterApp(theme="light"), terminal_size=(120, 40), run_before=showing(first)
    )


def test_light_theme_cloud(snap_compare: SnapCompare) -> None:
    """In the light theme the cloud's words take dark hues that read on white."""
    cloud = engine_state("cloud", answers=CROWD_WORDS)
    assert snap_compare(
        PresenterApp(theme="light"), terminal_size=(120, 40), run_before=showing(cloud)
    )
