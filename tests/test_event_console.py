"""The presenter console in an event room, against a real event server: the chair sees
where the room is in its programme and moves it to the next deck; the organiser's
watching console shows the room and changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable

from textual.pilot import Pilot

from livepoll.deck import Question
from livepoll.protocol import Programme, encode_command
from livepoll.server.app import LivepollServer
from livepoll.server.conference import ConferenceServer
from livepoll.tui.app import WATCHING_REFUSAL, PresenterApp, make_app
from livepoll.tui.screens import HelpScreen, NextSessionScreen, RotateScreen
from test_tui_units import QA_ITEMS, qa_state

SIZE = (100, 30)


async def wait_until(
    pilot: Pilot[None], condition: Callable[[], bool], within: float = 20.0
) -> None:
    """Let the app run until ``condition`` holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


def screen_text(app: PresenterApp) -> str:
    """Everything on the terminal right now, as plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def notices(app: PresenterApp) -> list[str]:
    """The notifications the app has shown (their text, however a toast wraps it)."""
    return [notification.message for notification in app._notifications]


@contextlib.asynccontextmanager
async def console(
    room: LivepollServer, token: str, *, watch: bool = False
) -> AsyncIterator[tuple[PresenterApp, Pilot[None]]]:
    """The console of ``room`` as 'livepoll present ROOM-URL' starts it, with its first
    state."""
    app = make_app(room.join_url, token, watch=watch)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: app.state is not None and app.welcome is not None)
        await pilot.pause()
        yield app, pilot


async def test_the_chair_sees_the_programme_and_moves_to_the_next_deck(
    front: ConferenceServer,
) -> None:
    """The title bar says 'Session 1 of 2 · next: Closing'; e asks, naming the next deck,
    and y moves the room on: the console then shows the new deck, its first question and
    'Session 2 of 2 · last', and e on the last session only says so."""
    main = front.rooms["main-hall"]
    async with console(main, main.token) as (app, pilot):
        assert "Session 1 of 2 · next: Closing" in screen_text(app)
        await pilot.press("space")
        await wait_until(pilot, lambda: app.state is not None and app.state.status == "open")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, NextSessionScreen))
        await pilot.pause()
        text = screen_text(app)
        assert "“Opening” ends" in text
        assert "“Closing” starts" in text
        await pilot.press("y")
        await wait_until(pilot, lambda: main.programme_index == 1)
        await wait_until(pilot, lambda: app.state is not None and app.state.title == "Closing")
        await pilot.pause()
        text = screen_text(app)
        assert "Session 2 of 2 · last" in text
        assert "Opening" not in text
        assert "Question 1 / 2" in text
        assert app.state is not None
        assert app.state.status == "pending"
        assert app.state.question.prompt == "Closing: ready?"
        await pilot.press("e")
        await wait_until(pilot, lambda: "is the last session of the programme" in screen_text(app))
        assert not isinstance(app.screen, NextSessionScreen)
        assert main.programme_index == 1


async def test_esc_in_the_dialog_keeps_the_session(front: ConferenceServer) -> None:
    """e then esc: the room stays on its deck."""
    main = front.rooms["main-hall"]
    async with console(main, main.token) as (app, pilot):
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, NextSessionScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, NextSessionScreen))
        await asyncio.sleep(0.3)
        assert main.programme_index == 0


async def test_help_and_palette_list_the_next_session_key_in_an_event_room(
    front: ConferenceServer,
) -> None:
    """In an event room, help and the command palette offer 'Next session (e)'."""
    breakout = front.rooms["room-2"]
    async with console(breakout, breakout.token) as (app, pilot):
        commands = [command.title for command in app.get_system_commands(app.screen)]
        assert "Next session (e)" in commands
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        assert "Next session" in screen_text(app)


async def test_a_one_room_server_has_no_next_session_key(
    livepoll_server: LivepollServer,
) -> None:
    """On a one-room server nothing about programmes shows and e is not offered."""
    app = make_app(livepoll_server.base_url, livepoll_server.token)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state is not None)
        await pilot.pause()
        assert app.state is not None
        assert app.state.programme is None
        assert "next_session" not in [key.action for key in app.keys_that_apply()]
        assert "Session 1 of" not in screen_text(app)


async def test_a_watching_console_shows_the_room_and_cannot_change_it(
    front: ConferenceServer,
) -> None:
    """The organiser's token with --watch: a read-only banner; space, e and c only say
    it is read-only; the room is unchanged and no chair counts as attached. A command
    sent anyway is refused by the server. While voting is open, q quits it without
    asking (it runs nothing)."""
    main = front.rooms["main-hall"]
    async with console(main, front.organiser_token, watch=True) as (app, pilot):
        assert app.welcome is not None
        assert app.welcome.read_only
        assert "WATCHING — READ-ONLY" in screen_text(app)
        assert not main.chair_attached
        await pilot.press("space", "n", "e", "c")
        await wait_until(pilot, lambda: notices(app).count(WATCHING_REFUSAL) == 4)
        assert not isinstance(app.screen, (NextSessionScreen, RotateScreen))
        assert app.session_link is not None
        await app.session_link.send(encode_command("open"))
        await wait_until(
            pilot, lambda: any("this console watches the room" in text for text in notices(app))
        )
        await asyncio.sleep(0.2)
        assert main.session.current.status.value == "pending"
        assert main.session.current_index == 0
        assert main.programme_index == 0
        chair = make_app(main.join_url, main.token)
        async with chair.run_test(size=SIZE) as chair_pilot:
            await wait_until(chair_pilot, lambda: chair.state is not None)
            await chair_pilot.press("space")
            await wait_until(pilot, lambda: app.state is not None and app.state.status == "open")
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running)
        assert main.session.current.status.value == "open", "quitting a watcher asks nothing"


async def test_a_watching_console_follows_the_room(front: ConferenceServer) -> None:
    """What the chair does shows on the watching console, the next deck too."""
    main = front.rooms["main-hall"]
    async with (
        console(main, front.organiser_token, watch=True) as (watcher, pilot),
    ):
        chair = make_app(main.join_url, main.token)
        async with chair.run_test(size=SIZE) as chair_pilot:
            await wait_until(chair_pilot, lambda: chair.state is not None)
            await chair_pilot.press("space")
            await wait_until(
                pilot, lambda: watcher.state is not None and watcher.state.status == "open"
            )
        assert await main.next_session() is None
        await wait_until(
            pilot, lambda: watcher.state is not None and watcher.state.title == "Closing"
        )
        await pilot.pause()
        assert "Session 2 of 2 · last" in screen_text(watcher)


async def test_moderation_ends_when_the_next_deck_reuses_the_question_id() -> None:
    """The next deck of a programme may have the same title and question ids: the
    chair's moderation cursor of the old deck does not carry over to it."""
    question = Question("qa", "qa", "Ask us", moderated=True)
    first = qa_state(question, QA_ITEMS, programme=Programme("Main hall", 1, 2, "Deck"))
    app = PresenterApp(url=None)
    async with app.run_test(size=SIZE) as pilot:
        app.apply_state(first)
        await pilot.pause()
        await pilot.press("down")
        await wait_until(pilot, lambda: app.qa_cursor is not None)
        app.apply_state(dataclasses.replace(first, programme=Programme("Main hall", 2, 2, None)))
        await wait_until(pilot, lambda: app.qa_cursor is None)


async def test_e_works_at_80_columns_where_the_footer_has_no_room_for_it(
    front: ConferenceServer,
) -> None:
    """In the main hall (room code: the footer also offers 'c New code') at 80×24 the
    footer's keys fit the width, without 'e Next deck'; e still asks, and help lists it
    once. In the breakout room (no code) the footer has room for it."""
    main = front.rooms["main-hall"]
    app = make_app(main.join_url, main.token)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state is not None)
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert "c New code" in footer
        assert "Next deck" not in footer
        assert len(footer.rstrip()) <= 80
        assert [key.action for key in app.keys_that_apply()].count("next_session") == 1
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, NextSessionScreen))
    breakout = front.rooms["room-2"]
    app = make_app(breakout.join_url, breakout.token)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state is not None)
        await pilot.pause()
        assert "e Next deck" in screen_text(app).splitlines()[-1]
