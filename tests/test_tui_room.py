"""The room view as a projector screen: the question in big letters, results first
once the room has joined, the join strip, and the rules behind them."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from rich.color import ColorSystem
from rich.style import Style
from textual.color import Color as TextualColor
from textual.command import CommandList
from textual.geometry import Region
from textual.pilot import Pilot

from livepoll import cli
from livepoll import deck as deck_module
from livepoll.deck import Question
from livepoll.engine import Session
from livepoll.protocol import (
    JoinInfo,
    PresenterState,
    QaModeration,
    Welcome,
    decode_presenter_frame,
    encode_presenter_state,
)
from livepoll.tui.app import PresenterApp
from livepoll.tui.bigtext import (
    GLYPH_HEIGHT,
    BigParagraph,
    Paragraph,
    can_draw,
    fit_paragraph,
    natural_width,
    paragraph_rows,
    render_paragraph,
    wrap_words,
)
from livepoll.tui.leaderboard import Standing, board_layout, standings
from livepoll.tui.qr import QRCode, render_qr
from livepoll.tui.room import PANE_FIXED_ROWS, join_is_large, prompt_rows, strip_shows_code
from livepoll.tui.screens import HelpScreen, JoinScreen, LeaderboardScreen, MainScreen
from livepoll.tui.themes import LIGHT
from test_qr import decode, image_from_lines

PROMPT = "Which talk format do you prefer at conferences like this one?"
WELCOME = Welcome("http://192.168.1.20:8000/", "/tmp/livepoll.db", "0.1.0")


def make_state(prompt: str = PROMPT, **changes: object) -> PresenterState:
    """Question 2 of 5, single choice, voting open, results shown."""
    question = Question("q", "single", prompt, ("Long talks", "Short talks", "Workshops"))
    fields: dict[str, object] = {
        "title": "Deck",
        "index": 1,
        "count": 5,
        "question": question,
        "status": "open",
        "results_shown": True,
        "counts": (3, 5, 1),
        "respondents": 9,
        "phones": 12,
    }
    fields.update(changes)
    return PresenterState(**fields)  # type: ignore[arg-type]


def moderation_state(question: Question, items: tuple[dict[str, Any], ...]) -> PresenterState:
    """A Q&A as the server sends it: the waiting items come on the moderation page."""
    counts = {state: 0 for state in ("pending", "visible", "answered", "hidden")}
    for item in items:
        counts[str(item["state"])] += 1
    page = QaModeration(counts, len(items), 0, 20, items)
    return make_state(question=question, counts=(), items=(), qa=page)


# -- the big font, wrapped ---------------------------------------------------------------


def test_wrapped_prompt_breaks_only_between_words() -> None:
    """Every line fits the width, and the lines put back together are the text."""
    lines = wrap_words(PROMPT, 60)
    assert lines is not None
    assert len(lines) > 1
    assert all(natural_width(line) <= 60 for line in lines)
    assert " ".join(lines) == PROMPT


def test_a_word_wider_than_the_line_is_never_split() -> None:
    """A word that cannot fit the width makes the wrap fail rather than break it."""
    assert wrap_words("Supercalifragilistic", 20) is None


def test_paragraph_rows_count_line_gaps_and_descenders() -> None:
    """Lines stack 7 pixels apart; the last line's descender row counts only when used."""
    assert paragraph_rows(("Ready",), 1) == 3
    assert paragraph_rows(("Yes",), 1) == 3
    assert paragraph_rows(("Ready", "now"), 1) == (GLYPH_HEIGHT + 1 + 5 + 1) // 2
    assert paragraph_rows(("Ready", "now"), 2) == GLYPH_HEIGHT + 1 + 5


def test_fit_paragraph_picks_the_largest_scale_that_fits() -> None:
    """More room gives larger letters; too little gives None (bold text instead)."""
    small = fit_paragraph(PROMPT, 100, 10)
    large = fit_paragraph(PROMPT, 200, 40)
    assert small is not None
    assert large is not None
    assert large.scale > small.scale
    assert small.rows <= 10
    assert fit_paragraph(PROMPT, 40, 5) is None


