"""The organiser's control room driven by keys (Textual's Pilot) against a real event
server: its rows follow the rooms, it moves a room on, it opens a room's console (the
real ``livepoll present`` in a pseudo-terminal), and it survives a lost server and any
frame.

Set LIVEPOLL_SCREENSHOT_DIR to also save the README's picture of it
(``docs/img/control-room.png``, 120×30, drawn by the app and rendered by Chromium).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import pty
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from clients import Phone, connection_recv, new_voter_token
from livepoll import cli, protocol
from livepoll.event import Event
from livepoll.presenter_token import ORGANISER_TOKEN_ENV, TOKEN_ENV
from livepoll.server.app import LivepollServer, ServerConfig
from livepoll.server.conference import ConferenceServer, running_conference
from livepoll.tui.control import ControlApp, ControlRefused, SummaryReceived, make_control_app
from livepoll.tui.screens import HelpScreen, NextSessionScreen

SIZE = (120, 30)
"""The control room on an organiser's laptop: wide enough for every column."""


async def wait_until(
    pilot: Pilot[None], condition: Callable[[], bool], within: float = 20.0
) -> None:
    """Let the app run until ``condition`` holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


def screen_text(app: ControlApp) -> str:
    """Everything on the terminal right now, as plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def cell(app: ControlApp, room: str, column: str) -> str:
    """The text of one cell of the rooms' table, as drawn."""
    table: DataTable[str] = app.screen.query_one("#rooms", DataTable)
    return str(table.get_cell(room, column))


def notices(app: ControlApp) -> list[str]:
    """The notifications the app has shown (their text, however a toast wraps it)."""
    return [notification.message for notification in app._notifications]


class Opened:
    """Records the consoles the control room asks to run, instead of running them in
    a terminal Pilot does not have (the real child runs in
    :func:`test_the_console_command_attaches_a_watching_console_in_a_terminal`)."""

    def __init__(self) -> None:
        self.runs: list[tuple[list[str], dict[str, str]]] = []

    def __call__(self, command: list[str], environment: dict[str, str]) -> int:
        self.runs.append((command, environment))
        return 0


@contextlib.asynccontextmanager
async def control_room(
    front: ConferenceServer, opened: Opened | None = None
) -> AsyncIterator[tuple[ControlApp, Pilot[None]]]:
    """The control room on ``front`` with the organiser's token, showing both rooms."""
    app = make_control_app(front.base_url, front.organiser_token, open_room=opened or Opened())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: app.summary is not None and len(app.summary.rooms) == 2)
        await pilot.pause()
        yield app, pilot


async def join(room: LivepollServer) -> Phone:
    """A phone in ``room``, with its room code when it asks for one."""
    phone = Phone(await connect(room.audience_url), new_voter_token())
    hello: dict[str, Any] = {"type": "hello", "voter": phone.token}
    if room.gate.room_code is not None:
        hello["code"] = room.gate.room_code
    await phone.connection.send(json.dumps(hello))
    assert (await phone.receive())["type"] == "state"
    return phone


async def chair(room: LivepollServer) -> ClientConnection:
    """A chair's console connection to ``room`` (welcome and first state read)."""
    connection = await connect(
        room.presenter_url, additional_headers={"Authorization": f"Bearer {room.token}"}
    )
    await connection_recv(connection)
    await connection_recv(connection)
    return connection


async def test_the_control_room_lists_every_room_with_live_figures(
    front: ConferenceServer,
) -> None:
    """Both rooms have a row with deck, session, question and voting in words; a chair
    attaching, voting opening, three phones joining and two voting in room 2 show in
    its row within the control channel's second, and the main hall's row does not
    move."""
    async with control_room(front) as (app, pilot):
        text = screen_text(app)
        for words in ("Test conference", "Main hall", "Breakout 2", "Opening", "Breakout"):
            assert words in text
        assert "Storage: healthy" in text
        assert cell(app, "main-hall", "session") == "1 of 2"
        assert cell(app, "room-2", "session") == "1 of 1"
        assert cell(app, "main-hall", "question") == "Q1/2 Opening: ready?"
        assert cell(app, "room-2", "voting") == "waiting"
        assert cell(app, "room-2", "chair") == "not attached"
        breakout = front.rooms["room-2"]
        console = await chair(breakout)
        await console.send(protocol.encode_command("open"))
        phones = [await join(breakout) for _ in range(3)]
        replies = await asyncio.gather(*(phone.vote("pick", 0) for phone in phones[:2]))
        assert [reply["type"] for reply in replies] == ["ack"] * 2
        await wait_until(pilot, lambda: cell(app, "room-2", "answers") == "2")
        await pilot.pause()
        assert cell(app, "room-2", "phones") == "3"
        assert cell(app, "room-2", "voting") == "OPEN"
        assert cell(app, "room-2", "chair") == "attached"
        assert (cell(app, "main-hall", "answers"), cell(app, "main-hall", "phones")) == ("0", "0")
        await _picture(app, pilot)
        await console.close()
        await wait_until(pilot, lambda: cell(app, "room-2", "chair") == "not attached")
        for phone in phones:
            await phone.connection.close()


