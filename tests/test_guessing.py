"""Guessing costs time: room codes, tickets and presenter tokens, per address and per room."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from clients import chair, connection_recv, new_voter_token
from livepoll.server import admission
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from livepoll.server.guard import (
    JOIN_LIMITS,
    PRESENTER_LIMITS,
    FailureGuard,
    GuardLimits,
    address_key,
)
from livepoll.store import Store


async def hello(
    server: LivepollServer, token: str | None = None, **proof: str
) -> tuple[ClientConnection, dict[str, Any]]:
    """Connect a phone and say hello with an optional room code or ticket."""
    connection = await connect(server.audience_url)
    await connection.send(
        json.dumps({"type": "hello", "voter": token or new_voter_token(), **proof})
    )
    return connection, await connection_recv(connection)


async def attempt(server: LivepollServer, **proof: str) -> str:
    """One guess on a fresh connection, as a script that reconnects for each would;
    returns the reply's error code ("" when admitted)."""
    connection, reply = await hello(server, **proof)
    await connection.close()
    return "" if reply["type"] == "state" else str(reply["code"])


def wrong_code(server: LivepollServer, n: int) -> str:
    """A well-formed room code that is not the current one."""
    code = f"{n:05d}".translate(str.maketrans("0123456789", "ABCDEFGHJK"))
    return code if code != server.gate.room_code else "ZZZZZ"


def test_an_address_gets_free_attempts_then_doubling_waits() -> None:
    """10 wrong attempts are free; then the address waits 1 s, 2 s, 4 s…, refused unchecked."""
    guard = FailureGuard("wrong room codes", JOIN_LIMITS)
    now = 1000.0
    for _ in range(10):
        assert guard.wait("203.0.113.5", now) == 0
        guard.failed("203.0.113.5", now)
    assert guard.wait("203.0.113.5", now) == 0, "the 11th attempt is still checked"
    guard.failed("203.0.113.5", now)
    assert guard.wait("203.0.113.5", now) == pytest.approx(1.0)
    assert guard.wait("203.0.113.5", now + 0.5) == pytest.approx(0.5)
    assert guard.wait("198.51.100.7", now) == 0, "other addresses are not held up"
    now += 1.0
    assert guard.wait("203.0.113.5", now) == 0
    guard.failed("203.0.113.5", now)
    assert guard.wait("203.0.113.5", now) == pytest.approx(2.0, abs=0.05)
    now += 2.0
    guard.failed("203.0.113.5", now)
    assert guard.wait("203.0.113.5", now) == pytest.approx(4.0, abs=0.2)


def test_wrong_attempts_are_forgotten_one_a_minute() -> None:
    """An address that stops is forgotten; one a minute is what a steady guesser gets."""
    guard = FailureGuard("wrong room codes", JOIN_LIMITS)
    for _ in range(12):
        guard.failed("203.0.113.5", 0.0)
    assert guard.tracked() == 1
    assert guard.wait("203.0.113.5", 60.0) == 0, "the 4 s wait is over"
    guard.failed("203.0.113.5", 60.0)
    assert guard.wait("203.0.113.5", 60.0) > 0, "11 left + 1: still past the free ten"
    assert guard.wait("203.0.113.5", 60.0 + 13 * 60) == 0
    assert guard.tracked() == 0, "quiet long enough: forgotten"


def test_a_steady_guesser_gets_about_one_guess_a_minute() -> None:
    """Guessing as fast as allowed for 8 hours, one address gets at most 17 + 480 checks."""
    guard = FailureGuard("wrong room codes", JOIN_LIMITS)
    now, checked = 0.0, 0
    while now < 8 * 3600:
        wait = guard.wait("203.0.113.5", now)
        if wait:
            now += wait
            continue
        checked += 1
        guard.failed("203.0.113.5", now)
    assert 480 <= checked <= 17 + 480


def test_many_addresses_share_the_room_budget() -> None:
    """300 wrong attempts across any addresses, then everyone waits: 2 checks a second."""
    guard = FailureGuard("wrong room codes", JOIN_LIMITS)
    now = 0.0
    for n in range(300):
        address = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
        assert guard.wait(address, now) == 0
        guard.failed(address, now)
    assert guard.wait("192.0.2.77", now) == pytest.approx(0.5), "a fresh address waits too"
    checked = 0
    for step in range(1, 601):  # a botnet trying 10 new addresses every 0.1 s for 60 s
        now = step * 0.1
        for n in range(10):
            address = f"172.16.{step % 256}.{n}"
            if guard.wait(address, now) == 0:
                checked += 1
                guard.failed(address, now)
    assert checked <= 2 * 60 + 1


def test_an_ipv6_network_counts_as_one_address() -> None:
    """Every address of an IPv6 /64 is one address; IPv4-mapped ones are IPv4."""
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:203.0.113.5") == "203.0.113.5"
    guard = FailureGuard("wrong room codes", JOIN_LIMITS)
    for n in range(11):
        guard.failed(f"2001:db8:1:2::{n + 1:x}", 0.0)
    assert guard.wait("2001:db8:1:2:abcd::1", 0.0) > 0