def test_prose_may_mix_case_but_needs_every_glyph() -> None:
    """A question mixes capitals and small letters; a character outside the font
    (an emoji, an accent) leaves it to bold text."""
    assert can_draw("Which format?", prose=True)
    assert not can_draw("Which format?")
    assert fit_paragraph("Café or tea?", 200, 40) is None
    assert fit_paragraph("Which 🎉 format?", 200, 40) is None


def test_rendered_paragraph_rows_are_equally_wide_and_as_many_as_counted() -> None:
    """Drawn lines are padded to the widest, and there are exactly ``rows`` of them."""
    paragraph = Paragraph(("Which talk", "format?"), 2)
    drawn = render_paragraph(paragraph)
    assert len(drawn) == paragraph.rows
    assert len({len(row) for row in drawn}) == 1


# -- the rule: how much of the screen the question gets ----------------------------------


def test_prompt_gets_half_of_the_free_rows() -> None:
    """The prompt takes up to half of the pane's free rows; the results get the rest."""
    assert prompt_rows(56) == (56 - PANE_FIXED_ROWS) // 2
    assert prompt_rows(PANE_FIXED_ROWS) == 1
    assert prompt_rows(0) == 1


async def prompt_on_screen(size: tuple[int, int], state: PresenterState) -> tuple[int, int, str]:
    """(scale, rows, screen text) of the prompt as the console draws ``state``."""
    app = PresenterApp()
    async with app.run_test(size=size) as pilot:
        app.apply_welcome(WELCOME)
        app.apply_state(state)
        await pilot.pause()
        prompt = app.screen.query_one("#prompt", BigParagraph)
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        return prompt.scale_now, prompt.size.height, text


async def test_at_200x60_the_question_is_drawn_big() -> None:
    """On a 1080p projector a long prompt is in the pixel font, wrapped on several lines."""
    scale, rows, text = await prompt_on_screen((200, 60), make_state())
    assert scale >= 1
    assert rows >= 6  # two lines of letters
    assert PROMPT not in text  # drawn in blocks, not as a line of text


async def test_at_200x60_a_short_question_gets_larger_letters() -> None:
    """A short prompt has room to grow: it is drawn at a larger scale than a long one."""
    long_scale, _, _ = await prompt_on_screen((200, 60), make_state())
    short_scale, rows, _ = await prompt_on_screen((200, 60), make_state("Ready?"))
    assert short_scale > long_scale
    assert rows <= prompt_rows(56)


async def test_at_80x24_a_short_question_is_drawn_big() -> None:
    """Even at 80×24 a short prompt fits the pixel font."""
    scale, _, text = await prompt_on_screen((80, 24), make_state("Ready?"))
    assert scale == 1
    assert "Ready?" not in text


async def test_at_80x24_a_long_question_falls_back_to_bold_text() -> None:
    """A prompt too long for big letters at 80×24 is shown whole, wrapped, in bold."""
    scale, _, text = await prompt_on_screen((80, 24), make_state(index=0, results_shown=False))
    assert scale == 0
    assert "Which talk format" in text
    assert "like this one?" in text


async def test_prompt_is_user_text_never_markup() -> None:
    """A prompt with markup-like text, left to bold text, is shown as typed."""
    prompt = "Café [b]or[/b] [red]tea[/]?"
    question = Question("q", "single", prompt, ("a", "b"))
    scale, _, text = await prompt_on_screen((80, 24), replace(make_state(), question=question))
    assert scale == 0
    assert prompt in text


async def test_at_200x60_the_prompt_may_take_fifteen_rows_next_to_the_join_strip() -> None:
    """The stated rule holds on a 1080p projector: with the join strip under it, the
    question pane leaves the prompt at least 15 rows (24 next to the full join panel)."""
    for state, least in ((make_state(), 15), (make_state(index=0, results_shown=False), 24)):
        app = PresenterApp()
        async with app.run_test(size=(200, 60)) as pilot:
            app.apply_welcome(WELCOME)
            app.apply_state(state)
            await pilot.pause()
            pane = app.screen.query_one("#question-pane")
            assert prompt_rows(pane.content_size.height) >= least


# -- results first: the join panel and the join strip -------------------------------------


