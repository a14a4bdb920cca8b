"""Scripted clients speaking livepoll's protocols, for server, TUI and browser tests."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from livepoll import protocol
from livepoll.server.app import LivepollServer


def new_voter_token() -> str:
    """A fresh voter token, like the page makes one (128 bits, base64url)."""
    return secrets.token_urlsafe(16)


class Phone:
    """A scripted phone speaking the audience protocol, for server tests."""

    def __init__(self, connection: ClientConnection, token: str) -> None:
        self.connection = connection
        self.token = token
        self.seq = 0
        self.states: list[dict[str, Any]] = []
        """Broadcast frames seen while waiting for a reply to a vote."""

    async def receive(self) -> dict[str, Any]:
        """The next frame from the server, decoded."""
        return await connection_recv(self.connection)

    async def hello(self) -> dict[str, Any]:
        """Say hello and return the state the server answers with."""
        await self.connection.send(json.dumps({"type": "hello", "voter": self.token}))
        return await self.receive()

    async def vote(self, question_id: str, answer: Any) -> dict[str, Any]:
        """Send a vote and return the server's reply (ack or error)."""
        self.seq += 1
        await self.connection.send(
            json.dumps({"type": "vote", "q": question_id, "answer": answer, "seq": self.seq})
        )
        return await self.reply()

    async def reply(self) -> dict[str, Any]:
        """The next ack or error; broadcasts that arrive first (state, results,
        notices) are kept in ``states``."""
        while True:
            frame = await self.receive()
            if frame["type"] not in ("state", "results", "notice"):
                return frame
            self.states.append(frame)


async def connection_recv(connection: ClientConnection) -> dict[str, Any]:
    """Receive and decode one JSON frame."""
    frame = await connection.recv()
    decoded: dict[str, Any] = json.loads(frame)
    return decoded


async def open_phone(server: LivepollServer, token: str | None = None) -> Phone:
    """Connect a phone to the server's audience channel and say hello."""
    connection = await connect(server.audience_url)
    phone = Phone(connection, token or new_voter_token())
    await phone.hello()
    return phone


async def open_presenter(server: LivepollServer) -> ClientConnection:
    """Connect to the presenter channel with the token; the welcome frame is consumed."""
    connection = await connect(
        server.presenter_url, additional_headers={"Authorization": f"Bearer {server.token}"}
    )
    welcome = await connection_recv(connection)
    assert welcome["type"] == "welcome"
    return connection


async def chair(server: LivepollServer, *actions: str) -> dict[str, Any]:
    """Send presenter commands over the real presenter channel, each one applied in turn.

    Every command that changes the session makes the server push a state frame at
    once, so waiting for it means the command has taken effect. Returns the last state.
    """
    presenter = await open_presenter(server)
    state = await connection_recv(presenter)
    try:
        for action in actions:
            await presenter.send(protocol.encode_command(action))
            state = await connection_recv(presenter)
            while state["type"] != "state":
                state = await connection_recv(presenter)
    finally:
        await presenter.close()
    return state


WIDE = "\U00020000"
"""Four bytes of UTF-8 per character: the heaviest text a phone can post."""


def flood_text(phone: int, item: int) -> str:
    """A distinct question of 485 wide characters (just under the 2 KiB frame limit)."""
    return f"{phone:04}{item}" + WIDE * 480


async def flood_questions(
    server: LivepollServer,
    phones: int,
    per_phone: int,
    text: Callable[[int, int], str] = flood_text,
    question: str = "panel",
) -> Counter[str]:
    """``phones`` fresh voter tokens (open mode lets a script mint them) each post
    ``per_phone`` questions to the Q&A ``question``, 20 phones at a time; returns how
    many posts got each reply (``ack`` or the error code)."""
    replies: Counter[str] = Counter()
    gate = asyncio.Semaphore(20)

    async def one(number: int) -> None:
        async with gate, connect(server.audience_url, max_size=None) as connection:
            await connection.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
            for item in range(per_phone):
                ask = {"type": "ask", "q": question, "text": text(number, item), "seq": item + 1}
                await connection.send(json.dumps(ask, ensure_ascii=False))
            answered = 0
            while answered < per_phone:
                frame = json.loads(await connection.recv())
                if frame["type"] in ("ack", "error"):
                    replies[frame.get("code") or frame["type"]] += 1
                    answered += 1

    async with asyncio.timeout(120):
        await asyncio.gather(*(one(n) for n in range(phones)))
    return replies
