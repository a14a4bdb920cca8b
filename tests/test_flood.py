"""A hostile audience with a script: a Q&A flood from minted tokens, phones that never
read, caps on what one question stores. The chair keeps control, honest phones keep
being served, and memory and frames stay bounded."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from clients import chair, flood_questions, flood_text, new_voter_token, open_phone
from livepoll import deck as deck_module
from livepoll import protocol
from livepoll.protocol import PresenterState, Welcome
from livepoll.server import app as server_app
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from livepoll.tui import link as link_module
from livepoll.tui.link import LinkDown, LinkUp, WebSocketLink

QA_DECK = """
title = "Flood"

[[questions]]
id = "panel"
type = "qa"
prompt = "Questions for the panel"
max_length = 500

[[questions]]
id = "words"
type = "text"
prompt = "One word for today"
"""


async def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    """Poll ``condition`` until it holds; fail after ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting for the server")


async def next_state(
    events: Any, condition: Callable[[PresenterState], bool], within: float = 10.0
) -> PresenterState:
    """The first state from a link that meets ``condition``; the link must not drop."""
    async with asyncio.timeout(within):
        async for event in events:
            assert not isinstance(event, LinkDown), f"the link dropped: {event.detail}"
            if isinstance(event, PresenterState) and condition(event):
                return event
    raise AssertionError("the link ended")


async def frames_until_quiet(connection: ClientConnection, quiet: float = 0.5) -> list[str]:
    """Every frame that arrives until none has for ``quiet`` seconds."""
    frames: list[str] = []
    while True:
        try:
            async with asyncio.timeout(quiet):
                frame = await connection.recv()
        except TimeoutError:
            return frames
        assert isinstance(frame, str)
        frames.append(frame)


async def test_a_question_flood_is_capped_and_the_console_link_still_moderates_past_page_one(
    server_config: ServerConfig,
) -> None:
    """110 minted tokens post 550 heavy questions: 500 are taken, 50 get qa_full and
    others keep being served; the console's link then gets states at once, every
    presenter and phone frame stays under its bound, and the chair moderates an item on
    the fourth page."""
    server_config.deck = deck_module.from_text(QA_DECK, "flood.toml")
    async with running_server(server_config) as server:
        await chair(server, "toggle_voting")
        replies = await flood_questions(server, 110, 5, flood_text)
        assert replies == Counter(ack=500, qa_full=50)
        honest = await open_phone(server)
        honest.seq = 1
        upvote = {"type": "upvote", "q": "panel", "item": 1, "seq": 1}
        await honest.connection.send(json.dumps(upvote))
        assert (await honest.reply())["type"] == "ack"
        full = {"type": "ask", "q": "panel", "text": "Still room?", "seq": 2}
        await honest.connection.send(json.dumps(full))
        refused = await honest.reply()
        assert (refused["code"], refused["message"]) == (
            "qa_full",
            "this Q&A has taken its limit of 500 questions; upvote one that is already there",
        )

        link = WebSocketLink(server.base_url, server.token)
        events = link.events()
        try:
            started = time.monotonic()
            first = await next_state(events, lambda state: True, within=5)
            assert time.monotonic() - started < 5
            assert first.qa is not None
            assert (first.qa.total, first.qa.offset) == (500, 0)
            assert len(first.qa.page) == protocol.MODERATION_PAGE
            assert first.full
            await link.send(protocol.encode_command("page", offset=60))
            page = await next_state(events, lambda s: s.qa is not None and s.qa.offset == 60)
            assert page.qa is not None
            target = int(page.qa.page[5]["id"])
            assert target not in {int(item["id"]) for item in first.qa.page}
            await link.send(protocol.encode_command("moderate", item=target, state="hidden"))
            hidden = await next_state(
                events,
                lambda s: s.qa is not None and s.qa.counts.get("hidden") == 1,
            )
            assert hidden.qa is not None
        finally:
            await events.aclose()
        board = server.session.states["panel"].qa
        assert board is not None
        assert board.items[target].state == "hidden"

        async with connect(
            server.presenter_url,
            additional_headers={"Authorization": f"Bearer {server.token}"},
            max_size=None,
        ) as presenter:
            await presenter.send(protocol.encode_command("page", offset=480))
            presenter_frames = await frames_until_quiet(presenter)
        async with connect(server.audience_url, max_size=None) as phone:
            await phone.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
            await chair(server, "toggle_results")
            phone_frames = await frames_until_quiet(phone, quiet=1.0)
        assert len(presenter_frames) >= 3
        assert max(len(f.encode()) for f in presenter_frames) <= protocol.MAX_PRESENTER_FRAME_BYTES
        assert {json.loads(f)["type"] for f in phone_frames} >= {"state"}
        assert max(len(f.encode()) for f in phone_frames) <= protocol.MAX_AUDIENCE_FRAME_BYTES
        assert all(len(json.loads(f)["items"]) <= protocol.PHONE_ITEMS for f in phone_frames)