async def test_a_script_reconnecting_for_each_guess_is_held_up(
    server_config: ServerConfig, caplog: pytest.LogCaptureFixture
) -> None:
    """Reconnecting does not reset the limit: after 10 wrong codes from one address even
    the right code waits, one line is logged, and phones already in keep voting."""
    server_config.join_mode = "code"
    async with running_server(server_config) as server:
        await chair(server, "toggle_voting")
        code = server.gate.room_code
        assert code is not None
        member, state = await hello(server, code=code)
        assert state["type"] == "state"
        with caplog.at_level(logging.INFO):
            replies = [await attempt(server, code=wrong_code(server, n)) for n in range(40)]
        assert replies[:11] == ["bad_code"] * 11
        assert set(replies[11:]) == {"join_wait"}, "refused unchecked while it waits"
        assert await attempt(server, code=code) == "join_wait"
        _, reply = await hello(server, code=wrong_code(server, 99))
        assert "try again in 1 s" in reply["message"]
        assert server.gate.guard.refused >= 30
        lines = [r.getMessage() for r in caplog.records if r.name == "livepoll.server"]
        assert lines == [
            "wrong room codes: 11 wrong from 127.0.0.1; its further attempts wait 1 s, "
            "doubling up to 300 s"
        ]
        await member.send(json.dumps({"type": "vote", "q": "q1", "answer": 1, "seq": 1}))
        assert (await connection_recv(member))["type"] == "ack"
        # Once the wait is over, the right code is let in.
        await asyncio.sleep(1.1)
        assert await attempt(server, code=code) == ""


async def test_wrong_tickets_are_held_up_the_same_way(server_config: ServerConfig) -> None:
    """Ticket guessing from one address waits after 10 wrong tickets, used ones included."""
    store = await Store.open(server_config.database)
    (ticket,) = await store.create_tickets(1, time.time())
    await store.close()
    server_config.join_mode = "tickets"
    async with running_server(server_config) as server:
        assert await attempt(server, ticket=ticket) == ""
        replies = [await attempt(server, ticket=ticket)]
        replies += [await attempt(server, ticket=f"NOTICKT{n}") for n in range(12)]
        assert replies[0] == "ticket_used"
        assert replies[1:11] == ["bad_ticket"] * 10
        assert set(replies[11:]) == {"join_wait"}


async def test_room_codes_have_five_characters(server_config: ServerConfig) -> None:
    """Codes are five characters (31**5 codes): what the join limits' arithmetic needs."""
    server_config.join_mode = "code"
    async with running_server(server_config) as server:
        assert server.gate.room_code is not None
        assert len(server.gate.room_code) == 5
        assert set(server.gate.room_code) <= set(admission.ROOM_CODE_ALPHABET)


async def test_rotating_and_readmitting_revokes_every_admission(
    server_config: ServerConfig,
) -> None:
    """ "Rotate and re-admit everyone": phones in are disconnected, the old code is stale
    at once (without counting as a guess), and only the new code lets phones back in."""
    server_config.join_mode = "code"
    async with running_server(server_config) as server:
        await chair(server, "toggle_voting")
        old = server.gate.room_code
        assert old is not None
        token = new_voter_token()
        phones = [await hello(server, token, code=old)]
        phones += [await hello(server, code=old) for _ in range(14)]
        assert all(state["type"] == "state" for _, state in phones)
        state = await chair(server, "rotate_code_readmit")
        new = server.gate.room_code
        assert new is not None
        assert new != old
        assert state["join"]["room_code"] == new
        for connection, _ in phones:
            async with asyncio.timeout(10):
                await connection.wait_closed()
            assert connection.close_reason == "room code changed"
        stale = [await attempt(server, code=old) for _ in range(15)]
        assert set(stale) == {"code_expired"}, "no grace, and not counted as guesses"
        assert server.gate.guard.tracked() == 0
        assert await attempt(server) == "code_needed", "an admitted token is admitted no more"
        connection, state = await hello(server, token, code=new)
        assert state["type"] == "state"
        await connection.send(json.dumps({"type": "vote", "q": "q1", "answer": 0, "seq": 1}))
        assert (await connection_recv(connection))["type"] == "ack"
        await server.store.flush()
    with sqlite3.connect(server_config.database) as db:
        admitted = db.execute("SELECT count(*) FROM voters WHERE admitted = 1").fetchone()[0]
        rotations = db.execute("SELECT detail FROM events WHERE kind = 'code_rotated'").fetchall()
    assert admitted == 1, "the store revoked the earlier admissions"
    assert rotations == [("readmit",)]


