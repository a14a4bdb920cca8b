"""An event's rooms on Redis: one owner for every room, gateways that serve them all.

Each test runs a private Debian ``redis-server``, the event server as the owner of
every room (``livepoll serve EVENT.toml --redis URL``) and gateways (``livepoll
gateway --redis URL``, which learn the rooms the owner published) as real processes,
with real WebSocket phones and the real SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from clients import new_voter_token
from livepoll import protocol
from livepoll.server.bus import EVENT_KEY
from livepoll.server.redis_bus import RedisSettings
from livepoll.server.redis_bus import connect as connect_redis
from livepoll.store import voter_key
from redis_helpers import (
    Phones,
    RedisProcess,
    gateway_process,
    http_get,
    redis_server,
    run_livepoll,
)
from serving import stop_process

__all__ = ["redis_server"]  # the fixture, used by name

DECK = """title = "{title}"
[[questions]]
id = "q1"
type = "single"
prompt = "Which?"
options = ["A", "B", "C", "D"]
"""
EVENT = """title = "Gateway Conference"
[[rooms]]
id = "hall"
name = "Main hall"
sessions = ["first.toml", "second.toml"]
[[rooms]]
id = "side"
name = "Side room"
sessions = ["first.toml"]
"""


@pytest.fixture
def event(tmp_path: Path) -> Path:
    """An event of two rooms; the hall runs two decks, one after the other."""
    (tmp_path / "first.toml").write_text(DECK.format(title="First deck"), encoding="utf-8")
    (tmp_path / "second.toml").write_text(DECK.format(title="Second deck"), encoding="utf-8")
    path = tmp_path / "event.toml"
    path.write_text(EVENT, encoding="utf-8")
    return path


def _environment() -> dict[str, str]:
    """The tests' environment without a presenter token (an event makes its own)."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("LIVEPOLL_PRESENTER_TOKEN", "PYTHONASYNCIODEBUG")
    }


@contextlib.asynccontextmanager
async def event_owner(
    event: Path, database: Path, redis_url: str, log: Path
) -> AsyncIterator[dict[str, Any]]:
    """Run ``livepoll serve EVENT --redis URL`` and yield its ready line plus
    ``"process"``, the child itself."""
    command = [sys.executable, "-m", "livepoll", "serve", str(event), "--db", str(database)]
    command += ["--host", "127.0.0.1", "--port", "0", "--ready-json", "--redis", redis_url]
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=stderr, env=_environment()
        )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(60):
            line = await process.stdout.readline()
        assert line, f"the event server did not start; see {log}"
        ready: dict[str, Any] = json.loads(line)
        ready["process"] = process
        yield ready
    finally:
        await stop_process(process)


async def open_voting(owner: dict[str, Any], room: str) -> None:
    """Open voting on a room's current question through its presenter channel."""
    url = f"ws://127.0.0.1:{owner['port']}/r/{room}/presenter"
    headers = {"Authorization": f"Bearer {owner['rooms'][room]['token']}"}
    async with connect(url, additional_headers=headers) as presenter:
        await presenter.recv()
        await presenter.recv()
        await presenter.send(protocol.encode_command("open"))
        while (state := json.loads(await presenter.recv())).get("type") != "state":
            pass
        assert state["status"] == "open"


def phone_url(gateway: dict[str, Any], room: str) -> str:
    """A room's audience socket on a gateway."""
    return f"ws://127.0.0.1:{gateway['port']}/r/{room}/ws"


def sessions_of(database: Path, room: str) -> list[tuple[int, bytes, str]]:
    """A room's sessions in order: (id, salt, deck title)."""
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute(
            "SELECT id, salt, deck_title FROM sessions WHERE room = ? ORDER BY id", (room,)
        ).fetchall()
    finally:
        connection.close()
    return [(session, bytes(salt), title) for session, salt, title in rows]


def votes_in(database: Path, session: int) -> dict[str, tuple[list[int], int]]:
    """The stored answers to q1 in one session: voter key → (answer, changes)."""
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute(
            "SELECT voter, answer, changes FROM responses "
            "WHERE session_id = ? AND question_id = 'q1'",
            (session,),
        ).fetchall()
    finally:
        connection.close()
    return {voter: (json.loads(answer), changes) for voter, answer, changes in rows}


def assert_stored_once(database: Path, session: int, salt: bytes, phones: Phones) -> None:
    """Each phone's last answer is in ``session`` once, changed once (or, for a phone
    that resent both votes after a reconnect, three times), and nothing else is."""
    stored = votes_in(database, session)
    assert len(stored) == len(phones.tokens)
    for token in phones.tokens:
        answer, changes = stored[voter_key(salt, token)]
        assert answer == [phones.answers[token]]
        assert changes in ((1, 3) if token in phones.resent else (1,)), changes


