"""The event server: many rooms on one port and one store, their tokens, their
programmes, and the organiser's control channel, against a real server."""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from clients import Phone, connection_recv, new_voter_token
from livepoll import cli, protocol
from livepoll.event import Event
from livepoll.server.app import LivepollServer, ServerConfig
from livepoll.server.conference import (
    ConferenceServer,
    event_tokens,
    programme_position,
    running_conference,
)
from livepoll.server.limits import RecentCounter
from livepoll.store import Store


async def join(room: LivepollServer, code: str | None = None) -> Phone:
    """A phone in ``room`` (with the room code when the room asks for one)."""
    phone = Phone(await connect(room.audience_url), new_voter_token())
    hello: dict[str, Any] = {"type": "hello", "voter": phone.token}
    if code is not None:
        hello["code"] = code
    await phone.connection.send(json.dumps(hello))
    state = await phone.receive()
    assert state["type"] == "state", state
    return phone


async def console(
    room: LivepollServer, token: str, *, watch: bool = False
) -> tuple[ClientConnection, dict[str, Any]]:
    """A presenter connection to ``room`` with ``token``, and its welcome frame (the
    first state frame is read too)."""
    url = room.presenter_url + ("?watch=1" if watch else "")
    connection = await connect(url, additional_headers={"Authorization": f"Bearer {token}"})
    welcome = await connection_recv(connection)
    state = await connection_recv(connection)
    assert state["type"] == "state"
    return connection, welcome