def test_the_join_is_large_until_the_first_results_are_shown() -> None:
    """Waiting and on the first question the code is large; results, or any later
    question, put the join in the strip."""
    assert join_is_large(None)
    assert join_is_large(make_state(index=0, results_shown=False))
    assert not join_is_large(make_state(index=0, results_shown=True))
    assert not join_is_large(make_state(index=3, results_shown=False))


def test_the_strip_carries_a_code_only_when_it_leaves_most_of_the_screen() -> None:
    """A 17-row code fits the strip at 60 rows, not at 40 or 24."""
    assert strip_shows_code(17, 60)
    assert not strip_shows_code(17, 40)
    assert not strip_shows_code(17, 24)
    assert not strip_shows_code(0, 60)


async def join_layout(size: tuple[int, int], state: PresenterState) -> dict[str, object]:
    """What of the join the console shows for ``state``: panel, strip, strip code, text."""
    app = PresenterApp()
    async with app.run_test(size=size) as pilot:
        app.apply_welcome(WELCOME)
        app.apply_state(state)
        await pilot.pause()
        screen = app.screen
        return {
            "panel": screen.query_one("#join-panel").display,
            "strip": screen.query_one("#join-strip").display,
            "strip code": screen.query_one("#strip-qr").display,
            "text": "\n".join(strip.text for strip in screen._compositor.render_strips()),
            "strip rows": screen.query_one("#join-strip").size.height,
        }


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
async def test_first_question_shows_the_large_join_panel(size: tuple[int, int]) -> None:
    """While the room is joining, the QR code has its large panel and there is no strip."""
    shown = await join_layout(size, make_state(index=0, results_shown=False))
    assert shown["panel"]
    assert not shown["strip"]
    assert "Scan to vote" in str(shown["text"])


@pytest.mark.parametrize(
    ("size", "code", "most_rows"),
    [((80, 24), False, 1), ((120, 40), False, 4), ((200, 60), True, 17)],
)
async def test_with_results_shown_the_join_is_a_strip(
    size: tuple[int, int], code: bool, most_rows: int
) -> None:
    """Results shown: the panel gives way to a strip with the address (and a small code
    where it fits); the phones and answers counters stay on screen."""
    shown = await join_layout(size, make_state())
    text = str(shown["text"])
    assert not shown["panel"]
    assert shown["strip"]
    assert shown["strip code"] is code
    assert shown["strip rows"] <= most_rows
    assert "Join at 192.168.1.20:8000" in text
    assert ("j: join screen" if code else "j: QR code") in text
    assert "answers" in text
    assert "connected" in text


async def test_j_brings_back_the_full_screen_join_from_the_strip() -> None:
    """With the strip showing, ``j`` opens the full-screen join and ``j`` closes it."""
    app = PresenterApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_welcome(WELCOME)
        app.apply_state(make_state())
        await pilot.pause()
        await pilot.press("j")
        assert isinstance(app.screen, JoinScreen)
        await pilot.press("j")
        assert isinstance(app.screen, MainScreen)
        assert app.screen.query_one("#join-strip").display


# -- the quiz leaderboard ------------------------------------------------------------------

BOARD: tuple[dict[str, object], ...] = (
    {"name": "Ada", "points": 1840, "right": 2, "previous_rank": 2, "gained": 975},
    {"name": "[red]x[/]", "points": 1720, "right": 2, "previous_rank": 1, "gained": 700},
    {"name": "Grace", "points": 1720, "right": 2, "previous_rank": 3, "gained": 800},
    {"name": "Linus", "points": 900, "right": 1, "previous_rank": None, "gained": 900},
    {"name": "Alan", "points": 880, "right": 1, "previous_rank": 4, "gained": 0},
)


def test_standings_share_a_rank_on_equal_points() -> None:
    """Players with equal points share a rank, and the next rank skips (1, 2, 2, 4)."""
    assert [row.rank for row in standings(BOARD)] == [1, 2, 2, 4, 5]


def test_standings_say_how_each_player_moved_since_the_last_quiz() -> None:
    """Up, down, same place or new on the board, with the points the last quiz gave."""
    changes = [row.change for row in standings(BOARD)]
    assert changes == ["▲ 1  +975", "▼ 1  +700", "▲ 1  +800", "new  +900", "▼ 1"]


