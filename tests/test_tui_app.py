"""The presenter console driven by keys (Textual's Pilot) against a real livepoll server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable

import pytest
from textual.pilot import Pilot
from websockets.asyncio.client import connect

from clients import Phone, chair, flood_questions, new_voter_token, open_phone
from livepoll import deck as deck_module
from livepoll.deck import Question
from livepoll.engine import Status
from livepoll.protocol import PresenterState, Welcome
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from livepoll.tui.app import PresenterApp, make_app
from livepoll.tui.bigtext import BigParagraph, render_paragraph
from livepoll.tui.screens import JoinScreen, QuitScreen, RotateScreen

SIZE = (80, 24)


async def wait_until(
    pilot: Pilot[None], condition: Callable[[], bool], within: float = 20.0
) -> None:
    """Let the app run until ``condition`` holds; fail after ``within`` seconds.

    Pilot pauses (not a bare sleep) so the app processes its messages meanwhile. The
    limit is generous: it costs nothing when things work, and a loaded 2-core
    machine running the suite in parallel can take seconds to schedule a reconnect.
    """
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


def screen_text(app: PresenterApp) -> str:
    """Everything on the terminal right now, as plain text, one line per row."""
    # The compositor is private, but it is exactly what the terminal receives.
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def prompt_is_shown(app: PresenterApp, prompt: str) -> bool:
    """Whether the console shows ``prompt``: as text, or in big letters that draw it."""
    widget = app.screen.query_one("#prompt", BigParagraph)
    paragraph = widget.layout_for(*widget.content_size)
    drawn = render_paragraph(paragraph) if paragraph else (prompt,)
    text = screen_text(app)
    return widget.text == prompt and all(line.rstrip() in text for line in drawn)


@contextlib.asynccontextmanager
async def connected(server: LivepollServer) -> AsyncIterator[tuple[PresenterApp, Pilot[None]]]:
    """The console, attached to ``server`` the way the CLI starts it, with its first state."""
    app = make_app(server.base_url, server.token)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state is not None and app.welcome is not None)
        yield app, pilot


async def test_console_shows_the_servers_first_question(livepoll_server: LivepollServer) -> None:
    """On connecting, the console shows the deck, question 1 of 2, and the join URL."""
    async with connected(livepoll_server) as (app, pilot):
        await pilot.pause()
        text = screen_text(app)
        assert "Test deck" in text
        assert "Question 1 / 2" in text
        assert "Is your organisation running" in text
        assert app.welcome is not None
        assert app.welcome.join_url in text
        assert "WAITING" in text


async def test_space_opens_voting_on_the_server(livepoll_server: LivepollServer) -> None:
    """Space opens voting on the server, and the console then says so."""
    async with connected(livepoll_server) as (app, pilot):
        await pilot.press("space")
        await wait_until(pilot, lambda: livepoll_server.session.current.status is Status.OPEN)
        await wait_until(pilot, lambda: app.state is not None and app.state.status == "open")
        await pilot.pause()
        assert "VOTING OPEN" in screen_text(app)


async def test_space_again_closes_voting_on_the_server(livepoll_server: LivepollServer) -> None:
    """A second space closes voting."""
    async with connected(livepoll_server) as (app, pilot):
        await pilot.press("space")
        await wait_until(pilot, lambda: app.state is not None and app.state.status == "open")
        await pilot.press("space")
        await wait_until(pilot, lambda: livepoll_server.session.current.status is Status.CLOSED)


async def test_n_and_p_move_between_questions_on_the_server(
    livepoll_server: LivepollServer,
) -> None:
    """``n``/right go to the next question and ``p``/left back, on the server."""
    async with connected(livepoll_server) as (app, pilot):
        await pilot.press("n")
        await wait_until(pilot, lambda: livepoll_server.session.current_index == 1)
        await wait_until(pilot, lambda: app.state is not None and app.state.index == 1)
        await pilot.pause()
        assert "Question 2 / 2" in screen_text(app)
        await pilot.press("left")
        await wait_until(pilot, lambda: livepoll_server.session.current_index == 0)
        await pilot.press("right")
        await wait_until(pilot, lambda: livepoll_server.session.current_index == 1)
        await pilot.press("p")
        await wait_until(pilot, lambda: livepoll_server.session.current_index == 0)


async def test_r_shows_and_hides_results_on_the_server(livepoll_server: LivepollServer) -> None:
    """``r`` toggles whether results are shown, on the server and on the screen."""
    async with connected(livepoll_server) as (app, pilot):
        await pilot.press("r")
        await wait_until(pilot, lambda: livepoll_server.session.current.results_shown)
        await wait_until(pilot, lambda: app.state is not None and app.state.results_shown)
        await pilot.pause()
        assert "results shown" in screen_text(app)
        await pilot.press("r")
        await wait_until(pilot, lambda: not livepoll_server.session.current.results_shown)


async def test_votes_from_phones_appear_in_the_bars(livepoll_server: LivepollServer) -> None:
    """Votes sent by real audience clients show as counts and percentages."""
    async with connected(livepoll_server) as (app, pilot):
        await pilot.press("space", "r")
        await wait_until(
            pilot,
            lambda: (
                app.state is not None and app.state.status == "open" and app.state.results_shown
            ),
        )
        phones = [await open_phone(livepoll_server) for _ in range(4)]
        try:
            for phone, answer in zip(phones, [0, 0, 0, 2], strict=True):
                reply = await phone.vote("q1", answer)
                assert reply["type"] == "ack"
            await wait_until(pilot, lambda: app.state is not None and app.state.respondents == 4)
            await pilot.pause()
            text = screen_text(app)
            assert "3   75%" in text
            assert "0    0%" in text
            assert "1   25%" in text
            assert app.state is not None
            assert app.state.phones == 4
        finally:
            for phone in phones:
                await phone.connection.close()


async def test_hidden_results_show_the_answer_count_but_no_bars(
    livepoll_server: LivepollServer,
) -> None:
    """While results are hidden the room sees how many answered, not what they answered."""
    async with connected(livepoll_server) as (app, pilot):
        await pilot.press("space")
        await wait_until(pilot, lambda: app.state is not None and app.state.status == "open")
        phone = await open_phone(livepoll_server)
        try:
            assert (await phone.vote("q1", 1))["type"] == "ack"
            await wait_until(pilot, lambda: app.state is not None and app.state.respondents == 1)
            await pilot.pause()
            text = screen_text(app)
            assert "Results hidden" in text
            assert "100%" not in text
            assert "█" not in text.split("Scan to vote")[0]
        finally:
            await phone.connection.close()


async def test_quit_asks_for_confirmation_while_voting_is_open(
    livepoll_server: LivepollServer,
) -> None:
    """``q`` while voting is open asks first; ``n`` stays, ``y`` quits."""
    async with connected(livepoll_server) as (app, pilot):
        await pilot.press("space")
        await wait_until(pilot, lambda: app.state is not None and app.state.status == "open")
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.press("n")
        await wait_until(pilot, lambda: not isinstance(app.screen, QuitScreen))
        assert app.is_running
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running)
    # Quitting the console leaves the session to the server: voting is still open.
    assert livepoll_server.session.current.status is Status.OPEN


async def test_quit_is_immediate_while_voting_is_not_open(
    livepoll_server: LivepollServer,
) -> None:
    """``q`` with voting not open quits without a question."""
    async with connected(livepoll_server) as (app, pilot):
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running)


async def test_j_toggles_the_join_screen(livepoll_server: LivepollServer) -> None:
    """``j`` opens the full-screen join code and ``j`` or escape comes back."""
    async with connected(livepoll_server) as (app, pilot):
        await pilot.press("j")
        assert isinstance(app.screen, JoinScreen)
        await pilot.pause()
        assert livepoll_server.join_url in screen_text(app)
        await pilot.press("j")
        assert not isinstance(app.screen, JoinScreen)
        await pilot.press("j", "escape")
        assert not isinstance(app.screen, JoinScreen)


async def test_keys_still_reach_the_server_from_the_join_screen(
    livepoll_server: LivepollServer,
) -> None:
    """The chair can open voting while people are still scanning the big code."""
    async with connected(livepoll_server) as (app, pilot):
        await pilot.press("j", "space")
        await wait_until(pilot, lambda: livepoll_server.session.current.status is Status.OPEN)
        assert isinstance(app.screen, JoinScreen)


async def test_link_down_shows_reconnecting_and_recovers(server_config: ServerConfig) -> None:
    """When the server stops, the console says it is reconnecting, then reattaches by itself."""
    first = running_server(server_config)
    server = await first.__aenter__()
    port = server.port
    stopped = False
    try:
        async with connected(server) as (app, pilot):
            await first.__aexit__(None, None, None)
            stopped = True
            # Conditions, not sleeps: under load each step may take seconds.
            await wait_until(pilot, lambda: app.link.phase == "down")
            await wait_until(pilot, lambda: "reconnecting" in screen_text(app))
            await pilot.press("space")  # only warns: nothing to send it to
            await pilot.pause()
            assert app.is_running
            again = dataclasses.replace(server_config, port=port, session_mode="resume")
            async with running_server(again) as restarted:
                await wait_until(pilot, lambda: app.link.phase == "up", within=60)
                await wait_until(pilot, lambda: "reconnecting" not in screen_text(app))
                assert restarted.session.current.status is Status.PENDING
                await pilot.press("space")
                await wait_until(pilot, lambda: restarted.session.current.status is Status.OPEN)
    finally:
        if not stopped:
            await first.__aexit__(None, None, None)


async def test_a_wrong_token_is_reported_not_retried_silently(
    livepoll_server: LivepollServer,
) -> None:
    """A refused presenter token shows in the banner, so the chair knows why."""
    app = make_app(livepoll_server.base_url, "not-the-token")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.link.phase == "down")
        await pilot.pause()
        assert "refused the presenter token" in " ".join(screen_text(app).split())


PANEL_DECK = """title = "Panel"