async def command(
    connection: ClientConnection, action: str, until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Send a presenter command and return the first state that shows it took effect
    (``until``); states the ticker pushed before it are skipped."""
    await connection.send(protocol.encode_command(action))
    while True:
        frame = await connection_recv(connection)
        assert frame["type"] != "error", frame
        if frame["type"] == "state" and until(frame):
            return frame


async def refused(connection: ClientConnection, action: str) -> dict[str, Any]:
    """Send a presenter command the server must refuse, and return its error frame."""
    await connection.send(protocol.encode_command(action))
    while True:
        frame = await connection_recv(connection)
        if frame["type"] == "error":
            return frame


def voting_open(state: dict[str, Any]) -> bool:
    return bool(state["status"] == "open")


def showing(title: str) -> Callable[[dict[str, Any]], bool]:
    return lambda state: bool(state["title"] == title)


async def close_code(phone: Phone) -> int | None:
    """Read a phone's frames until the server closes it; the close code it sent."""
    try:
        while True:
            await phone.receive()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def get(url: str) -> tuple[int, dict[str, str], str]:
    """Status, headers and text of a GET that does not follow redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


async def stored(database: Path) -> list[tuple[Any, ...]]:
    """(session, room, deck title, question, answer) of every stored response."""
    connection = sqlite3.connect(database)
    try:
        return connection.execute(
            "SELECT r.session_id, s.room, s.deck_title, r.question_id, r.answer"
            " FROM responses r JOIN sessions s ON s.id = r.session_id ORDER BY 1, 5"
        ).fetchall()
    finally:
        connection.close()


# --- pages ---------------------------------------------------------------------------


async def test_the_root_lists_every_room_with_a_link(front: ConferenceServer) -> None:
    """Someone who typed only the host name gets the rooms, each linked to its page."""
    status, headers, body = await asyncio.to_thread(get, front.base_url)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src" not in headers["Content-Security-Policy"]
    assert '<a href="/r/main-hall/">Main hall</a>' in body
    assert '<a href="/r/room-2/">Breakout 2</a>' in body
    assert "<h1>Test conference</h1>" in body


async def test_a_room_that_does_not_exist_says_so_and_lists_the_rooms(
    front: ConferenceServer,
) -> None:
    """/r/nope/ is a 404 page naming the missing room, escaped, with every room linked."""
    status, _, body = await asyncio.to_thread(get, front.base_url + "r/nope<script>/")
    assert status == 404
    assert "This room does not exist" in body
    assert "“nope&lt;script&gt;”" in body
    assert "<script>" not in body
    assert '<a href="/r/room-2/">Breakout 2</a>' in body


async def test_a_room_without_its_slash_is_redirected_and_its_page_is_served(
    front: ConferenceServer,
) -> None:
    """/r/main-hall redirects to /r/main-hall/, which is the voting page, whose files
    load from below the room."""
    status, headers, _ = await asyncio.to_thread(get, front.base_url + "r/main-hall")
    assert status == 301
    assert headers["Location"] == "/r/main-hall/"
    status, _, page = await asyncio.to_thread(get, front.base_url + "r/main-hall/")
    assert status == 200
    assert 'src="app.js"' in page
    status, _, script = await asyncio.to_thread(get, front.base_url + "r/main-hall/app.js")
    assert status == 200
    assert "WebSocket" in script
    status, _, health = await asyncio.to_thread(get, front.base_url + "healthz")
    assert (status, json.loads(health)) == (200, {"status": "ok"})


async def test_each_room_has_its_own_join_url_and_screen(front: ConferenceServer) -> None:
    """Every room's join URL, QR and screen URL sit below /r/<id>/."""
    main, breakout = front.rooms["main-hall"], front.rooms["room-2"]
    assert main.join_url == f"{front.join_url}r/main-hall/"
    assert breakout.join_url == f"{front.join_url}r/room-2/"
    assert main.join_info().url.startswith(main.join_url + "?code=")
    assert breakout.join_info().url == breakout.join_url
    assert breakout.screen_url.startswith(breakout.join_url + "screen?token=")
    status, _, page = await asyncio.to_thread(get, breakout.base_url + "screen")
    assert status == 200
    assert "screen.js" in page


# --- voting in several rooms ---------------------------------------------------------


async def test_rooms_vote_at_once_each_into_its_own_session(front: ConferenceServer) -> None:
    """Twenty phones in each room vote at the same time: every vote is acked, and
    stored once, in its room's session."""
    main, breakout = front.rooms["main-hall"], front.rooms["room-2"]
    for room, token in ((main, main.token), (breakout, breakout.token)):
        chair, _ = await console(room, token)
        await command(chair, "open", voting_open)
        await chair.close()
    code = main.gate.room_code
    phones = [await join(main, code) for _ in range(20)] + [await join(breakout) for _ in range(20)]
    answers = [phone.vote("pick", n % 2) for n, phone in enumerate(phones)]
    replies = await asyncio.gather(*answers)
    assert [reply["type"] for reply in replies] == ["ack"] * 40
    rows = await stored(main.store.path)
    by_room: dict[str, int] = {}
    for _, room_id, title, question, _ in rows:
        by_room[room_id] = by_room.get(room_id, 0) + 1
        assert title == ("Opening" if room_id == "main-hall" else "Breakout")
        assert question == "pick"
    assert by_room == {"main-hall": 20, "room-2": 20}
    assert main.session.current.respondents == breakout.session.current.respondents == 20
    for phone in phones:
        await phone.connection.close()


async def test_a_rooms_token_opens_that_room_and_no_other(front: ConferenceServer) -> None:
    """The main hall's token is refused by room 2's console channel (401): a chair
    cannot move another room. The organiser's token opens both."""
    main, breakout = front.rooms["main-hall"], front.rooms["room-2"]
    with pytest.raises(InvalidStatus) as refused:
        await connect(
            breakout.presenter_url, additional_headers={"Authorization": f"Bearer {main.token}"}
        )
    assert refused.value.response.status_code == 401
    chair, _ = await console(breakout, breakout.token)
    await command(chair, "open", voting_open)
    await chair.close()
    assert main.session.current.status.value == "pending"
    for room in (main, breakout):
        organiser, welcome = await console(room, front.organiser_token)
        assert welcome["read_only"] is False
        await organiser.close()


# --- the programme -------------------------------------------------------------------


async def test_moving_on_starts_the_next_deck_and_phones_follow_without_a_new_code(
    front: ConferenceServer,
) -> None:
    """The chair's next_session ends the session and starts the next deck as a new one;
    a phone is told to reconnect (1012), and with the code it already had it is in the
    new session; the other room does not notice."""
    main, breakout = front.rooms["main-hall"], front.rooms["room-2"]
    code = main.gate.room_code
    first = main.session_id
    breakout_session = breakout.session_id
    phone = await join(main, code)
    chair, _ = await console(main, main.token)
    state = await command(chair, "next_session", showing("Closing"))
    assert state["title"] == "Closing"
    assert state["programme"] == {
        "room": "Main hall",
        "position": 2,
        "length": 2,
        "next_title": None,
    }
    assert await close_code(phone) == 1012
    again = await join(main, code)
    assert main.gate.room_code == code
    await again.connection.close()
    assert main.session_id != first
    assert breakout.session_id == breakout_session
    connection = sqlite3.connect(main.store.path)
    sessions = connection.execute(
        "SELECT id, room, deck_title, ended_at IS NOT NULL FROM sessions ORDER BY id"
    ).fetchall()
    connection.close()
    assert sessions == [
        (first, "main-hall", "Opening", 1),
        (breakout_session, "room-2", "Breakout", 0),
        (main.session_id, "main-hall", "Closing", 0),
    ]
    refusal = await refused(chair, "next_session")
    assert refusal["type"] == "error"
    assert refusal["code"] == "no_next_session"
    assert "last session of the programme in Main hall" in refusal["message"]
    await chair.close()


async def test_a_one_room_server_refuses_to_move_on(livepoll_server: LivepollServer) -> None:
    """Without a programme there is no next deck: the chair is told how to start one."""
    chair, _ = await console(livepoll_server, livepoll_server.token)
    refusal = await refused(chair, "next_session")
    assert refusal["code"] == "no_next_session"
    assert "livepoll run" in refusal["message"]
    await chair.close()


async def test_a_restarted_event_server_resumes_every_room_where_it_was(
    event: Event, event_config: ServerConfig
) -> None:
    """Stopping the server ends no session: each room comes back in the same session of
    its programme, with its answers and the same tokens."""
    async with running_conference(event, event_config) as first:
        main = first.rooms["main-hall"]
        tokens = (first.organiser_token, main.token, first.rooms["room-2"].token)
        chair, _ = await console(main, main.token)
        await command(chair, "next_session", showing("Closing"))
        await command(chair, "open", voting_open)
        await chair.close()
        phone = await join(main, main.gate.room_code)
        assert (await phone.vote("pick", 1))["type"] == "ack"
        await phone.connection.close()
        sessions = {room_id: room.session_id for room_id, room in first.rooms.items()}
    async with running_conference(event, event_config) as second:
        main = second.rooms["main-hall"]
        assert {room_id: room.session_id for room_id, room in second.rooms.items()} == sessions
        assert main.resumed
        assert main.session.deck.title == "Closing"
        assert main.programme_index == 1
        assert main.session.current.respondents == 1
        assert (second.organiser_token, main.token, second.rooms["room-2"].token) == tokens


async def test_the_programme_position_follows_the_rooms_sessions(
    event: Event, tmp_path: Path
) -> None:
    """No session: the first deck, new. The last one unfinished: it resumes. The last
    one ended: the next deck, new; past the end: the last deck again."""
    room = event.rooms[0]
    store = await Store.open(tmp_path / "position.db")
    try:
        assert await programme_position(store, room) == (0, "new")
        first = await store.begin_session(room.decks[0], "new", 1.0, room=room.id)
        assert await programme_position(store, room) == (0, "auto")
        await store.end_session(first.id, 2.0)
        assert await programme_position(store, room) == (1, "new")
        second = await store.begin_session(room.decks[1], "new", 3.0, room=room.id)
        assert await programme_position(store, room) == (1, "auto")
        await store.end_session(second.id, 4.0)
        assert await programme_position(store, room) == (1, "resume")
        assert await programme_position(store, event.rooms[1]) == (0, "new")
    finally:
        await store.close()


# --- the organiser -------------------------------------------------------------------


async def control(front: ConferenceServer, token: str | None = None) -> ClientConnection:
    """The control channel with the organiser's token (or another)."""
    url = front.base_url.replace("http://", "ws://") + "control"
    return await connect(
        url, additional_headers={"Authorization": f"Bearer {token or front.organiser_token}"}
    )


async def next_summary(
    connection: ClientConnection, until: Any = lambda summary: True
) -> protocol.EventSummary:
    """The next control frame that satisfies ``until``."""
    while True:
        frame = protocol.decode_event_frame(await connection.recv())
        assert isinstance(frame, protocol.EventSummary), frame
        if until(frame):
            return frame


async def control_error(connection: ClientConnection) -> dict[str, Any]:
    """The next error frame on the control channel (summaries before it are skipped)."""
    while True:
        frame = await connection_recv(connection)
        if frame["type"] == "error":
            return frame


async def test_the_control_room_sees_every_room_live(front: ConferenceServer) -> None:
    """One row per room with its deck, question, status, phones, answers in the last
    minute and whether a chair is attached; a vote shows within a couple of seconds."""
    watcher = await control(front)
    summary = await next_summary(watcher)
    assert summary.title == "Test conference"
    assert summary.storage_problem is None
    main_row, breakout_row = summary.rooms
    assert (main_row.id, main_row.name, main_row.deck) == ("main-hall", "Main hall", "Opening")
    assert (main_row.position, main_row.length, main_row.next_title) == (1, 2, "Closing")
    assert (main_row.question, main_row.status, main_row.phones) == (
        "Opening: ready?",
        "pending",
        0,
    )
    assert not main_row.chair_attached
    assert (breakout_row.id, breakout_row.next_title) == ("room-2", None)
    breakout = front.rooms["room-2"]
    chair, _ = await console(breakout, breakout.token)
    await command(chair, "open", voting_open)
    phone = await join(breakout)
    assert (await phone.vote("pick", 0))["type"] == "ack"
    row = (
        await next_summary(watcher, lambda summary: summary.rooms[1].answers_last_minute == 1)
    ).rooms[1]
    assert (row.status, row.phones, row.chair_attached) == ("open", 1, True)
    await chair.close()
    await phone.connection.close()
    await watcher.close()


async def test_the_control_room_moves_a_room_on_and_hears_refusals(
    front: ConferenceServer,
) -> None:
    """next_session from the control room moves that room only; a room at its last
    session and an unknown room are refused with a reason."""
    watcher = await control(front)
    await next_summary(watcher)
    await watcher.send(protocol.encode_control_command("next_session", "main-hall"))
    moved = await next_summary(watcher, lambda summary: summary.rooms[0].position == 2)
    assert moved.rooms[0].deck == "Closing"
    assert moved.rooms[1].position == 1
    await watcher.send(protocol.encode_control_command("next_session", "room-2"))
    refusal = await control_error(watcher)
    assert refusal["code"] == "no_next_session"
    await watcher.send(protocol.encode_control_command("next_session", "attic"))
    unknown = await control_error(watcher)
    assert unknown["code"] == "no_such_room"
    assert "main-hall, room-2" in unknown["message"]
    await watcher.send('{"type": "control", "action": "demolish", "room": "room-2"}')
    assert (await control_error(watcher))["code"] == "bad_command"
    await watcher.close()


async def test_the_control_room_refuses_a_rooms_token_and_a_wrong_one(
    front: ConferenceServer,
) -> None:
    """Only the organiser's token opens /control: a room's token and a guess get 401."""
    for token in (front.rooms["main-hall"].token, secrets.token_urlsafe(24)):
        with pytest.raises(InvalidStatus) as refused:
            await control(front, token)
        assert refused.value.response.status_code == 401


async def test_a_watching_console_changes_nothing_and_is_not_the_chair(
    front: ConferenceServer,
) -> None:
    """With ?watch the organiser's console gets the room's state, is told it is
    read-only, and each command is refused; it does not count as the chair."""
    main = front.rooms["main-hall"]
    watching, welcome = await console(main, front.organiser_token, watch=True)
    assert welcome["read_only"] is True
    assert not main.chair_attached
    for action in ("open", "next", "next_session"):
        refusal = await refused(watching, action)
        assert (refusal["type"], refusal["code"]) == ("error", "read_only")
    assert main.session.current.status.value == "pending"
    assert main.session_id == main.summary(0).session
    chair, _ = await console(main, main.token)
    assert main.chair_attached
    await chair.close()
    await watching.close()


# --- the command line ----------------------------------------------------------------


async def test_tokens_prints_the_tokens_the_server_uses(
    front: ConferenceServer, event: Event, capsys: pytest.CaptureFixture[str]
) -> None:
    """'livepoll tokens' on the event's database prints the very tokens the running
    server accepts, and each room's URLs below --url."""
    code = await asyncio.to_thread(
        cli.main,
        ["tokens", event.source, "--db", str(front.store.path), "--url", "https://poll.test"],
    )
    out = capsys.readouterr().out
    assert code == 0
    assert f"organiser: {front.organiser_token}" in out
    for room_id, room in front.rooms.items():
        assert f"presenter: {room.token}" in out
        assert f"https://poll.test/r/{room_id}/ --token {room.token}" in out
    assert len(set(event_tokens(b"x" * 32, event).presenters.values())) == 2


def test_serve_refuses_a_token_or_a_join_mode_for_an_event(
    event: Event, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event server makes its own tokens and each room has its join mode: giving
    either on the command line is a clear error, not silently ignored."""
    database = str(tmp_path / "x.db")
    token = secrets.token_urlsafe(24)
    assert cli.main(["serve", event.source, "--db", database, "--token", token]) == 2
    assert "makes its own tokens" in capsys.readouterr().err
    assert cli.main(["serve", event.source, "--db", database, "--join", "code"]) == 2
    assert "--join does not apply to an event" in capsys.readouterr().err


def test_the_answers_counter_keeps_one_minute() -> None:
    """Answers older than the window drop out; the counter never grows."""
    counter = RecentCounter(60)
    for second in range(100):
        counter.add(1_000.0 + second)
        counter.add(1_000.5 + second)
    assert counter.total(1_099.9) == 120
    assert counter.total(1_130.0) == 58  # seconds 1071 to 1099
    assert counter.total(1_200.0) == 0


def test_control_frames_round_trip_and_refuse_nonsense() -> None:
    """The control channel's frames decode to what was encoded; a malformed one is a
    ProtocolError, never a crash."""
    row = protocol.RoomSummary(
        "r", "R", "http://x/r/r/", "Deck", 1, 2, "Next", "Q?", 0, 3, "open", 5, 7, True, 9
    )
    decoded = protocol.decode_event_frame(protocol.encode_event_summary("T", [row], "disk"))
    assert decoded == protocol.EventSummary("T", (row,), "disk")
    cut_off = protocol.encode_event_summary("T", [row], None, "cannot reach Redis")
    assert protocol.decode_event_frame(cut_off) == protocol.EventSummary(
        "T", (row,), None, "cannot reach Redis"
    )
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_event_frame('{"type": "event", "title": "T", "rooms": [{"id": 1}]}')
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_control_command('{"type": "control", "action": "next_session"}')
    assert protocol.decode_control_command(
        protocol.encode_control_command("next_session", "r")
    ) == protocol.ControlCommand("next_session", "r")