async def test_phones_in_two_rooms_over_two_gateways_are_stored_once_in_their_room(
    redis_server: RedisProcess, event: Path, tmp_path: Path
) -> None:
    """Phones of both rooms, spread over two gateways, are acked; each vote is stored
    once in its own room's session, and the gateways list the rooms as the event
    server does."""
    database = tmp_path / "event.db"
    log = tmp_path / "log.txt"
    async with (
        event_owner(event, database, redis_server.url, log) as owner,
        gateway_process(redis_server.url, log=log) as first,
        gateway_process(redis_server.url, log=log) as second,
    ):
        assert first["rooms"] == second["rooms"] == ["hall", "side"]
        await open_voting(owner, "hall")
        await open_voting(owner, "side")
        rooms = {"hall": Phones(120), "side": Phones(120)}
        tasks = [
            asyncio.create_task(phones.vote(token, [phone_url((first, second)[i % 2], room)]))
            for room, phones in rooms.items()
            for i, token in enumerate(phones.tokens)
        ]
        async with asyncio.timeout(90):
            await asyncio.gather(*tasks)

        base = f"http://127.0.0.1:{first['port']}"
        status, page = await asyncio.to_thread(http_get, f"{base}/")
        assert status == 200
        assert '<a href="/r/hall/">Main hall</a>' in page
        assert '<a href="/r/side/">Side room</a>' in page
        status, page = await asyncio.to_thread(http_get, f"{base}/r/nope/")
        assert status == 404
        assert "This room does not exist" in page
        assert "There is no room “nope” at Gateway Conference" in page
        assert '<a href="/r/side/">Side room</a>' in page
        status, page = await asyncio.to_thread(http_get, f"{base}/r/side/")
        assert (status, "<!doctype html>") == (200, page[:15].lower())
    for room, phones in rooms.items():
        ((session, salt, _),) = sessions_of(database, room)
        assert_stored_once(database, session, salt, phones)


async def test_a_room_moving_on_takes_the_phones_on_gateways_to_its_next_session(
    redis_server: RedisProcess, event: Path, tmp_path: Path
) -> None:
    """The organiser moves the hall on: its phones on a gateway are closed, reconnect,
    get the second deck, and their votes go to the new session (keyed with its salt);
    the side room's phone stays where it was."""
    database = tmp_path / "event.db"
    log = tmp_path / "log.txt"
    hall_token, side_token = new_voter_token(), new_voter_token()
    async with (
        event_owner(event, database, redis_server.url, log) as owner,
        gateway_process(redis_server.url, log=log) as gateway,
        connect(phone_url(gateway, "hall")) as hall,
        connect(phone_url(gateway, "side")) as side,
    ):
        for phone, token in ((hall, hall_token), (side, side_token)):
            await phone.send(json.dumps({"type": "hello", "voter": token}))
        async with asyncio.timeout(15):
            first_state = json.loads(await hall.recv())
            assert json.loads(await side.recv())["type"] == "state"
        assert first_state["title"] == "First deck"

        control = f"ws://127.0.0.1:{owner['port']}/control"
        headers = {"Authorization": f"Bearer {owner['organiser_token']}"}
        async with connect(control, additional_headers=headers) as organiser:
            # The control room counts the phones on gateways, room by room.
            async with asyncio.timeout(15):
                while {
                    row["id"]: row["phones"] for row in json.loads(await organiser.recv())["rooms"]
                } != {"hall": 1, "side": 1}:
                    pass
            await organiser.send(protocol.encode_control_command("next_session", "hall"))
            # The gateway closes the hall's phone as the event server closes its own.
            async with asyncio.timeout(15):
                with contextlib.suppress(ConnectionClosed):
                    async for _frame in hall:
                        pass
        assert (hall.close_code, hall.close_reason) == (1012, "next session")

        await open_voting(owner, "hall")
        async with asyncio.timeout(15), connect(phone_url(gateway, "hall")) as again:
            await again.send(json.dumps({"type": "hello", "voter": hall_token}))
            state = json.loads(await again.recv())
            assert (state["title"], state["status"]) == ("Second deck", "open")
            await again.send(json.dumps({"type": "vote", "q": "q1", "answer": 2, "seq": 1}))
            while (reply := json.loads(await again.recv())).get("seq") != 1:
                pass
            assert reply["type"] == "ack"
        assert side.close_code is None, "the other room's phone was left alone"

    (_, first_salt, first), (session, salt, second) = sessions_of(database, "hall")
    assert (first, second) == ("First deck", "Second deck")
    assert votes_in(database, session) == {voter_key(salt, hall_token): ([2], 0)}
    assert voter_key(first_salt, hall_token) not in votes_in(database, session)