def test_after_the_first_quiz_nobody_has_moved() -> None:
    """With no earlier quiz there is no change to show."""
    first = tuple({"name": n, "points": p} for n, p in (("Ada", 975), ("Alan", 0)))
    assert [row.change for row in standings(first)] == ["", ""]


def test_the_board_holds_the_top_ten() -> None:
    """Only ten players are shown, however many the server sends."""
    many = tuple({"name": f"p{n}", "points": 100 - n} for n in range(15))
    assert len(standings(many)) == 10


def test_board_is_big_on_a_projector_and_text_at_80x24() -> None:
    """Ten players fit the pixel font at 200×60 with a blank row between them, at
    120×40 without one, and fall back to text at 80×24."""
    ten = standings(tuple({"name": f"Player {n}", "points": 1000 - n} for n in range(10)))
    assert board_layout(ten, 194, 48) == (1, 1)
    assert board_layout(ten, 114, 31) == (1, 0)
    assert board_layout(ten, 74, 18) == (0, 0)


TEN = BOARD + tuple(
    {"name": f"Player {n}", "points": 800 - n, "right": 1, "previous_rank": 5 + n, "gained": 0}
    for n in range(5)
)
"""BOARD and five more: ten players, too many for big letters at 80×24."""


def closed_quiz(**changes: object) -> PresenterState:
    """A closed quiz with TEN as its leaderboard."""
    question = Question("quiz", "quiz", "How long?", ("3 min", "3 h"), correct=(0,))
    fields: dict[str, object] = {"question": question, "status": "closed", "leaderboard": TEN}
    fields.update(changes)
    return make_state(**fields)


async def test_l_shows_the_leaderboard_only_after_a_quiz_closes() -> None:
    """While the quiz is open ``l`` does nothing; once closed it opens the board, with
    nicknames shown literally, and ``l`` goes back."""
    app = PresenterApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.apply_welcome(WELCOME)
        app.apply_state(closed_quiz(status="open"))
        await pilot.pause()
        await pilot.press("l")
        assert isinstance(app.screen, MainScreen)
        app.apply_state(closed_quiz())
        await pilot.pause()
        await pilot.press("l")
        assert isinstance(app.screen, LeaderboardScreen)
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert "[red]x[/]" in text
        assert "▲ 1  +975" in text
        await pilot.press("l")
        assert isinstance(app.screen, MainScreen)


async def test_leaderboard_leaves_when_the_chair_moves_on() -> None:
    """Moving to the next question (its keys work under the board) closes the board."""
    app = PresenterApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.apply_welcome(WELCOME)
        app.apply_state(closed_quiz())
        await pilot.pause()
        await pilot.press("l")
        assert isinstance(app.screen, LeaderboardScreen)
        app.apply_state(make_state(index=2))
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


