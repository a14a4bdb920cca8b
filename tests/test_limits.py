"""Limits and faults: rate limits, floods, per-address caps, and a disk that stops writing."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from clients import chair, new_voter_token, open_phone
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from livepoll.server.limits import TokenBucket


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    """A bucket gives its burst at once, then refills at its rate."""
    bucket = TokenBucket(rate=2.0, burst=4.0)
    assert [bucket.take(100.0) for _ in range(5)] == [True] * 4 + [False]
    assert bucket.take(100.4) is False
    assert bucket.take(100.5) is True
    assert bucket.take(110.0)
    assert bucket.take(110.0)


async def test_a_phone_over_the_rate_limit_is_told_then_recovers(
    livepoll_server: LivepollServer,
) -> None:
    """Votes beyond the limit get one rate_limited error; after a pause voting works again."""
    await chair(livepoll_server, "toggle_voting")
    phone = await open_phone(livepoll_server)
    for answer in range(12):
        await phone.connection.send(
            json.dumps({"type": "vote", "q": "q1", "answer": answer % 3, "seq": answer + 1})
        )
    codes = []
    while "rate_limited" not in codes:
        reply = await phone.reply()
        codes.append(reply.get("code", reply["type"]))
    assert set(codes[:-1]) == {"ack"}
    await asyncio.sleep(0.5)
    phone.seq = 100
    assert (await phone.vote("q1", 1))["type"] == "ack"


async def test_a_flood_is_closed_and_others_keep_voting(livepoll_server: LivepollServer) -> None:
    """A client that keeps flooding past the limit is disconnected with a reason."""
    await chair(livepoll_server, "toggle_voting")
    honest = await open_phone(livepoll_server)

    async def flood(flooder: ClientConnection) -> None:
        for _ in range(2000):
            await flooder.send("x")
        async with asyncio.timeout(10):
            async for _ in flooder:
                pass

    async with connect(livepoll_server.audience_url) as flooder:
        with pytest.raises(ConnectionClosed) as closed:
            await flood(flooder)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008
        assert closed.value.rcvd.reason == "too many messages"
    assert (await honest.vote("q1", 0))["type"] == "ack"


async def test_phones_per_address_can_be_capped(server_config: ServerConfig) -> None:
    """With a cap set, one more phone from the same address is refused with 429."""
    server_config.max_per_address = 2
    async with running_server(server_config) as server:
        phones = [await open_phone(server) for _ in range(2)]
        with pytest.raises(InvalidStatus) as refused:
            await connect(server.audience_url)
        assert refused.value.response.status_code == 429
        await phones[0].connection.close()
        async with asyncio.timeout(30):
            while True:  # until the server has let the first phone go, however long it takes
                if len(server.audience) == 1:
                    break
                await asyncio.sleep(0.01)
        third = await open_phone(server)
        assert third.connection.state.name == "OPEN"


async def test_no_cap_by_default_for_a_conference_behind_one_nat(
    livepoll_server: LivepollServer,
) -> None:
    """By default many phones may share one address (the venue's NAT)."""
    phones = [await open_phone(livepoll_server) for _ in range(30)]
    assert len(livepoll_server.audience) == 30
    for phone in phones:
        await phone.connection.close()


async def test_disk_trouble_holds_acks_and_tells_everyone(livepoll_server: LivepollServer) -> None:
    """While the database cannot be written, votes wait unacknowledged, phones and the chair
    are told; once it can, the queued votes are committed and acknowledged."""
    await chair(livepoll_server, "toggle_voting")
    phone = await open_phone(livepoll_server, new_voter_token())
    # The store's own connection is switched to read-only, as if the file had become
    # unwritable: every commit fails until it is switched back.
    database = livepoll_server.store._db
    await database.execute("PRAGMA query_only = ON")
    await phone.connection.send(json.dumps({"type": "vote", "q": "q1", "answer": 2, "seq": 1}))
    others = [await open_phone(livepoll_server) for _ in range(30)]
    for index, other in enumerate(others):
        await other.connection.send(
            json.dumps({"type": "vote", "q": "q1", "answer": 0, "seq": 1, "n": index})
        )
    notice = await phone.receive()
    while notice["type"] != "notice":
        notice = await phone.receive()
    assert notice["code"] == "storage_problem"
    assert livepoll_server.store.problem is not None
    assert "readonly" in livepoll_server.store.problem
    latecomer = await open_phone(livepoll_server)
    joined_notice = await latecomer.receive()
    assert (joined_notice["type"], joined_notice["code"]) == ("notice", "storage_problem"), (
        "a phone joining during the outage is told right after its state"
    )
    await asyncio.sleep(0.3)
    assert livepoll_server.store.problem is not None, "still failing, still no ack"
    await database.execute("PRAGMA query_only = OFF")
    frames = []
    async with asyncio.timeout(10):
        while not any(frame["type"] == "ack" for frame in frames):
            frames.append(await phone.receive())
    assert any(f["type"] == "notice" and f["code"] == "storage_ok" for f in frames)
    assert livepoll_server.store.problem is None
    for other in others:
        assert (await other.reply())["type"] == "ack"
    await livepoll_server.store.flush()
    async with database.execute("SELECT count(*) FROM responses") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    assert row[0] == 31


async def test_full_disk_holds_acks_until_there_is_room(livepoll_server: LivepollServer) -> None:
    """A full disk (the file may not grow: SQLite's max_page_count) stops acks and says so;
    once there is room, every queued vote is committed and acknowledged, none twice."""
    await chair(livepoll_server, "toggle_voting")
    database = livepoll_server.store._db
    async with database.execute("PRAGMA page_count") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    await database.execute(f"PRAGMA max_page_count = {row[0]}")
    watcher = await open_phone(livepoll_server)
    phones = [await open_phone(livepoll_server) for _ in range(120)]
    for index, phone in enumerate(phones):
        await phone.connection.send(
            json.dumps({"type": "vote", "q": "q1", "answer": index % 3, "seq": 1})
        )
    async with asyncio.timeout(10):
        notice = await watcher.receive()
        while notice["type"] != "notice":
            notice = await watcher.receive()
    assert notice["code"] == "storage_problem"
    assert livepoll_server.store.problem is not None
    assert "full" in livepoll_server.store.problem
    await database.execute("PRAGMA max_page_count = 1073741823")
    for phone in phones:
        assert (await phone.reply())["type"] == "ack"
    assert livepoll_server.store.problem is None
    await livepoll_server.store.flush()
    async with database.execute("SELECT count(*) FROM responses") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    assert row[0] == 120