async def test_a_gateway_started_before_the_event_owner_serves_its_rooms_once_it_starts(
    redis_server: RedisProcess, event: Path, tmp_path: Path
) -> None:
    """A gateway that found no owner waits (its health check says so), then serves every
    room of the event as soon as the event's owner publishes them; phones in a room
    vote through it and their votes are stored once in that room."""
    database = tmp_path / "event.db"
    log = tmp_path / "log.txt"
    async with gateway_process(redis_server.url, log=log) as gateway:
        health = f"http://127.0.0.1:{gateway['port']}/healthz"
        status, body = await asyncio.to_thread(http_get, health)
        assert (status, json.loads(body)) == (503, {"status": "waiting_for_owner"})
        assert (gateway["waiting"], gateway["rooms"]) == (True, [])
        async with event_owner(event, database, redis_server.url, log) as owner:
            async with asyncio.timeout(30):
                serving = json.loads(await gateway["process"].stdout.readline())
            assert (serving["waiting"], serving["rooms"]) == (False, ["hall", "side"])
            assert await asyncio.to_thread(http_get, health) == (200, '{"status": "ok"}\n')
            await open_voting(owner, "side")
            phones = Phones(3)
            async with asyncio.timeout(30):
                await asyncio.gather(
                    *(phones.vote(token, [phone_url(gateway, "side")]) for token in phones.tokens)
                )
    ((session, salt, _),) = sessions_of(database, "side")
    assert_stored_once(database, session, salt, phones)


async def test_an_event_owner_publishes_its_rooms_again_after_redis_restarts_empty(
    redis_server: RedisProcess, event: Path, tmp_path: Path
) -> None:
    """Redis restarts empty under a running event owner: the owner writes its rooms
    again, so a gateway started afterwards serves them rather than waiting for an owner
    (or serving a room nobody owns)."""
    log = tmp_path / "log.txt"
    async with event_owner(event, tmp_path / "event.db", redis_server.url, log):
        redis_server.stop()
        redis_server.start()
        async with gateway_process(redis_server.url, log=log) as gateway:
            serving = gateway
            if gateway.get("waiting"):
                async with asyncio.timeout(30):
                    serving = json.loads(await gateway["process"].stdout.readline())
            assert serving["rooms"] == ["hall", "side"]


EDITED_EVENT = """title = "Gateway Conference, day two"
[[rooms]]
id = "hall"
name = "Great hall"
sessions = ["first.toml", "second.toml"]
[[rooms]]
id = "annex"
name = "Annex"
sessions = ["first.toml"]
"""


async def test_an_event_gateway_follows_the_rooms_of_a_restarted_owner(
    redis_server: RedisProcess, event: Path, tmp_path: Path
) -> None:
    """The owner restarts with an edited event file: the gateway serves the added room,
    lists the new title and names, tells the removed room's phones why it closes them
    (its address then says the room does not exist), and leaves a staying room's phone
    connected, still voting."""
    database = tmp_path / "event.db"
    log = tmp_path / "log.txt"
    edited = tmp_path / "edited.toml"
    edited.write_text(EDITED_EVENT, encoding="utf-8")
    hall_token = new_voter_token()
    async with (
        event_owner(event, database, redis_server.url, log) as first_owner,
        gateway_process(redis_server.url, log=log) as gateway,
        connect(phone_url(gateway, "hall")) as hall,
        connect(phone_url(gateway, "side")) as side,
    ):
        for phone, token in ((hall, hall_token), (side, new_voter_token())):
            await phone.send(json.dumps({"type": "hello", "voter": token}))
        async with asyncio.timeout(15):
            assert json.loads(await hall.recv())["type"] == "state"
            assert json.loads(await side.recv())["type"] == "state"
        await stop_process(first_owner["process"])
        async with event_owner(edited, database, redis_server.url, log) as owner:
            frames = []
            async with asyncio.timeout(30):
                with contextlib.suppress(ConnectionClosed):
                    async for frame in side:
                        frames.append(json.loads(frame))
            assert (side.close_code, side.close_reason) == (1001, "room removed from the event")
            assert "room_removed" in [frame.get("code") for frame in frames]
            base = f"http://127.0.0.1:{gateway['port']}"
            status, page = await asyncio.to_thread(http_get, f"{base}/")
            assert status == 200
            assert "<h1>Gateway Conference, day two</h1>" in page
            assert '<a href="/r/hall/">Great hall</a>' in page
            assert '<a href="/r/annex/">Annex</a>' in page
            assert "Side room" not in page
            status, page = await asyncio.to_thread(http_get, f"{base}/r/side/")
            assert status == 404
            assert "This room does not exist" in page

            await open_voting(owner, "annex")
            phones = Phones(2)
            async with asyncio.timeout(30):
                await asyncio.gather(
                    *(phones.vote(token, [phone_url(gateway, "annex")]) for token in phones.tokens)
                )
            await open_voting(owner, "hall")
            assert hall.close_code is None, "the staying room's phone was left alone"
            await hall.send(json.dumps({"type": "vote", "q": "q1", "answer": 3, "seq": 1}))
            async with asyncio.timeout(15):
                while (reply := json.loads(await hall.recv())).get("seq") != 1:
                    pass
            assert reply["type"] == "ack"
    ((session, salt, _),) = sessions_of(database, "annex")
    assert_stored_once(database, session, salt, phones)