# -- help and the command palette ---------------------------------------------------------


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Let the app run until ``condition`` holds (5 s at most)."""
    for _ in range(250):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("the console never got there")


async def help_lines(state: PresenterState, key: str = "question_mark") -> list[str]:
    """The keys the help screen lists for ``state``, opened with ``key``."""
    app = PresenterApp()
    async with app.run_test(size=(100, 40)) as pilot:
        app.apply_welcome(WELCOME)
        app.apply_state(state)
        await pilot.pause()
        await pilot.press(key)
        assert isinstance(app.screen, HelpScreen)
        listed = [key.keys for key in app.screen.keys]
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert all(key.title in text for key in app.screen.keys)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        return listed


async def test_help_lists_the_keys_that_apply_to_the_question_on_screen() -> None:
    """``?`` lists the session keys; a timer adds ``t``, a closed quiz ``l``; keys that
    do not apply (moderation on a poll) are left out."""
    plain = await help_lines(make_state())
    assert plain == ["space", "n →", "p ←", "r", "j", "q", "?"]
    quiz = await help_lines(closed_quiz(), key="f1")
    assert "l" in quiz
    timed = await help_lines(make_state(time_left=30.0))
    assert "t" in timed
    assert "a" not in timed


async def test_help_while_moderating_lists_the_moderation_keys() -> None:
    """While moderating a Q&A, the help lists the cursor and moderation keys instead
    of results (F1 still opens it with ``?`` gone from the footer)."""
    question = Question("qa", "qa", "Questions?", ())
    items = ({"id": 1, "text": "Why?", "votes": 0, "state": "pending"},)
    app = PresenterApp()
    async with app.run_test(size=(100, 40)) as pilot:
        app.apply_state(moderation_state(question, items))
        await pilot.pause()
        await pilot.press("down")
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        listed = [key.keys for key in app.screen.keys]
    assert {"a", "h", "x", "esc", "j"} <= set(listed)
    assert "r" not in listed


async def test_j_shows_the_join_screen_even_while_moderating() -> None:
    """``j`` brings the join screen back at any time, moderation included, though the
    footer leaves it out there for room."""
    question = Question("qa", "qa", "Questions?", ())
    items = ({"id": 1, "text": "Why?", "votes": 0, "state": "pending"},)
    app = PresenterApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.apply_welcome(WELCOME)
        app.apply_state(moderation_state(question, items))
        await pilot.pause()
        await pilot.press("down")
        assert app.qa_cursor == 1
        footer = app.screen._compositor.render_strips()[-1].text
        assert "j Join" not in footer
        await pilot.press("j")
        assert isinstance(app.screen, JoinScreen)


async def test_palette_offers_the_same_actions_as_the_keys() -> None:
    """Each key that applies is a command of the palette, plus the help itself."""
    app = PresenterApp()
    async with app.run_test(size=(100, 40)) as pilot:
        app.apply_state(closed_quiz())
        await pilot.pause()
        titles = [command.title for command in app.get_system_commands(app.screen)]
    assert "Quiz leaderboard (l)" in titles
    assert "Open or close voting (space)" in titles
    assert "Keys" in titles
    assert not any(title.startswith("More time") for title in titles)


async def test_a_palette_command_runs_its_action() -> None:
    """Typing in the palette and pressing enter does what the key does."""
    app = PresenterApp()
    async with app.run_test(size=(100, 40)) as pilot:
        app.apply_welcome(WELCOME)
        app.apply_state(closed_quiz())
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.press(*"leaderboard")
        await wait_for(pilot, lambda: app.screen.query(CommandList).first().option_count > 0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LeaderboardScreen))


# -- themes, NO_COLOR and 16 colours -------------------------------------------------------


def test_theme_is_chosen_on_run_present_and_results() -> None:
    """``--theme light`` is accepted by the three commands that open the console, and
    a theme that does not exist is refused with the choices."""
    parser = cli._parser()
    for argv in (
        ["run", "deck.toml", "--theme", "light"],
        ["present", "http://127.0.0.1:8321/", "--token", "t", "--theme", "light"],
        ["results", "--theme", "light"],
    ):
        assert parser.parse_args(argv).theme == "light"
    assert parser.parse_args(["results"]).theme == "dark"


def test_an_unknown_theme_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A typo in the theme is an error that lists the themes there are."""
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["results", "--theme", "neon"])
    assert "choose from 'dark', 'light'" in capsys.readouterr().err


def test_present_opens_the_console_in_the_chosen_theme(monkeypatch: pytest.MonkeyPatch) -> None:
    """``livepoll present --theme light`` hands the light theme to the console."""
    themes: list[str] = []
    monkeypatch.setattr(PresenterApp, "run", lambda self: themes.append(self.theme))
    monkeypatch.setenv("LIVEPOLL_PRESENTER_TOKEN", secrets.token_urlsafe(24))
    assert cli.main(["present", "http://127.0.0.1:9/", "--theme", "light"]) == 0
    assert themes == [LIGHT.name]


async def test_palette_switches_the_theme_live() -> None:
    """The palette offers the other theme; choosing it restyles the running console."""
    app = PresenterApp()
    async with app.run_test(size=(100, 40)) as pilot:
        app.apply_state(make_state())
        await pilot.pause()
        before = app.screen.query_one("#top-bar").styles.background
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert "Theme: dark" not in commands
        await pilot.press("ctrl+p")
        await pilot.press(*"theme light")
        await wait_for(pilot, lambda: app.screen.query(CommandList).first().option_count > 0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.theme == LIGHT.name)
        await pilot.pause()
        assert app.screen.query_one("#top-bar").styles.background != before
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert "Theme: dark" in commands


