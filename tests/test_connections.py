"""Connections that hold a socket without using it: a hello deadline and a margin of
descriptors kept for real phones, the store and the chair."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from clients import connection_recv, new_voter_token, open_phone
from livepoll.server.app import HELLO_TIMEOUT, ServerConfig, running_server
from livepoll.server.capacity import DESCRIPTOR_MARGIN, RETRY_AFTER_SECONDS
from serving import serve_process

DECK = """
title = "Descriptors"

[[questions]]
id = "q1"
type = "single"
prompt = "Coffee or tea?"
options = ["Coffee", "Tea"]
"""

TOKEN = "connections-presenter-token"


def test_the_hello_deadline_is_a_few_seconds() -> None:
    """Phones say hello as soon as the socket opens: 5 s is plenty, and far below the
    minutes a silent socket used to be held."""
    assert HELLO_TIMEOUT == 5.0


async def test_silent_connections_are_closed_after_the_hello_deadline(
    server_config: ServerConfig,
) -> None:
    """200 connections that finish the handshake and never say hello are all closed at
    the deadline; a phone that says hello stays, and one that is slow but in time too."""
    server_config.hello_timeout = 1.0
    async with running_server(server_config) as server:
        silent = await asyncio.gather(*(connect(server.audience_url) for _ in range(200)))
        honest = await open_phone(server)
        late = await connect(server.audience_url)
        await asyncio.sleep(0.5)  # slow, but inside the deadline
        await late.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
        assert (await connection_recv(late))["type"] == "state"
        async with asyncio.timeout(15):
            await asyncio.gather(*(connection.wait_closed() for connection in silent))
        assert {connection.close_code for connection in silent} == {1008}
        assert {connection.close_reason for connection in silent} == {"no hello"}
        await honest.connection.send(json.dumps({"type": "nickname", "name": "Ann", "seq": 1}))
        assert (await honest.reply())["type"] == "ack"
        await late.send(json.dumps({"type": "nickname", "name": "Bo", "seq": 1}))
        assert (await connection_recv(late))["type"] == "ack"
        assert len(server.audience) == 2


async def test_phones_are_refused_before_the_open_files_run_out(tmp_path: Path) -> None:
    """With 256 open files, phones beyond 256 - 128 connections get 503 with Retry-After;
    the chair's console still connects, admitted phones still get acks, and a phone
    that leaves makes room for the next."""
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    open_files = 256
    async with serve_process(deck, tmp_path / "db.sqlite", TOKEN, open_files=open_files) as ready:
        url = f"ws://127.0.0.1:{ready['port']}/ws"
        phones: list[ClientConnection] = []
        refused: list[InvalidStatus] = []
        for _ in range(open_files - DESCRIPTOR_MARGIN + 20):
            try:
                phone = await connect(url)
            except InvalidStatus as error:
                refused.append(error)
                continue
            await phone.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
            assert (await connection_recv(phone))["type"] == "state"
            phones.append(phone)
        assert len(phones) == open_files - DESCRIPTOR_MARGIN
        assert len(refused) == 20
        response = refused[0].response
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        presenter = await connect(
            f"ws://127.0.0.1:{ready['port']}/presenter",
            additional_headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert (await connection_recv(presenter))["type"] == "welcome"
        await phones[0].send(json.dumps({"type": "nickname", "name": "Ann", "seq": 1}))
        reply = await connection_recv(phones[0])
        while reply["type"] != "ack":
            reply = await connection_recv(phones[0])
        await phones.pop().close()
        await presenter.close()
        async with asyncio.timeout(10):
            while True:  # the closes reach the server within moments
                try:
                    newcomer = await connect(url)
                except InvalidStatus:
                    await asyncio.sleep(0.1)
                    continue
                break
        await newcomer.close()
        for phone in phones:
            await phone.close()


async def test_silent_sockets_cannot_take_the_chairs_descriptors(tmp_path: Path) -> None:
    """150 raw sockets that never send a byte fill the phones' share of 256 open files:
    a phone is refused with 503, yet the chair's console connects and a phone already
    in is still acknowledged."""
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    async with serve_process(deck, tmp_path / "db.sqlite", TOKEN, open_files=256) as ready:
        url = f"ws://127.0.0.1:{ready['port']}/ws"
        member = await connect(url)
        await member.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
        assert (await connection_recv(member))["type"] == "state"
        sockets = [await asyncio.open_connection("127.0.0.1", ready["port"]) for _ in range(150)]
        try:
            status = 101
            async with asyncio.timeout(10):
                while status == 101:  # the server has accepted them all within moments
                    try:
                        phone = await connect(url)
                    except InvalidStatus as error:
                        status = error.response.status_code
                    else:
                        await phone.close()
                        await asyncio.sleep(0.05)
            assert status == 503
            presenter = await connect(
                f"ws://127.0.0.1:{ready['port']}/presenter",
                additional_headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert (await connection_recv(presenter))["type"] == "welcome"
            await presenter.close()
            await member.send(json.dumps({"type": "nickname", "name": "Ann", "seq": 1}))
            reply = await connection_recv(member)
            while reply["type"] != "ack":
                reply = await connection_recv(member)
        finally:
            for _, writer in sockets:
                writer.close()
        await member.close()