async def _picture(app: ControlApp, pilot: Pilot[None]) -> None:
    """The README's picture: the app's own screenshot at 120×30, rendered as PNG by
    Debian's Chromium (only when LIVEPOLL_SCREENSHOT_DIR is set)."""
    directory = os.environ.get("LIVEPOLL_SCREENSHOT_DIR")
    if not directory:
        return
    from browser_helpers import chromium

    await pilot.pause()
    svg = app.export_screenshot(title="livepoll control")
    async with chromium() as browser:
        page = await browser.new_page(device_scale_factor=1)
        await page.set_content(f"<body style='margin:0;background:#000'>{svg}</body>")
        await page.locator("svg").first.screenshot(path=str(Path(directory) / "control-room.png"))
        await page.close()


async def test_n_moves_the_selected_room_on_after_confirming(front: ConferenceServer) -> None:
    """n asks first, naming the next deck; 'Stay' (enter on it, or n) changes nothing;
    'y' moves the main hall to its second deck and the row follows; on its last
    session n only says so."""
    main = front.rooms["main-hall"]
    opened = Opened()
    async with control_room(front, opened) as (app, pilot):
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NextSessionScreen))
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, NextSessionScreen))
        assert opened.runs == [], "enter in the dialog is its focused 'Stay', not 'open'"
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NextSessionScreen))
        await pilot.pause()
        text = screen_text(app)
        assert "Move Main hall to its next session?" in text
        assert "“Opening” ends" in text
        assert "“Closing” starts" in text
        await pilot.press("n")
        await wait_until(pilot, lambda: not isinstance(app.screen, NextSessionScreen))
        await asyncio.sleep(0.3)
        assert main.programme_index == 0
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NextSessionScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: main.programme_index == 1)
        await wait_until(pilot, lambda: cell(app, "main-hall", "deck") == "Closing")
        assert cell(app, "main-hall", "session") == "2 of 2"
        assert cell(app, "main-hall", "question") == "Q1/2 Closing: ready?"
        await pilot.pause()
        assert "last session of its programme" in screen_text(app)
        await pilot.press("n")
        await wait_until(pilot, lambda: any("no next deck" in text for text in notices(app)))
        assert not isinstance(app.screen, NextSessionScreen)
        assert main.programme_index == 1


async def test_a_refusal_from_the_server_is_shown(front: ConferenceServer) -> None:
    """A room moved on by someone else while the dialog was open: the server refuses
    the second move, and the control room says why."""
    main = front.rooms["main-hall"]
    async with control_room(front) as (app, pilot):
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NextSessionScreen))
        assert await main.next_session() is None
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: any("last session of the programme in Main hall" in t for t in notices(app)),
        )
        assert main.programme_index == 1


async def test_enter_and_w_open_the_selected_rooms_console(front: ConferenceServer) -> None:
    """Enter runs 'livepoll present' of the selected room, w the same with --watch; the
    organiser's token goes in the child's environment, never on its command line."""
    opened = Opened()
    async with control_room(front, opened) as (app, pilot):
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: len(opened.runs) == 1)
        await pilot.press("up", "w")
        await wait_until(pilot, lambda: len(opened.runs) == 2)
    (in_control, environment), (watching, _) = opened.runs
    assert in_control[1:] == ["-m", "livepoll", "present", front.rooms["room-2"].join_url]
    assert watching[1:] == [
        "-m",
        "livepoll",
        "present",
        front.rooms["main-hall"].join_url,
        "--watch",
    ]
    assert environment[TOKEN_ENV] == front.organiser_token
    assert all(front.organiser_token not in argument for argument in in_control + watching)