async def test_text_answers_stop_at_the_cap_with_a_precise_error_and_the_chair_is_told(
    server_config: ServerConfig,
) -> None:
    """With --max-text-answers 3, the fourth phone gets answers_full, a phone that
    answered may still change its answer, and the chair's state says the limit is reached."""
    server_config.deck = deck_module.from_text(QA_DECK, "flood.toml")
    server_config.max_text_answers = 3
    async with running_server(server_config) as server:
        await chair(server, "next", "toggle_voting")
        phones = [await open_phone(server) for _ in range(4)]
        for phone in phones[:3]:
            assert (await phone.vote("words", "hello"))["type"] == "ack"
        refused = await phones[3].vote("words", "late")
        assert (refused["type"], refused["code"], refused["message"]) == (
            "error",
            "answers_full",
            "this question has taken its limit of 3 answers; no more can be added",
        )
        assert (await phones[0].vote("words", "changed"))["type"] == "ack"
        state = await chair(server)
        assert (state["limit"], state["full"], state["respondents"]) == (3, True, 3)
        for phone in phones:
            await phone.connection.close()


# -- phones that never read -------------------------------------------------------------


def masked_text_frame(payload: bytes) -> bytes:
    """A client's text frame (clients must mask), for a payload under 126 bytes."""
    assert len(payload) < 126
    mask = os.urandom(4)
    body = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + body


@contextmanager
def closing_sockets() -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


async def silent_phone(server: LivepollServer) -> socket.socket:
    """A raw client that completes the handshake, says hello, and never reads again (its
    receive buffer is made tiny, so what the server sends backs up on the server)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = await loop.sock_recv(sock, 1)
        assert chunk, "the server closed during the handshake"
        response += chunk
    assert response.startswith(b"HTTP/1.1 101")
    hello = json.dumps({"type": "hello", "voter": new_voter_token()}).encode()
    await loop.sock_sendall(sock, masked_text_frame(hello))
    return sock


def buffered(server: LivepollServer) -> list[int]:
    """Bytes waiting in the server's send buffer of each phone connection."""
    return [phone.transport.get_write_buffer_size() for phone in server.audience]


async def test_phones_that_never_read_are_skipped_then_dropped_while_an_honest_phone_is_served(
    server_config: ServerConfig,
) -> None:
    """Ten clients that never read, under 30 state broadcasts of ~100 KB each: no phone's
    send buffer passes the bound plus one frame, they are disconnected after the stall
    time, and an honest phone keeps getting acks and every state."""
    server_config.deck = deck_module.from_text(QA_DECK, "flood.toml")
    server_config.rate_limit = 100  # the honest phone upvotes once per broadcast here
    async with running_server(server_config) as server:
        await chair(server, "toggle_voting")
        assert await flood_questions(server, 12, 5, flood_text) == Counter(ack=60)
        honest = await open_phone(server)
        frame_size = len(protocol.encode_audience_state(server.session, now=0).encode())
        assert frame_size > 90_000
        bound = server_app.PHONE_SEND_BUFFER_LIMIT + frame_size
        with closing_sockets() as silent:
            for _ in range(10):
                silent.append(await silent_phone(server))
            await wait_until(lambda: len(server.audience) == 11, 10)
            presenter = await connect(
                server.presenter_url,
                additional_headers={"Authorization": f"Bearer {server.token}"},
                max_size=None,
            )
            peak = 0
            kinds: Counter[str] = Counter()
            try:
                for round_ in range(30):
                    await presenter.send(protocol.encode_command("toggle_results"))
                    honest.seq += 1
                    vote = {"type": "upvote", "q": "panel", "item": 1 + round_ % 60}
                    await honest.connection.send(json.dumps({**vote, "seq": honest.seq}))
                    assert (await honest.reply())["type"] == "ack"
                    peak = max(peak, *buffered(server))
                late = await frames_until_quiet(honest.connection, quiet=1.5)
                kinds = Counter(
                    frame["type"] for frame in honest.states + list(map(json.loads, late))
                )
            finally:
                await presenter.close()
            assert peak <= bound, f"a silent phone's buffer reached {peak} bytes"
            assert kinds["state"] >= 25
            assert kinds["results"] >= 1
            await wait_until(lambda: len(server.audience) == 1, server_app.PHONE_STALL_SECONDS + 10)
            assert server.phones_dropped == 10
        honest.seq += 1
        await honest.connection.send(
            json.dumps({"type": "upvote", "q": "panel", "item": 2, "up": False, "seq": honest.seq})
        )
        assert (await honest.reply())["type"] == "ack"
        await honest.connection.close()