async def test_no_color_keeps_a_usable_screen_and_a_code_that_decodes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under NO_COLOR the states are still in words, and the join code, as it reaches
    the terminal through the console's colour filters, still reads as the URL."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = PresenterApp()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.no_color
        app.apply_welcome(WELCOME)
        app.apply_state(make_state(index=0, results_shown=False))
        await pilot.pause()
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert "VOTING OPEN" in text
        assert "results hidden" in text
        widget = app.screen.query_one("#join-qr", QRCode)
        width, height = widget.size
        lines = []
        for strip in widget.render_lines(Region(0, 0, width, height)):
            segments = list(strip)
            for line_filter in app._filters:
                segments = line_filter.apply(segments, TextualColor(0, 0, 0))
            lines.append(segments)
    assert decode(image_from_lines(lines)) == [WELCOME.join_url]


def test_the_code_stays_black_on_white_in_sixteen_colours() -> None:
    """Downgraded to a 16-colour terminal, the code's colours are black (0) and bright
    white (15): the two ends every palette keeps apart."""
    numbers = set()
    for span in render_qr("http://192.168.1.20:8000/").spans:
        style = span.style
        assert isinstance(style, Style)
        for color in (style.color, style.bgcolor):
            assert color is not None
            numbers.add(color.downgrade(ColorSystem.STANDARD).number)
    assert numbers == {0, 15}


CODE = JoinInfo("http://192.168.1.20:8000/?code=K7HX9Q", "code", "K7HX9Q")


@pytest.mark.parametrize(
    ("state", "help_in_footer"),
    [
        (make_state(), True),
        (make_state(join=CODE, time_left=42.0), False),
        (closed_quiz(join=CODE), False),
        (closed_quiz(), True),
    ],
    ids=["plain", "code-and-timer", "quiz-and-code", "quiz"],
)
async def test_footer_fits_80_columns_and_help_always_opens(
    state: PresenterState, help_in_footer: bool
) -> None:
    """``? Help`` joins the footer only where it fits 80 columns; ``?`` works anyway."""
    app = PresenterApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.apply_welcome(WELCOME)
        app.apply_state(state)
        await pilot.pause()
        footer = app.screen._compositor.render_strips()[-1].text.rstrip()
        assert footer.startswith("space Open/close")
        assert footer.endswith("? Help") is help_in_footer
        assert app._footer_width(without="") <= 80
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "Help" in [key.title for key in app.screen.keys]


def test_board_from_the_server_frame_says_who_moved_after_the_second_quiz() -> None:
    """The presenter frame carries each player's earlier rank and gain, so the console's
    board says who moved, from the engine's own scores."""
    deck = deck_module.from_text(
        """title = "Quiz night"
[[questions]]
id = "one"
type = "quiz"
prompt = "First?"
options = ["a", "b"]
correct = "a"
points = 100

[[questions]]
id = "two"
type = "quiz"
prompt = "Second?"
options = ["a", "b"]
correct = "b"
points = 300
""",
        "quiz.toml",
    )
    session = Session(deck)
    for voter, name in (("v1", "Ada"), ("v2", "[red]x[/]"), ("v3", "Grace")):
        session.set_nickname(voter, name)
    session.open_voting(0.0)
    session.apply_vote("v1", "one", 0, 1.0)
    session.apply_vote("v2", "one", 0, 1.0)
    session.next(2.0)
    session.open_voting(3.0)
    session.apply_vote("v2", "two", 1, 4.0)
    session.apply_vote("v3", "two", 1, 4.0)
    session.close_voting(5.0)
    frame = decode_presenter_frame(encode_presenter_state(session, phones=3, now=6.0))
    assert isinstance(frame, PresenterState)
    assert standings(frame.leaderboard) == (
        Standing(1, "[red]x[/]", 400, "=  +300"),
        Standing(2, "Grace", 300, "new  +300"),
        Standing(3, "Ada", 100, "▼ 2"),
    )