[[questions]]
id = "panel"
type = "qa"
prompt = "Questions for the panel"
moderated = true
"""


async def test_chair_approves_and_hides_questions_from_the_queue(
    server_config: ServerConfig,
) -> None:
    """In a moderated Q&A the chair walks the queue with ↓ and a/h; the server and the
    phones follow, and waiting questions reach the projector only while moderating."""
    server_config.deck = deck_module.from_text(PANEL_DECK, "panel.toml")
    async with running_server(server_config) as server, connected(server) as (app, pilot):
        await pilot.press("space")
        await wait_until(pilot, lambda: app.state is not None and app.state.status == "open")
        phones = [await open_phone(server) for _ in range(3)]
        texts = ["[red]First[/] question?", "Rude one", "Third question?"]
        try:
            for n, (phone, text) in enumerate(zip(phones, texts, strict=True)):
                await phone.connection.send(
                    json.dumps({"type": "ask", "q": "panel", "text": text, "seq": n + 1})
                )
                assert (await phone.reply())["type"] == "ack"
            await wait_until(
                pilot,
                lambda: (
                    app.state is not None and app.state.qa is not None and app.state.qa.total == 3
                ),
            )
            await pilot.pause()
            room_view = screen_text(app)
            assert "3 waiting for approval" in room_view
            assert "Rude one" not in room_view
            assert "Moderate" in room_view  # the footer offers it on a Q&A

            await pilot.press("down")  # starts moderating, the cursor on the oldest waiting
            assert app.qa_cursor == 1
            await pilot.pause()
            moderating = screen_text(app)
            assert "[red]First[/] question?" in moderating
            assert "Rude one" in moderating
            assert "PENDING" in moderating
            assert "Approve" in moderating

            await pilot.press("a")  # approve item 1; the cursor moves on to item 2
            board = server.session.states["panel"].qa
            assert board is not None
            await wait_until(pilot, lambda: board.items[1].state == "visible")
            assert app.qa_cursor == 2
            await pilot.press("h")  # hide item 2
            await wait_until(pilot, lambda: board.items[2].state == "hidden")
            assert board.items[3].state == "pending"
            await wait_until(
                pilot,
                lambda: (
                    app.state is not None
                    and app.state.qa is not None
                    and [i["state"] for i in app.state.qa.page] == ["pending", "visible", "hidden"]
                ),
            )
            await pilot.pause()
            assert "HIDDEN" in screen_text(app)

            # A phone joining now sees the approved question only.
            late = Phone(await connect(server.audience_url), new_voter_token())
            try:
                seen = await late.hello()
                assert [item["text"] for item in seen["items"]] == ["[red]First[/] question?"]
            finally:
                await late.connection.close()

            await pilot.press("escape")  # back to the room's view
            assert app.qa_cursor is None
            await pilot.pause()
            room_view = screen_text(app)
            assert "[red]First[/] question?" in room_view
            assert "Rude one" not in room_view
            assert "1 waiting for approval" in room_view
        finally:
            for phone in phones:
                await phone.connection.close()


FLOOD_DECK = """
title = "Flood"

