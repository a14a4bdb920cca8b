"""The AV desk's screen channel: it shows the room's view, live, and controls nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zxingcpp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from clients import chair, connection_recv, open_phone, open_presenter
from livepoll import deck as deck_module
from livepoll import protocol
from livepoll.server import screen as screen_module
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from livepoll.server.guard import PRESENTER_LIMITS
from livepoll.server.screen import (
    SCREEN_TOKEN_ENV,
    ScreenTokenError,
    qr_path,
    screen_token_from_environment,
)

ROOM_DECK = """
title = "Room"

[[questions]]
id = "panel"
type = "qa"
prompt = "Questions for the panel"
moderated = true

[[questions]]
id = "capital"
type = "quiz"
prompt = "Capital of France?"
options = ["Paris", "Lyon", "Nice"]
correct = "Paris"
"""

WAIT = 10.0


def screen_url(server: LivepollServer) -> str:
    """The loopback address of the screen channel."""
    return server.audience_url.removesuffix("/ws") + "/screen-ws"


async def open_screen(server: LivepollServer, token: str | None = None) -> ClientConnection:
    """Connect to the screen channel and present ``token`` (the server's, by default)."""
    connection = await connect(screen_url(server))
    await connection.send(
        json.dumps({"type": "screen", "token": token or server.config.screen_token})
    )
    return connection


async def screen_state(
    connection: ClientConnection, predicate: Callable[[dict[str, Any]], bool] = lambda s: True
) -> dict[str, Any]:
    """The first screen state that satisfies ``predicate``."""
    async with asyncio.timeout(WAIT):
        while True:
            frame = await connection_recv(connection)
            assert frame["type"] == "screen_state", frame
            if predicate(frame):
                return frame


async def refusal(
    server: LivepollServer, token: str | None = None
) -> tuple[int | None, str | None]:
    """Present ``token`` on the screen channel and wait to be closed; the code and reason."""
    connection = await connect(screen_url(server))
    with contextlib.suppress(ConnectionClosed):  # a waiting address is closed at once
        await connection.send(
            json.dumps({"type": "screen", "token": token or server.config.screen_token})
        )
    return await closed_reason(connection)


async def closed_reason(connection: ClientConnection) -> tuple[int | None, str | None]:
    """Wait for the server to close ``connection``; its close code and reason."""
    async with asyncio.timeout(WAIT):
        try:
            while True:
                await connection.recv()
        except ConnectionClosed as closed:
            frame = closed.rcvd
    return (frame.code, frame.reason) if frame else (None, None)


@pytest.fixture
async def room_server(tmp_path: Path) -> AsyncIterator[LivepollServer]:
    """A server on a moderated Q&A then a quiz."""
    config = ServerConfig(
        deck=deck_module.from_text(ROOM_DECK, "room.toml"),
        database=tmp_path / "room.db",
        host="127.0.0.1",
        port=0,
    )
    async with running_server(config) as server:
        yield server


async def ask(server: LivepollServer, text: str) -> int:
    """A phone posts ``text`` to the Q&A; the item's id."""
    phone = await open_phone(server)
    await phone.connection.send(json.dumps({"type": "ask", "q": "panel", "text": text, "seq": 1}))
    reply = await phone.reply()
    await phone.connection.close()
    assert reply["type"] == "ack", reply
    return int(reply["item"])


async def test_screen_state_carries_no_waiting_or_hidden_item_no_token_no_database(
    room_server: LivepollServer,
) -> None:
    """Of a moderated Q&A the screen gets only approved items; never a token or the path."""
    await chair(room_server, "open")
    shown = await ask(room_server, "Approved <b>question</b>")
    hidden = await ask(room_server, "Hidden rude question")
    await ask(room_server, "Still waiting question")
    presenter = await open_presenter(room_server)
    for item, state in ((shown, "visible"), (hidden, "hidden")):
        await presenter.send(protocol.encode_command("moderate", item=item, state=state))
    screen = await open_screen(room_server)
    state = await screen_state(
        screen, lambda s: [i["text"] for i in s["items"]] == ["Approved <b>question</b>"]
    )
    frame = json.dumps(state)
    for secret in (
        "Hidden rude",
        "Still waiting",
        room_server.token,
        room_server.config.screen_token,
        str(room_server.store.path),
        "room.db",
    ):
        assert secret not in frame
    assert "qa" not in state
    assert "notices" not in state
    assert "storage_problem" not in state
    await screen.close()
    await presenter.close()


async def test_screen_follows_the_chair_and_shows_results_only_when_shown(
    room_server: LivepollServer,
) -> None:
    """Votes come without figures until the chair shows results; the quiz's answer and
    leaderboard only once it has closed and its results are shown."""
    screen = await open_screen(room_server)
    first = await screen_state(screen)
    assert first["question"]["prompt"] == "Questions for the panel"
    assert first["qr"]["size"] > 21
    assert first["qr"]["path"].startswith("M")
    assert first["join"]["url"] == room_server.join_info().url

    await chair(room_server, "next", "open")
    quiz = await screen_state(screen, lambda s: s["index"] == 1 and s["status"] == "open")
    assert quiz["status_words"] == "voting open"
    assert "correct" not in quiz["question"]
    assert quiz["correct"] is None
    phone = await open_phone(room_server)
    assert (await phone.vote("capital", 0))["type"] == "ack"
    voted = await screen_state(screen, lambda s: s["respondents"] == 1)
    assert voted["results"] is None
    assert voted["phones"] == 1

    await chair(room_server, "close")
    closed = await screen_state(screen, lambda s: s["status"] == "closed")
    assert closed["results"] is None
    assert closed["correct"] is None
    assert closed["leaderboard"] is None, "points gained would give the answer away"
    await chair(room_server, "toggle_results")
    revealed = await screen_state(screen, lambda s: s["results_shown"])
    assert revealed["results"]["counts"] == [1, 0, 0]
    assert revealed["correct"] == [0]
    assert [p["points"] for p in revealed["leaderboard"]] == [1000]
    await phone.connection.close()
    await screen.close()


async def test_every_presenter_command_on_the_screen_channel_is_refused_and_changes_nothing(
    livepoll_server: LivepollServer,
) -> None:
    """Each presenter command sent with the screen token gets ``read_only``; the session
    stays exactly as it was."""
    screen = await open_screen(livepoll_server)
    await screen_state(screen)
    session = livepoll_server.session
    before = (session.version, session.current_index, session.current.status)
    commands = [
        protocol.encode_command(action, 1 if action == "goto" else None)
        for action in sorted(protocol.PRESENTER_ACTIONS - {"moderate", "page"})
    ]
    commands += [
        protocol.encode_command("moderate", item=1, state="hidden"),
        protocol.encode_command("page", offset=0),
        json.dumps({"type": "vote", "q": "q1", "answer": 0, "seq": 1}),
        json.dumps({"type": "hello", "voter": secrets.token_urlsafe(16)}),
    ]
    for command in commands:
        await screen.send(command)
        async with asyncio.timeout(WAIT):
            reply = await connection_recv(screen)
            while reply["type"] == "screen_state":
                reply = await connection_recv(screen)
        assert reply["code"] == "read_only", (command, reply)
    await asyncio.sleep(0.3)  # two ticks: anything applied would show now
    assert (session.version, session.current_index, session.current.status) == before
    await screen.close()


async def test_the_screen_token_does_not_open_the_presenter_channel(
    livepoll_server: LivepollServer,
) -> None:
    """The presenter channel refuses the screen token (401)."""
    with pytest.raises(InvalidStatus) as refused:
        await connect(
            livepoll_server.presenter_url,
            additional_headers={"Authorization": f"Bearer {livepoll_server.config.screen_token}"},
        )
    assert refused.value.response.status_code == 401


async def test_wrong_screen_tokens_are_closed_with_a_reason_and_limited(
    livepoll_server: LivepollServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong token (the presenter's too) is closed as such; after the free ones the
    address waits, even with the right token, and the burst is logged without a token."""
    with caplog.at_level(logging.INFO):
        reasons = []
        for token in [livepoll_server.token] + [
            secrets.token_urlsafe(16) for _ in range(PRESENTER_LIMITS.free)
        ]:
            reasons.append(await refusal(livepoll_server, token))
        assert reasons == [(1008, "wrong screen token")] * (PRESENTER_LIMITS.free + 1)
        code, reason = await refusal(livepoll_server)
    assert code == 1008
    assert reason is not None
    assert reason.startswith("too many wrong screen tokens")
    assert "wrong screen tokens: one from 127.0.0.1" in caplog.text
    assert livepoll_server.token not in caplog.text
    assert livepoll_server.config.screen_token not in caplog.text


async def test_a_screen_that_says_nothing_is_closed(server_config: ServerConfig) -> None:
    """Without a token within the hello timeout, the connection is closed."""
    server_config.hello_timeout = 0.3
    async with running_server(server_config) as server:
        connection = await connect(screen_url(server))
        assert await closed_reason(connection) == (1008, "no screen token")


async def test_the_screen_page_is_served_with_the_strict_policy(
    livepoll_server: LivepollServer,
) -> None:
    """/screen (with its token in the query) and its files come with the page's CSP."""
    import urllib.request

    def fetch(path: str) -> tuple[int, str, bytes]:
        with urllib.request.urlopen(livepoll_server.base_url + path.lstrip("/")) as response:
            return response.status, response.headers["Content-Security-Policy"], response.read()

    for path in ("/screen?token=x", "/screen.js", "/screen.css"):
        status, policy, body = await asyncio.to_thread(fetch, path)
        assert status == 200
        assert "script-src 'self'" in policy
        assert body
    assert livepoll_server.screen_url.startswith(livepoll_server.join_url + "screen?token=")


async def test_screens_beyond_the_cap_are_turned_away(
    livepoll_server: LivepollServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the cap at 2, a third screen with the right token is closed, saying why; a
    place freed by a screen that leaves can be taken again."""
    monkeypatch.setattr(screen_module, "MAX_SCREENS", 2)
    screens = [await open_screen(livepoll_server) for _ in range(2)]
    for screen in screens:
        await screen_state(screen)
    assert await refusal(livepoll_server) == (1008, "too many screens (at most 2)")
    await screens[0].close()
    async with asyncio.timeout(WAIT):
        while True:  # once the server has seen the close, a place is free again
            again = await open_screen(livepoll_server)
            try:
                await screen_state(again)
                break
            except ConnectionClosed:
                continue
    for screen in (again, screens[1]):
        await screen.close()


def test_qr_path_draws_each_dark_module_once() -> None:
    """The SVG path's runs cover exactly the QR matrix's dark modules."""
    import qrcode

    code = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data("http://192.0.2.7:8321/")
    code.make(fit=True)
    matrix = code.get_matrix()
    drawn = qr_path("http://192.0.2.7:8321/")
    assert drawn["size"] == len(matrix)
    dark = set()
    for run in drawn["path"].split("z")[:-1]:
        x, y_and_width = run.removeprefix("M").split(" ", 1)
        y, rest = y_and_width.split("h", 1)
        width = int(rest.split("v", 1)[0])
        dark.update((int(x) + dx, int(y)) for dx in range(width))
    assert dark == {(x, y) for y, row in enumerate(matrix) for x, on in enumerate(row) if on}


def test_the_screen_qr_code_decodes_to_the_join_url() -> None:
    """Drawn from its path data at 4 pixels a module, a decoder reads the join URL back."""
    url = "http://192.0.2.7:8321/?code=K7Q2M"
    drawn = qr_path(url)
    pixels = np.full((drawn["size"], drawn["size"]), 255, dtype=np.uint8)
    for run in drawn["path"].split("z")[:-1]:
        x, rest = run.removeprefix("M").split(" ", 1)
        y, width = rest.split("h", 1)
        pixels[int(y), int(x) : int(x) + int(width.split("v", 1)[0])] = 0
    image = np.kron(pixels, np.ones((4, 4), dtype=np.uint8))
    assert [found.text for found in zxingcpp.read_barcodes(image)] == [url]


def test_a_weak_screen_token_in_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """LIVEPOLL_SCREEN_TOKEN must be at least 22 base64url characters; unset means none."""
    monkeypatch.delenv(SCREEN_TOKEN_ENV, raising=False)
    assert screen_token_from_environment() is None
    monkeypatch.setenv(SCREEN_TOKEN_ENV, "short")
    with pytest.raises(ScreenTokenError, match="22 to 128 base64url"):
        screen_token_from_environment()
    strong = secrets.token_urlsafe(16)
    monkeypatch.setenv(SCREEN_TOKEN_ENV, strong)
    assert screen_token_from_environment() == strong


async def test_the_chair_is_told_the_screen_url_in_the_banner_and_the_console(
    livepoll_server: LivepollServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`serve` prints the screen URL; the console (`run`, `present`) shows it on its help
    screen (``?``)."""
    from livepoll.cli import _print_banner
    from livepoll.tui.app import make_app
    from livepoll.tui.screens import HelpScreen
    from test_tui_app import wait_until

    _print_banner(livepoll_server, "present {url}")
    assert f"screen (AV desk, read-only): {livepoll_server.screen_url}" in capsys.readouterr().out
    app = make_app(livepoll_server.base_url, livepoll_server.token)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.welcome is not None)
        assert app.welcome is not None
        assert app.welcome.screen_url == livepoll_server.screen_url
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        label = app.screen.query_one("#help-screen-url")
        assert livepoll_server.screen_url in str(label.render())


async def test_a_restarted_supervised_server_keeps_the_screen_token(tmp_path: Path) -> None:
    """`run`'s supervisor hands every server it starts the same screen token, so the AV
    desk's page reconnects to the restarted server with the URL it has."""
    from livepoll.presenter_token import TOKEN_ENV
    from livepoll.supervisor import SupervisedServer

    deck = tmp_path / "deck.toml"
    deck.write_text(ROOM_DECK)
    token = secrets.token_urlsafe(16)
    server = SupervisedServer(
        [str(deck), "--db", str(tmp_path / "s.db"), "--host", "127.0.0.1", "--port", "0"],
        secrets.token_urlsafe(16),
        tmp_path / "s.log",
        TOKEN_ENV,
        {SCREEN_TOKEN_ENV: token},
    )
    ready = await asyncio.to_thread(server.start)
    try:
        assert ready["screen_url"].endswith(f"/screen?token={token}")
        port = int(ready["port"])
        first = server._process
        assert first is not None
        first.kill()
        await asyncio.to_thread(first.wait)  # the old one is gone: only the new can answer
        async with asyncio.timeout(60):
            while True:
                try:
                    screen = await connect(f"ws://127.0.0.1:{port}/screen-ws")
                    break
                except OSError:
                    await asyncio.sleep(0.1)
        await screen.send(json.dumps({"type": "screen", "token": token}))
        assert (await screen_state(screen))["question"]["id"] == "panel"
        await screen.close()
    finally:
        await asyncio.to_thread(server.stop)


def test_screen_frames_stay_under_the_presenters_bound_however_full_the_board() -> None:
    """3,000 of the widest Q&A items, a cloud and a wall of the longest answers, shown:
    each screen frame holds only the room's share and stays under the presenter's bound."""
    from livepoll.engine import Session
    from test_protocol import GROWS, WIDE, widest_deck

    session = Session(widest_deck(), max_qa_items=5000)
    join = protocol.JoinInfo("http://192.0.2.7:8321/?code=K7Q2M", "code", "K7Q2M")
    qr = qr_path(join.url)
    session.go_to(1, 0.0)
    session.open_voting(0.0)
    for n in range(3000):
        item = session.post_question(f"voter-{n}", "qa", f"{n:04}" + WIDE * 496, 1.0)
        session.moderate(item.id, "visible", 1.0)
    frames = [protocol.encode_screen_state(session, phones=0, now=0.0, join=join, qr=qr)]
    assert len(json.loads(frames[0])["items"]) == protocol.SCREEN_ITEMS
    for index, question in ((2, "cloud"), (3, "wall")):
        session.go_to(index, 2.0)
        session.open_voting(2.0)
        for n in range(60):
            word = GROWS * 497 + f"{n:03}" if question == "cloud" else WIDE * 500
            session.apply_vote(f"voter-{n}", question, word, 3.0)
        session.toggle_results(3.0)
        frames.append(protocol.encode_screen_state(session, phones=0, now=0.0, join=join, qr=qr))
    assert all(json.loads(frame)["results"] for frame in frames[1:])
    assert max(len(frame.encode()) for frame in frames) <= protocol.MAX_PRESENTER_FRAME_BYTES


async def test_the_screen_shows_the_room_code_and_follows_its_rotation(
    server_config: ServerConfig,
) -> None:
    """In room-code mode the join strip carries the code (in the QR's URL too); when the
    chair rotates it, the screen gets the new one."""
    server_config.join_mode = "code"
    async with running_server(server_config) as server:
        screen = await open_screen(server)
        first = await screen_state(screen)
        code = first["join"]["room_code"]
        assert code
        assert first["join"]["url"] == f"{server.join_url}?code={code}"
        assert first["qr"] == qr_path(first["join"]["url"])
        await chair(server, "rotate_code")
        rotated = await screen_state(screen, lambda s: s["join"]["room_code"] != code)
        assert rotated["join"]["room_code"] == server.gate.room_code
        assert rotated["qr"] == qr_path(rotated["join"]["url"])
        await screen.close()


async def test_a_timed_question_counts_down_on_the_screen(server_config: ServerConfig) -> None:
    """While a timed question is open the screen gets its time left, about once a second."""
    timed = deck_module.from_text(
        'title = "T"\n[[questions]]\nid = "t"\ntype = "single"\nprompt = "Quick?"\n'
        'options = ["Yes", "No"]\ntime_limit = 30\n',
        "timed.toml",
    )
    server_config.deck = timed
    async with running_server(server_config) as server:
        screen = await open_screen(server)
        await screen_state(screen)
        await chair(server, "open")
        opened = await screen_state(screen, lambda s: s["time_left"] is not None)
        later = await screen_state(
            screen,
            lambda s: s["time_left"] is not None and s["time_left"] < opened["time_left"] - 1,
        )
        assert 0 < later["time_left"] < 30
        await screen.close()