async def test_revoked_admissions_stay_revoked_after_a_restart(
    server_config: ServerConfig,
) -> None:
    """A server restarted after a re-admitting rotation does not let the old phones in."""
    server_config.join_mode = "code"
    server_config.end_session_on_stop = False
    token = new_voter_token()
    async with running_server(server_config) as server:
        assert await attempt(server, code=server.gate.room_code or "") == ""
        connection, state = await hello(server, token, code=server.gate.room_code or "")
        assert state["type"] == "state"
        await connection.close()
        await chair(server, "rotate_code_readmit")
    async with running_server(server_config) as server:
        _, reply = await hello(server, token)
        assert reply["code"] == "code_needed"


async def test_rotating_and_keeping_phones_lets_admitted_phones_vote_on(
    server_config: ServerConfig,
) -> None:
    """ "Rotate, keep admitted phones": phones in stay connected and keep voting."""
    server_config.join_mode = "code"
    async with running_server(server_config) as server:
        await chair(server, "toggle_voting")
        connection, state = await hello(server, code=server.gate.room_code or "")
        assert state["type"] == "state"
        await chair(server, "rotate_code")
        await connection.send(json.dumps({"type": "vote", "q": "q1", "answer": 2, "seq": 1}))
        reply = await connection_recv(connection)
        while reply["type"] != "ack":
            reply = await connection_recv(connection)
        assert server.session.current.counts == [0, 0, 1]


async def test_wrong_presenter_tokens_are_limited_and_logged_per_address(
    livepoll_server: LivepollServer, caplog: pytest.LogCaptureFixture
) -> None:
    """5 wrong tokens get 401; then the address waits (429 with Retry-After, even with the
    right token); the burst is logged in one line and never shows a token."""

    async def present(token: str) -> int:
        try:
            connection = await connect(
                livepoll_server.presenter_url,
                additional_headers={"Authorization": f"Bearer {token}"},
            )
        except InvalidStatus as refused:
            response = refused.response
        else:
            await connection.close()
            return 101
        assert ("Retry-After" in response.headers) == (response.status_code == 429)
        return response.status_code

    with caplog.at_level(logging.INFO):
        statuses = [
            await present(f"wrong-token-{n:016d}") for n in range(PRESENTER_LIMITS.free + 1)
        ]
        statuses.append(await present(livepoll_server.token))
    assert statuses == [401] * (PRESENTER_LIMITS.free + 1) + [429]
    lines = [r.getMessage() for r in caplog.records if r.name == "livepoll.server"]
    assert len(lines) == 1, lines
    assert lines[0].startswith("wrong presenter tokens: one from 127.0.0.1; 5 are let through")
    assert "wrong-token" not in caplog.text
    assert livepoll_server.token not in caplog.text
    await asyncio.sleep(1.1)
    assert await present(livepoll_server.token) == 101


def test_presenter_limits_have_no_room_budget() -> None:
    """Wrong tokens from strangers never lock the chair's own address out."""
    guard = FailureGuard("wrong presenter tokens", PRESENTER_LIMITS)
    for n in range(10_000):
        guard.failed(f"10.0.{n // 256}.{n % 256}", 0.0)
    assert guard.wait("127.0.0.1", 0.0) == 0


def test_the_guard_remembers_a_bounded_number_of_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past its bound the guard drops the least recently failed addresses."""
    from livepoll.server import guard as guard_module

    monkeypatch.setattr(guard_module, "MAX_TRACKED_ADDRESSES", 100)
    guard = FailureGuard("wrong room codes", GuardLimits(10, 1.0, 300.0, 60.0))
    for n in range(1000):
        guard.failed(f"10.0.{n // 256}.{n % 256}", float(n) / 1000)
    assert guard.tracked() <= 100


async def test_an_admission_still_being_saved_is_revoked_by_a_readmitting_rotation(
    server_config: ServerConfig,
) -> None:
    """A phone whose admission waits on a slow disk while the chair re-admits everyone is
    told the code changed, and is not left voting on the old code."""
    server_config.join_mode = "code"
    async with running_server(server_config) as server:
        code = server.gate.room_code or ""
        failing = asyncio.Event()
        told = server.store.on_problem_changed
        assert told is not None

        def problem_changed(problem: str | None) -> None:
            told(problem)
            if problem is not None:
                failing.set()

        server.store.on_problem_changed = problem_changed
        database = server.store._db
        await database.execute("PRAGMA query_only = ON")  # commits fail until switched back
        connection = await connect(server.audience_url)
        await connection.send(
            json.dumps({"type": "hello", "voter": new_voter_token(), "code": code})
        )
        async with asyncio.timeout(10):
            await failing.wait()  # the admission is queued and failing to commit
        await chair(server, "rotate_code_readmit")
        await database.execute("PRAGMA query_only = OFF")
        async with asyncio.timeout(10):
            reply = await connection_recv(connection)
        assert reply["code"] == "code_expired"
        assert not server.audience