[[questions]]
id = "panel"
type = "qa"
prompt = "Questions for the panel"
max_length = 500
"""


async def test_after_a_question_flood_the_chair_pages_through_the_queue_and_moderates(
    server_config: ServerConfig,
) -> None:
    """After 550 heavy questions from minted tokens the console still gets states, says
    the Q&A is full, and ↓ past a page's end fetches the next page, ↑ goes back, and h
    hides an item on the second page."""
    server_config.deck = deck_module.from_text(FLOOD_DECK, "flood.toml")
    async with running_server(server_config) as server:
        await chair(server, "toggle_voting")
        assert sum((await flood_questions(server, 110, 5)).values()) == 550
        async with connected(server) as (app, pilot):
            state = app.state
            assert state is not None
            assert state.qa is not None
            assert state.qa.total == 500
            await pilot.press("down")
            first_page = [int(item["id"]) for item in state.qa.page]
            assert app.qa_cursor == first_page[0]
            for _ in range(len(first_page) - 1):
                await pilot.press("down")
            assert app.qa_cursor == first_page[-1]
            await pilot.press("down")  # past the end of the page: the next one is fetched
            await wait_until(
                pilot,
                lambda: (
                    app.state is not None
                    and app.state.qa is not None
                    and app.state.qa.offset == 20
                    and app.qa_cursor == app.state.qa.page[0]["id"]
                ),
            )
            await pilot.pause()
            assert "21–40 of 500" in screen_text(app)
            await pilot.press("up")  # back before the page's start: the previous page
            await wait_until(pilot, lambda: app.qa_cursor == first_page[-1])
            await pilot.press("down")
            await wait_until(
                pilot,
                lambda: (
                    app.state is not None and app.state.qa is not None and app.state.qa.offset == 20
                ),
            )
            target = app.qa_cursor
            assert target is not None
            assert target not in first_page
            await pilot.press("h")
            board = server.session.states["panel"].qa
            assert board is not None
            await wait_until(pilot, lambda: board.items[target].state == "hidden")
            await pilot.press("escape")
            await pilot.pause()
            assert "limit of 500 questions reached" in screen_text(app)


async def test_moderation_keys_are_not_offered_outside_a_qa(
    livepoll_server: LivepollServer,
) -> None:
    """On a choice question ↑↓, a, h and x do nothing and stay out of the footer."""
    async with connected(livepoll_server) as (app, pilot):
        await pilot.press("down", "a", "h", "x")
        await pilot.pause()
        assert app.qa_cursor is None
        text = screen_text(app)
        assert "Moderate" not in text
        assert "Approve" not in text


# -- offline: fixed states, no server ------------------------------------------------------


def _markup_state() -> PresenterState:
    question = Question(
        "q1", "single", "[b]Bold?[/b] prompt", ("[red]x[/]", "[link=http://x]y[/]", "plain")
    )
    return PresenterState(
        title="[i]Deck[/i] title",
        index=0,
        count=1,
        question=question,
        status="open",
        results_shown=True,
        counts=(1, 1, 0),
        respondents=2,
        phones=2,
        storage_problem="[blink]disk[/blink] full",
    )


async def test_user_text_is_never_read_as_markup() -> None:
    """Titles, prompts, options, paths and problems show literally, brackets and all."""
    app = PresenterApp(url=None)
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_welcome(Welcome("http://127.0.0.1:8000/", "/tmp/[u]db[/u].sqlite", "0.1.0"))
        app.apply_state(_markup_state())
        await pilot.pause()
        text = screen_text(app)
        shown_prompt = prompt_is_shown(app, "[b]Bold?[/b] prompt")
    for literal in (
        "[i]Deck[/i] title",
        "[red]x[/]",
        "[link=http://x]y[/]",
        "/tmp/[u]db[/u].sqlite",
        "[blink]disk[/blink] full",
    ):
        assert literal in text
    assert shown_prompt


async def test_storage_problem_shows_a_banner() -> None:
    """A storage problem from the server is shown loudly at the top."""
    app = PresenterApp(url=None)
    async with app.run_test(size=SIZE) as pilot:
        app.apply_state(_markup_state())
        await pilot.pause()
        assert screen_text(app).splitlines()[0].startswith(" ⚠  STORAGE PROBLEM")


async def test_phones_cut_off_from_their_gateways_show_a_banner_until_they_are_back() -> None:
    """An owner on Redis that cannot reach it says so at the top; the banner goes when
    the next state says the gateways' phones reach the room again."""
    problem = "cannot reach Redis at 10.0.0.5:6379: Connection refused"
    app = PresenterApp(url=None)
    async with app.run_test(size=(200, 40)) as pilot:
        app.apply_state(dataclasses.replace(_markup_state(), gateway_problem=problem))
        await pilot.pause()
        text = screen_text(app)
        assert f"PHONES ON GATEWAYS CUT OFF: {problem}" in text
        assert "sent once Redis answers again; tell the organiser." in text
        app.apply_state(dataclasses.replace(_markup_state(), storage_problem=None))
        await pilot.pause()
        assert "CUT OFF" not in screen_text(app)