async def test_the_console_command_attaches_a_watching_console_in_a_terminal(
    front: ConferenceServer,
) -> None:
    """What w runs, run for real in a pseudo-terminal: the room gets a watching console
    (no chair attached), and q ends it."""
    opened = Opened()
    async with control_room(front, opened) as (_, pilot):
        await pilot.press("w")
        await wait_until(pilot, lambda: len(opened.runs) == 1)
    command, environment = opened.runs[0]
    main = front.rooms["main-hall"]
    leader, follower = pty.openpty()
    environment = environment | {"TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    child = await asyncio.create_subprocess_exec(
        *command, stdin=follower, stdout=follower, stderr=follower, env=environment
    )
    os.close(follower)
    drained = asyncio.get_running_loop().run_in_executor(None, _drain, leader)
    try:
        deadline = time.monotonic() + 30
        while not main.presenters:
            assert time.monotonic() < deadline, "the console did not attach"
            await asyncio.sleep(0.05)
        assert main._watching == main.presenters
        assert not main.chair_attached
        os.write(leader, b"q")
        assert await asyncio.wait_for(child.wait(), 20) == 0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        os.close(leader)
        await drained


def _drain(leader: int) -> None:
    """Read what the child draws until its terminal closes (a full one would block it)."""
    with contextlib.suppress(OSError):
        while os.read(leader, 65536):
            pass


async def test_a_wrong_organiser_token_is_said_clearly(front: ConferenceServer) -> None:
    """A wrong token: no rows, and a banner naming the organiser token and where to
    find it."""
    app = make_control_app(front.base_url, "not-the-organiser-token-at-all-0123456789")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.link.phase == "down")
        await pilot.pause()
        text = screen_text(app)
        assert "the server refused the organiser token" in text
        assert "livepoll tokens" in text
        assert app.summary is None


def test_control_without_a_token_says_how_to_give_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No token anywhere: one line saying where to get it and how to pass it."""
    monkeypatch.delenv(ORGANISER_TOKEN_ENV, raising=False)
    assert cli.main(["control", "http://127.0.0.1:1/"]) == 2
    error = capsys.readouterr().err
    assert "control needs the organiser token" in error
    assert ORGANISER_TOKEN_ENV in error
    assert len(error.strip().splitlines()) == 1


def test_control_with_a_url_it_cannot_use_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """An address that is not http(s) or ws(s): one line naming it."""
    token = "A" * 32
    assert cli.main(["control", "ftp://poll.example.org/", "--token", token]) == 2
    error = capsys.readouterr().err
    assert error == "livepoll: unsupported scheme 'ftp' in 'ftp://poll.example.org/'\n"


async def test_the_control_room_reconnects_when_the_server_comes_back(
    event: Event, event_config: ServerConfig
) -> None:
    """The server stops: 'reconnecting…' with the last rows kept; it starts again on the
    same port and database: the rows are live again."""
    stack = contextlib.AsyncExitStack()
    first = await stack.enter_async_context(running_conference(event, event_config))
    port = first.port
    app = make_control_app(first.base_url, first.organiser_token)
    async with app.run_test(size=SIZE) as pilot:
        try:
            await wait_until(pilot, lambda: app.summary is not None)
            assert await first.rooms["main-hall"].next_session() is None
            await wait_until(pilot, lambda: cell(app, "main-hall", "deck") == "Closing")
        finally:
            await stack.aclose()
        await wait_until(pilot, lambda: app.link.phase == "down")
        await pilot.pause()
        assert "reconnecting" in screen_text(app)
        assert cell(app, "main-hall", "deck") == "Closing"
        async with running_conference(event, dataclasses.replace(event_config, port=port)):
            await wait_until(pilot, lambda: app.link.phase == "up", within=30)
            await pilot.pause()
            assert cell(app, "main-hall", "session") == "2 of 2"
            assert "reconnecting" not in screen_text(app)


def room_row(name: str) -> protocol.RoomSummary:
    """One open room ``a`` of one deck, named ``name``, with 7 phones, as a control
    room summary carries it (for a server of the test's own)."""
    return protocol.RoomSummary(
        id="a",
        name=name,
        url="http://127.0.0.1/r/a/",
        deck="Deck",
        position=1,
        length=1,
        next_title=None,
        question="Q?",
        index=0,
        count=1,
        status="open",
        phones=7,
        answers_last_minute=5,
        chair_attached=True,
        session=1,
    )


async def test_the_control_room_survives_any_frame() -> None:
    """Frames no event server sends (binary, not JSON, wrong shapes, unknown types, a
    room with fields of the wrong type) are skipped; the next good summary is drawn."""
    good = protocol.encode_event_summary(
        "Odd server",
        [room_row("[red]Room A[/]")],
        "disk full",
    )
    bad: list[str | bytes] = [
        b"\x00\xff",
        "not json",
        "[]",
        '{"type": "event"}',
        '{"type": "event", "title": "x", "rooms": [{"id": 1}]}',
        '{"type": "event", "title": "x", "rooms": [{"phones": "many"}]}',
        '{"type": "strange"}',
        json.dumps({"type": "event", "title": "x", "rooms": "abc"}),
        "[" * 10_000,
    ]

    async def handler(connection: ServerConnection) -> None:
        for frame in bad:
            await connection.send(frame)
        await connection.send(good)
        await connection.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        app = make_control_app(f"http://127.0.0.1:{port}/", "t")
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.summary is not None)
            await pilot.pause()
            text = screen_text(app)
            assert "[red]Room A[/]" in text
            assert "STORAGE PROBLEM: disk full" in text
            assert cell(app, "a", "phones") == "7"
            assert app.link.phase == "up"


