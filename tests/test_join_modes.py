"""One person, one vote, as strong as the chair needs: open, room code, tickets."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from clients import chair, connection_recv, new_voter_token
from livepoll.export import export
from livepoll.server import admission
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from livepoll.store import Store


async def hello(server: LivepollServer, token: str, **proof: str) -> tuple[Any, dict[str, Any]]:
    """Connect a phone and say hello with an optional room code or ticket."""
    connection = await connect(server.audience_url)
    await connection.send(json.dumps({"type": "hello", "voter": token, **proof}))
    return connection, await connection_recv(connection)


async def vote(connection: Any, answer: int, seq: int = 1) -> dict[str, Any]:
    """Vote on q1 and return the reply, skipping broadcasts."""
    await connection.send(json.dumps({"type": "vote", "q": "q1", "answer": answer, "seq": seq}))
    while True:
        reply = await connection_recv(connection)
        if reply["type"] in ("ack", "error"):
            return reply


async def test_open_mode_lets_a_script_mint_votes(livepoll_server: LivepollServer) -> None:
    """In open mode every fresh token is a new voter: it trusts the room."""
    await chair(livepoll_server, "toggle_voting")
    for _ in range(3):
        connection, state = await hello(livepoll_server, new_voter_token())
        assert state["type"] == "state"
        assert (await vote(connection, 0))["type"] == "ack"
        await connection.close()
    assert livepoll_server.session.current.counts == [3, 0, 0]


async def test_code_mode_needs_the_current_room_code(server_config: ServerConfig) -> None:
    """Without the code on the projector a phone cannot join; with it, it stays admitted."""
    server_config.join_mode = "code"
    async with running_server(server_config) as server:
        await chair(server, "toggle_voting")
        code = server.gate.room_code
        assert code is not None
        assert server.join_info().url.endswith(f"?code={code}")
        _, refused = await hello(server, new_voter_token())
        assert refused["code"] == "code_needed"
        _, wrong = await hello(server, new_voter_token(), code="ZZZZ" if code != "ZZZZ" else "YYYY")
        assert wrong["code"] == "bad_code"
        token = new_voter_token()
        connection, state = await hello(server, token, code=code.lower())
        assert state["type"] == "state"
        assert (await vote(connection, 1))["type"] == "ack"
        await connection.close()
        again, state = await hello(server, token)
        assert state["type"] == "state", "an admitted phone reconnects without the code"
        await again.close()
        assert server.session.current.counts == [0, 1, 0]


async def test_rotating_the_code_keeps_a_short_grace(server_config: ServerConfig) -> None:
    """After the chair rotates the code, the old one works for the grace period, to the
    second on the gate's clock, then not at all."""
    server_config.join_mode = "code"
    async with running_server(server_config) as server:
        old = server.gate.room_code
        state = await chair(server, "rotate_code")
        new = server.gate.room_code
        assert new != old
        assert state["join"]["room_code"] == new
        _, within_grace = await hello(server, new_voter_token(), code=old or "")
        assert within_grace["type"] == "state"
        _, current = await hello(server, new_voter_token(), code=new or "")
        assert current["type"] == "state"

        # The expiry, on the gate's own clock (the time it is given), not the wall's.
        gate, rotated_at = server.gate, 1_000_000.0
        before = gate.room_code or ""
        gate.rotate(rotated_at)
        last_moment = rotated_at + admission.CODE_GRACE_SECONDS
        await gate.admit("voter-a", new_voter_token(), before, None, last_moment)
        with pytest.raises(admission.Rejection) as too_late:
            await gate.admit("voter-b", new_voter_token(), before, None, last_moment + 0.001)
        assert too_late.value.code == "code_expired", "told the code changed, not a guess"
        assert gate.guard.tracked() == 0
        await gate.admit("voter-c", new_voter_token(), gate.room_code, None, last_moment + 1)


async def test_tickets_bind_to_one_device_and_stop_minted_tokens(
    server_config: ServerConfig,
) -> None:
    """A ticket works on the first phone that uses it only; fresh tokens without one fail."""
    store = await Store.open(server_config.database)
    first, second = await store.create_tickets(2, time.time())
    await store.close()
    server_config.join_mode = "tickets"
    server_config.end_session_on_stop = False
    owner = new_voter_token()
    async with running_server(server_config) as server:
        await chair(server, "toggle_voting")
        _, needed = await hello(server, new_voter_token())
        assert needed["code"] == "ticket_needed"
        _, unknown = await hello(server, new_voter_token(), ticket="NOTATICKET")
        assert unknown["code"] == "bad_ticket"
        connection, state = await hello(server, owner, ticket=f"{first[:4]}-{first[4:]}")
        assert state["type"] == "state"
        assert (await vote(connection, 2))["type"] == "ack"
        await connection.close()
        _, stolen = await hello(server, new_voter_token(), ticket=first)
        assert stolen["code"] == "ticket_used"
        minted = 0
        for _ in range(5):
            _, reply = await hello(server, new_voter_token())
            minted += reply["type"] == "state"
        assert minted == 0, "a script minting tokens cannot vote without tickets"
    async with running_server(server_config) as server:
        again, state = await hello(server, owner)
        assert state["type"] == "state", "the binding survives a restart"
        assert (await vote(again, 0, seq=2))["type"] == "ack"
        await again.close()
        _, stolen = await hello(server, new_voter_token(), ticket=first)
        assert stolen["code"] == "ticket_used"
        other, state = await hello(server, new_voter_token(), ticket=second)
        assert state["type"] == "state"
        await other.close()
    document = json.loads(await export(server_config.database, "json", None))
    assert document["sessions"][0]["join_mode"] == "tickets"
    content = await asyncio.to_thread(server_config.database.read_bytes)
    assert first.encode() not in content, "ticket codes are stored only as keyed hashes"


def test_tickets_command_prints_codes_and_a_printable_sheet(tmp_path: Path) -> None:
    """`livepoll tickets` prints N codes and writes a page with one QR code per ticket."""
    sheet = tmp_path / "tickets.html"
    result = subprocess.run(
        [sys.executable, "-m", "livepoll", "tickets", "--count", "3"]
        + ["--db", str(tmp_path / "t.db"), "--url", "http://10.0.0.5:8321/"]
        + ["--output", str(sheet)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    codes = result.stdout.split()
    assert len(codes) == 3
    assert len(set(codes)) == 3
    page = sheet.read_text(encoding="utf-8")
    assert page.count("<svg") == 3
    assert "<script" not in page
    for code in codes:
        assert f"{code[:4]} {code[4:]}" in page