# -- the console survives any frame ------------------------------------------------------


async def link_events_until_welcome(link: WebSocketLink, within: float = 10.0) -> list[Any]:
    """Every event of ``link`` up to and including the first Welcome."""
    seen: list[Any] = []
    events = link.events()
    try:
        async with asyncio.timeout(within):
            async for event in events:
                seen.append(event)
                if isinstance(event, Welcome):
                    return seen
    finally:
        await events.aclose()
    raise AssertionError("the link ended")


def test_the_link_accepts_frames_well_above_the_largest_the_server_sends() -> None:
    """The console's frame limit is several times the server's stated largest frame."""
    assert link_module.MAX_FRAME >= 4 * protocol.MAX_PRESENTER_FRAME_BYTES
    assert link_module.MAX_FRAME_CEILING > link_module.MAX_FRAME


async def test_frames_the_console_cannot_decode_are_skipped_without_dropping_the_link() -> None:
    """JSON nested past the decoder's depth, frames of the wrong shape and binary frames
    are skipped; the link stays up and the next good frame arrives on the same connection."""
    connections = 0

    async def server(connection: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await connection.send("[" * 100_000)
        await connection.send("[1]")
        await connection.send('{"type": "welcome", "join_url": "u", "notices": 5}')
        await connection.send('{"type": "state", "status": "open", "question": []}')
        await connection.send(b"\x00\x01")
        await connection.send(protocol.encode_welcome("http://x/", "db", "1"))
        await connection.wait_closed()

    async with serve(server, "127.0.0.1", 0) as fake:
        port = fake.sockets[0].getsockname()[1]
        seen = await link_events_until_welcome(WebSocketLink(f"http://127.0.0.1:{port}/", "t"))
    assert [type(event) for event in seen] == [LinkUp, Welcome]
    assert connections == 1


async def test_a_frame_over_the_links_limit_raises_the_limit_instead_of_retrying_forever() -> None:
    """A 200 KB frame to a link that takes 64 KiB: the link says why it dropped, retries
    with twice the limit, and gets the frame at 256 KiB (the third connection)."""
    connections = 0
    big = protocol.encode_welcome("http://x/" + "a" * 200_000, "db", "1")

    async def server(connection: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await connection.send(big)
        await connection.wait_closed()

    async with serve(server, "127.0.0.1", 0, max_size=None) as fake:
        port = fake.sockets[0].getsockname()[1]
        link = WebSocketLink(f"http://127.0.0.1:{port}/", "t", max_size=64 * 1024)
        seen = await link_events_until_welcome(link)
    downs = [event.detail for event in seen if isinstance(event, LinkDown)]
    assert downs == [
        "the server sent a frame over 64 KiB; retrying with a larger limit",
        "the server sent a frame over 128 KiB; retrying with a larger limit",
    ]
    assert connections == 3
    assert link.max_size == 256 * 1024
    assert isinstance(seen[-1], Welcome)
    assert len(seen[-1].join_url) == 200_009