async def test_the_control_room_says_while_phones_on_gateways_are_cut_off() -> None:
    """An event owned on Redis that cannot reach it shows a banner naming the problem;
    the next summary without it takes the banner away."""
    problem = "cannot reach Redis at 10.0.0.5:6379: Connection refused"
    room = room_row("Room A")
    healthy = asyncio.Event()

    async def handler(connection: ServerConnection) -> None:
        await connection.send(protocol.encode_event_summary("Event", [room], None, problem))
        await healthy.wait()
        await connection.send(protocol.encode_event_summary("Event", [room], None, None))
        await connection.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        app = make_control_app(f"http://127.0.0.1:{port}/", "t")
        async with app.run_test(size=(200, 30)) as pilot:
            await wait_until(pilot, lambda: app.summary is not None)
            await pilot.pause()
            assert f"PHONES ON GATEWAYS CUT OFF: {problem}" in screen_text(app)
            assert "Storage: healthy" in screen_text(app)
            healthy.set()
            await wait_until(
                pilot, lambda: app.summary is not None and not app.summary.gateway_problem
            )
            await pilot.pause()
            assert "CUT OFF" not in screen_text(app)


async def test_help_lists_the_control_rooms_keys(front: ConferenceServer) -> None:
    """? shows every key with what it does; the palette offers the same by name."""
    async with control_room(front) as (app, pilot):
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        text = screen_text(app)
        for words in ("Open the room's console", "Watch the room's console", "Next session"):
            assert words in text
        await pilot.press("escape")
        commands = [command.title for command in app.get_system_commands(app.screen)]
        assert "Next session (n)" in commands


def test_a_newer_summary_replaces_one_still_waiting_to_be_drawn() -> None:
    """A burst of summaries is drawn once: each replaces the one before it in the queue."""
    older = SummaryReceived(protocol.EventSummary("E", ()))
    newer = SummaryReceived(protocol.EventSummary("E", (), "disk full"))
    assert newer.can_replace(older)
    assert not newer.can_replace(ControlRefused("no_next_session", "last"))


async def test_livepoll_control_in_a_terminal_hands_it_to_a_rooms_console_and_back(
    front: ConferenceServer,
) -> None:
    """The real 'livepoll control' in a pseudo-terminal: w hands the terminal to the
    main hall's console, watching; q there quits it and the control room is back (it
    answers q by quitting itself). The token travels only in the environment."""
    main = front.rooms["main-hall"]
    environment = os.environ | {
        ORGANISER_TOKEN_ENV: front.organiser_token,
        "TERM": "xterm-256color",
        "COLUMNS": "120",
        "LINES": "30",
    }
    environment.pop(TOKEN_ENV, None)
    leader, follower = pty.openpty()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "livepoll",
        "control",
        front.base_url,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=environment,
    )
    os.close(follower)
    drained = asyncio.get_running_loop().run_in_executor(None, _drain, leader)

    async def until(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, what
            await asyncio.sleep(0.05)

    try:
        await until(lambda: bool(front.controllers), "the control room did not connect")
        await asyncio.sleep(0.5)
        os.write(leader, b"w")
        await until(lambda: bool(main.presenters), "no console was opened")
        assert main._watching == main.presenters
        await asyncio.sleep(0.5)
        os.write(leader, b"q")
        await until(lambda: not main.presenters, "the room's console did not quit")
        await asyncio.sleep(1.0)
        assert child.returncode is None, "the control room came back, still running"
        os.write(leader, b"q")
        assert await asyncio.wait_for(child.wait(), 20) == 0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        os.close(leader)
        await drained