async def test_a_second_owner_of_the_event_is_refused_naming_the_room(
    redis_server: RedisProcess, event: Path, tmp_path: Path
) -> None:
    """While an event has its owner, another 'serve EVENT --redis' says which room is
    taken and exits before opening a database."""
    log = tmp_path / "log.txt"
    async with event_owner(event, tmp_path / "a.db", redis_server.url, log):
        env = dict(_environment(), LIVEPOLL_REDIS_PASSWORD=redis_server.password)
        result = await asyncio.to_thread(
            run_livepoll,
            "serve", str(event), "--db", str(tmp_path / "b.db"), "--host", "127.0.0.1",
            "--port", "0", "--redis", redis_server.url,
            env=env,
        )  # fmt: skip
    assert result.returncode == 1
    first_line, *_ = result.stderr.splitlines()
    assert first_line.startswith("livepoll: room 'hall' already has an owner (")
    assert "run one event per Redis" in first_line
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "b.db").exists(), "a refused owner opens no database"


def test_an_event_with_a_room_option_is_refused(event: Path, tmp_path: Path) -> None:
    """An event names its rooms; --room beside it is refused in one line."""
    result = run_livepoll(
        "serve", str(event), "--db", str(tmp_path / "e.db"),
        "--redis", "redis://127.0.0.1/", "--room", "hall",
        env=_environment(),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        "livepoll: an event names its own rooms: drop --room (each room of the event is "
        "owned on Redis under its id)\n"
    )
    assert not (tmp_path / "e.db").exists()


async def test_a_gateway_caps_an_address_across_the_rooms(
    redis_server: RedisProcess, event: Path, tmp_path: Path
) -> None:
    """--max-per-address counts an address's phones in every room of the gateway: a
    second phone from it is refused in the other room too."""
    log = tmp_path / "log.txt"
    async with (
        event_owner(event, tmp_path / "event.db", redis_server.url, log),
        gateway_process(redis_server.url, "--max-per-address", "1", log=log) as gateway,
        connect(phone_url(gateway, "hall")),
    ):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(phone_url(gateway, "side")):
                pass
        assert refused.value.response.status_code == 429


async def test_a_gateway_refuses_an_event_listing_it_cannot_read(
    redis_server: RedisProcess, tmp_path: Path
) -> None:
    """Something else at livepoll:event stops a gateway with one line, not a traceback."""
    client = await connect_redis(RedisSettings(redis_server.url, None, redis_server.password))
    try:
        await client.set(EVENT_KEY, "not an event")
    finally:
        await client.aclose()
    result = await asyncio.to_thread(
        run_livepoll, "gateway", "--redis", redis_server.url, "--port", "0", env=_environment()
    )
    assert result.returncode == 1
    assert result.stderr.startswith("livepoll: cannot read the event's rooms from Redis: ")
    assert len(result.stderr.splitlines()) == 1


def test_an_event_server_without_redis_imports_nothing_of_redis(
    event: Path, tmp_path: Path
) -> None:
    """'livepoll serve EVENT.toml' without --redis never loads the redis package, the
    owner or the gateway, through the CLI's own path."""
    code = f"""
import asyncio, sys
from livepoll import cli
from livepoll.event import from_file
from livepoll.server.app import ServerConfig

async def main():
    event = from_file({str(event)!r})
    config = ServerConfig(deck=event.rooms[0].decks[0], database={str(tmp_path / "e.db")!r},
                          host="127.0.0.1", port=0)
    loop = asyncio.get_running_loop()
    loop.call_later(1.0, lambda: [task.cancel() for task in asyncio.all_tasks()
                                  if task.get_name() == "serving"])
    await cli._serve_event_until_stopped(event, config, ready_json=True)

async def run():
    task = asyncio.create_task(main(), name="serving")
    try:
        await task
    except asyncio.CancelledError:
        pass

asyncio.run(run())
print(",".join(sorted(m for m in sys.modules
    if m.split(".")[0] == "redis" or m.startswith(("livepoll.server.owner",
        "livepoll.server.gateway", "livepoll.server.redis_bus")))))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    ready, modules, *_ = result.stdout.split("\n")
    assert json.loads(ready)["rooms"].keys() == {"hall", "side"}, "the event server ran"
    assert modules == ""