async def test_keys_without_a_server_do_not_crash() -> None:
    """Offline, each session key only warns, on screen, that nothing was sent."""
    app = PresenterApp(url=None)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("space", "n", "p", "r")
        await wait_until(pilot, lambda: screen_text(app).count("Not connected to the server") == 4)
        assert app.is_running
        assert app.state is None, "no key pretended to change the session"


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/", "ws://127.0.0.1:1"])
async def test_unreachable_server_shows_the_reason(url: str) -> None:
    """A server that cannot be reached shows a reconnecting banner with the reason."""
    app = make_app(url, "token")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.link.phase == "down")
        await pilot.pause()
        text = screen_text(app)
        assert "reconnecting" in text
        assert "refused" in text
        await asyncio.sleep(0)


async def test_c_asks_how_to_rotate_the_room_code(server_config: ServerConfig) -> None:
    """c opens a dialog: esc changes nothing, k rotates keeping admitted phones, a rotates
    and re-admits everyone (the server revokes every admission)."""
    server_config.join_mode = "code"
    async with running_server(server_config) as server, connected(server) as (app, pilot):
        first = server.gate.room_code
        assert first is not None
        connection = await connect(server.audience_url)
        token = new_voter_token()
        await connection.send(json.dumps({"type": "hello", "voter": token, "code": first}))
        assert json.loads(await connection.recv())["type"] == "state"
        admitted = next(iter(server.gate._admitted))
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, RotateScreen))
        assert "Rotate, keep admitted phones" in screen_text(app)
        assert "Rotate and re-admit everyone" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RotateScreen))
        await pilot.pause(0.2)
        assert server.gate.room_code == first
        await pilot.press("c", "k")
        await wait_until(pilot, lambda: server.gate.room_code != first)
        second = server.gate.room_code
        assert server.gate.is_admitted(admitted), "kept: the phone stays admitted"
        await wait_until(pilot, lambda: app.state is not None and second in screen_text(app))
        await pilot.press("c", "a")
        await wait_until(pilot, lambda: server.gate.room_code != second)
        assert not server.gate.is_admitted(admitted), "re-admit: every admission revoked"
        async with asyncio.timeout(10):
            await connection.wait_closed()
