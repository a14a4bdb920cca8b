"""Phone gateways on Redis: votes through gateways, and the faults the split must survive.

Every test runs a private Debian ``redis-server`` (password, loopback, nothing on
disk), a room owner (``livepoll serve DECK --redis URL``) and gateways (``livepoll
gateway``) as real processes, with real WebSocket phones and the real SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from clients import new_voter_token
from livepoll import protocol
from livepoll.server.app import ServerConfig, running_server
from livepoll.server.bus import DEFAULT_ROOM, RoomKeys
from livepoll.server.owner import claimed_room
from livepoll.server.redis_bus import RedisSettings, RedisSetupError
from livepoll.server.redis_bus import connect as connect_redis
from livepoll.store import voter_key
from redis_helpers import (
    Phones,
    RedisProcess,
    free_port,
    gateway_process,
    http_get,
    http_json,
    redis_server,
    run_livepoll,
)
from serving import serve_process, stop_process

__all__ = ["redis_server"]  # the fixture, used by name

DECK = """title = "Gateway test"
[[questions]]
id = "q1"
type = "single"
prompt = "Which?"
options = ["A", "B", "C", "D"]
"""
TOKEN = "gateway-test-presenter-token"


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    """The one-question deck, as a file."""
    path = tmp_path / "deck.toml"
    path.write_text(DECK, encoding="utf-8")
    return path


async def open_voting(port: int) -> None:
    """Open voting on the owner's current question through its presenter channel."""
    url = f"ws://127.0.0.1:{port}/presenter"
    async with connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as presenter:
        await presenter.recv()
        await presenter.recv()
        await presenter.send(protocol.encode_command("open"))
        state = json.loads(await presenter.recv())
        assert state["status"] == "open"


async def presenter_state(port: int) -> dict[str, Any]:
    """The state the chair's console gets on connecting."""
    url = f"ws://127.0.0.1:{port}/presenter"
    async with connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as presenter:
        await presenter.recv()
        state: dict[str, Any] = json.loads(await presenter.recv())
    return state


async def frames_until_closed(url: str) -> list[dict[str, Any]]:
    """A phone that says hello and listens until its gateway closes the connection."""
    frames = []
    async with connect(url) as phone:
        await phone.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
        try:
            async for frame in phone:
                frames.append(json.loads(frame))
        except ConnectionClosed:
            pass
    return frames


def stored_votes(database: Path) -> dict[str, tuple[Any, int]]:
    """The stored responses to q1: voter key → (answer, changes)."""
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute(
            "SELECT voter, answer, changes FROM responses WHERE question_id = 'q1'"
        ).fetchall()
    finally:
        connection.close()
    return {voter: (json.loads(answer), changes) for voter, answer, changes in rows}


def salt_of(database: Path) -> bytes:
    """The session's salt, to find each token's row."""
    connection = sqlite3.connect(database)
    try:
        (salt,) = connection.execute("SELECT salt FROM sessions ORDER BY id DESC").fetchone()
    finally:
        connection.close()
    return bytes(salt)


def assert_each_stored_once(database: Path, phones: Phones) -> None:
    """Every phone's vote is stored once, with its last answer, changed exactly once: a
    vote applied twice would show as more changes. A phone that reconnected resent both
    votes if neither was acked, and the owner applied them again, in order, as a server
    alone does after a restart (two more changes; the answer is still the last one)."""
    stored = stored_votes(database)
    salt = salt_of(database)
    assert len(stored) == len(phones.tokens)
    for token in phones.tokens:
        answer, changes = stored[voter_key(salt, token)]
        assert answer == [phones.answers[token]]
        if token in phones.resent:
            assert changes in (1, 3), changes
        else:
            assert changes == 1, f"applied twice without a resend ({changes} changes)"


async def test_votes_through_two_gateways_are_acked_and_stored_once(
    redis_server: RedisProcess, deck: Path, tmp_path: Path
) -> None:
    """Phones on two gateways vote; each gets its ack and each vote is stored once."""
    database = tmp_path / "room.db"
    log = tmp_path / "log.txt"
    async with (
        serve_process(deck, database, TOKEN, "--redis", redis_server.url, log=log) as owner,
        gateway_process(redis_server.url, log=log) as first,
        gateway_process(redis_server.url, log=log) as second,
    ):
        await open_voting(owner["port"])
        phones = Phones(200)
        tasks = [
            asyncio.create_task(phones.vote(token, [(first, second)[i % 2]["url"]]))
            for i, token in enumerate(phones.tokens)
        ]
        async with asyncio.timeout(60):
            await asyncio.gather(*tasks)
        state = await presenter_state(owner["port"])
        assert state["respondents"] == 200, "the chair sees every phone's vote"
    assert_each_stored_once(database, phones)


async def test_a_phone_on_a_gateway_gets_the_state_and_live_results(
    redis_server: RedisProcess, deck: Path, tmp_path: Path
) -> None:
    """Hello gets the room's state; when the chair opens voting, the phone hears it."""
    database = tmp_path / "room.db"
    async with (
        serve_process(deck, database, TOKEN, "--redis", redis_server.url) as owner,
        gateway_process(redis_server.url) as gateway,
        connect(gateway["url"]) as phone,
    ):
        await phone.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
        async with asyncio.timeout(15):
            state = json.loads(await phone.recv())
            assert (state["type"], state["status"]) == ("state", "pending")
            await open_voting(owner["port"])
            while (state := json.loads(await phone.recv()))["type"] != "state":
                pass
        assert state["status"] == "open"
        url = f"ws://127.0.0.1:{owner['port']}/presenter"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with asyncio.timeout(15), connect(url, additional_headers=headers) as presenter:
            # Gateways report their phones every second; the console hears of a change.
            while json.loads(await presenter.recv()).get("phones") != 1:
                pass
        await phone.send(json.dumps({"type": "vote", "q": "q1", "answer": 9, "seq": 1}))
        async with asyncio.timeout(15):
            while (reply := json.loads(await phone.recv())).get("seq") != 1:
                pass
        assert reply["type"] == "error", "the owner's engine refuses a bad option"


async def test_a_second_owner_for_the_room_is_refused(
    redis_server: RedisProcess, deck: Path, tmp_path: Path
) -> None:
    """While a room has a live owner, another 'serve --redis' for it says so and exits."""
    async with serve_process(deck, tmp_path / "a.db", TOKEN, "--redis", redis_server.url):
        result = await asyncio.to_thread(
            run_livepoll,
            "serve", str(deck), "--db", str(tmp_path / "b.db"), "--host", "127.0.0.1",
            "--port", "0", "--redis", redis_server.url, "--token", TOKEN * 2,
        )  # fmt: skip
    assert result.returncode == 1
    assert "room 'default' already has an owner" in result.stderr
    assert not (tmp_path / "b.db").exists(), "a refused owner opens no database"


@pytest.mark.parametrize("command", ["gateway", "serve"])
async def test_a_wrong_redis_password_is_refused_plainly(
    redis_server: RedisProcess, deck: Path, tmp_path: Path, command: str
) -> None:
    """A wrong password stops the process at start with one clear line, never the password."""
    env = dict(os.environ, LIVEPOLL_REDIS_PASSWORD="not-the-password")
    arguments = ["--redis", redis_server.url]
    if command == "serve":
        arguments = [str(deck), "--db", str(tmp_path / "x.db"), "--port", "0", *arguments]
    result = await asyncio.to_thread(run_livepoll, command, *arguments, env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"livepoll: Redis at 127.0.0.1:{redis_server.port} refused the password for the "
        "default user: check $LIVEPOLL_REDIS_PASSWORD or the password file"
    )


async def test_a_missing_redis_password_and_one_in_the_url_are_refused(
    redis_server: RedisProcess, tmp_path: Path
) -> None:
    """No password: Redis's refusal is explained; a password in the URL is not accepted."""
    env = {k: v for k, v in os.environ.items() if k != "LIVEPOLL_REDIS_PASSWORD"}
    result = await asyncio.to_thread(run_livepoll, "gateway", "--redis", redis_server.url, env=env)
    assert result.returncode == 1
    assert "needs a password for the default user" in result.stderr
    url = f"redis://:{redis_server.password}@127.0.0.1:{redis_server.port}/0"
    result = await asyncio.to_thread(run_livepoll, "gateway", "--redis", url)
    assert result.returncode == 2
    assert "has a password in it" in result.stderr
    assert redis_server.password not in result.stderr
    password_file = tmp_path / "redis-password"
    password_file.write_text(redis_server.password + "\n")
    env["LIVEPOLL_REDIS_PASSWORD"] = "wrong"
    async with gateway_process(
        redis_server.url, "--redis-password-file", str(password_file)
    ) as gateway:
        assert gateway["port"] > 0, "the file's password wins over the environment"


async def test_gateways_on_one_machine_share_a_port(
    redis_server: RedisProcess, deck: Path, tmp_path: Path
) -> None:
    """Two gateways listen on the same port (SO_REUSEPORT); phones through it vote."""
    port = free_port()
    async with (
        serve_process(deck, tmp_path / "room.db", TOKEN, "--redis", redis_server.url) as owner,
        gateway_process(redis_server.url, port=port) as first,
        gateway_process(redis_server.url, port=port) as second,
    ):
        assert first["port"] == second["port"] == port
        assert first["gateway"] != second["gateway"]
        await open_voting(owner["port"])
        phones = Phones(40)
        async with asyncio.timeout(30):
            await asyncio.gather(*phones.burst([first["url"]], 0.5))
    assert_each_stored_once(tmp_path / "room.db", phones)


async def test_a_gateway_started_before_any_owner_waits_saying_so_and_answers_503(
    redis_server: RedisProcess,
) -> None:
    """With no owner in Redis, a gateway without --room prints one line saying it waits
    for one, answers its health check, its pages and phones' sockets with 503 while it
    does, and stops at SIGTERM."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "livepoll", "gateway", "--redis", redis_server.url,
        "--host", "127.0.0.1", "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env=dict(os.environ, PYTHONASYNCIODEBUG=""),
    )  # fmt: skip
    assert process.stdout is not None
    try:
        async with asyncio.timeout(30):
            line = (await process.stdout.readline()).decode()
        assert f"waiting for a room owner on Redis at 127.0.0.1:{redis_server.port}" in line
        base = f"http://127.0.0.1:{port}"
        status, body = await asyncio.to_thread(http_get, f"{base}/healthz")
        assert (status, json.loads(body)) == (503, {"status": "waiting_for_owner"})
        status, body = await asyncio.to_thread(http_get, f"{base}/r/hall/")
        assert status == 503
        assert "The poll has not started yet" in body
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://127.0.0.1:{port}/ws"):
                pass
        assert refused.value.response.status_code == 503
        process.terminate()
        async with asyncio.timeout(15):
            assert await process.wait() == 0
        assert await process.stdout.read() == b"", "one line, and nothing more"
    finally:
        await stop_process(process)


async def test_a_gateway_started_before_a_one_room_owner_serves_its_room_once_it_starts(
    redis_server: RedisProcess, deck: Path, tmp_path: Path
) -> None:
    """A gateway that found no owner serves the room ``default`` as soon as its owner
    takes it, and phones' votes through the gateway are acked and stored once."""
    database = tmp_path / "room.db"
    async with gateway_process(redis_server.url) as gateway:
        assert gateway["rooms"] == [], "it serves no room before the owner takes one"
        assert gateway["waiting"]
        async with serve_process(deck, database, TOKEN, "--redis", redis_server.url) as owner:
            async with asyncio.timeout(30):
                serving = json.loads(await gateway["process"].stdout.readline())
            assert (serving["waiting"], serving["rooms"]) == (False, ["default"])
            await open_voting(owner["port"])
            phones = Phones(3)
            async with asyncio.timeout(30):
                await asyncio.gather(*phones.burst([gateway["url"]], 0.1))
    assert_each_stored_once(database, phones)


def test_a_server_without_redis_imports_nothing_of_redis(tmp_path: Path) -> None:
    """'livepoll serve DECK' without --redis never loads the redis package or the gateway."""
    code = f"""
import asyncio, sys
from livepoll import cli
from livepoll.deck import from_file
from livepoll.server.app import ServerConfig, running_server

async def main():
    config = ServerConfig(deck=from_file({str(tmp_path / "d.toml")!r}),
                          database={str(tmp_path / "d.db")!r}, host="127.0.0.1", port=0)
    async with running_server(config):
        pass

asyncio.run(main())
print(",".join(sorted(m for m in sys.modules
    if m.split(".")[0] == "redis" or m.startswith(("livepoll.server.owner",
        "livepoll.server.gateway", "livepoll.server.redis_bus")))))
"""
    (tmp_path / "d.toml").write_text(DECK, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


# Faults


async def test_a_gateway_killed_mid_burst_loses_no_acked_vote(
    redis_server: RedisProcess, deck: Path, tmp_path: Path
) -> None:
    """SIGKILL a gateway mid-burst: its phones move to the other, every vote stored once."""
    database = tmp_path / "room.db"
    async with (
        serve_process(deck, database, TOKEN, "--redis", redis_server.url) as owner,
        gateway_process(redis_server.url) as doomed,
        gateway_process(redis_server.url) as survivor,
    ):
        await open_voting(owner["port"])
        phones = Phones(300)
        tasks = phones.burst([doomed["url"], survivor["url"]], spread=1.5)
        async with asyncio.timeout(60):
            await phones.when_acked(30).wait()
            doomed["process"].send_signal(signal.SIGKILL)
            await asyncio.gather(*tasks)
        assert len(phones.acked) == 300
    assert_each_stored_once(database, phones)


async def test_an_owner_killed_mid_burst_resumes_after_its_last_commit(
    redis_server: RedisProcess, deck: Path, tmp_path: Path
) -> None:
    """SIGKILL the owner mid-burst and restart it: the rest are applied once, none twice."""
    database = tmp_path / "room.db"
    log = tmp_path / "log.txt"
    async with gateway_process(redis_server.url, log=log) as gateway:
        phones = Phones(300)
        async with serve_process(deck, database, TOKEN, "--redis", redis_server.url) as owner:
            await open_voting(owner["port"])
            tasks = phones.burst([gateway["url"]], spread=1.5)
            async with asyncio.timeout(30):
                await phones.when_acked(30).wait()
            owner["process"].send_signal(signal.SIGKILL)
            await owner["process"].wait()
        assert len(phones.acked) < 300, "the kill landed mid-burst"
        # An ack means durable: whatever was acked is in the file the dead owner left.
        stored, salt = stored_votes(database), salt_of(database)
        for token in list(phones.acked):
            assert stored[voter_key(salt, token)][0] == [phones.answers[token]]
        async with serve_process(
            deck, database, TOKEN, "--redis", redis_server.url, log=log
        ) as owner:
            assert owner["session"] == 1, "the killed session resumes"
            async with asyncio.timeout(60):
                await asyncio.gather(*tasks)
    assert_each_stored_once(database, phones)


async def test_an_owner_starting_asks_phones_with_unanswered_messages_to_resend(
    redis_server: RedisProcess, deck: Path, tmp_path: Path
) -> None:
    """A phone whose message had no answer yet is closed (1012) when an owner starts, so it
    resends: a restarted owner never publishes the acks its predecessor left unsent."""
    database = tmp_path / "room.db"
    owner_options = ("--redis", redis_server.url)
    async with (
        serve_process(deck, database, TOKEN, *owner_options) as first,
        gateway_process(redis_server.url, "--room", "default") as gateway,
        connect(gateway["url"]) as asking,
        connect(gateway["url"]) as idle,
    ):
        for phone in (asking, idle):
            await phone.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
            async with asyncio.timeout(15):
                assert json.loads(await phone.recv())["type"] == "state"
        # The owner dies (its lease stays until it expires, so the gateway keeps its
        # phones): this hello stays unanswered until the next owner starts.
        first["process"].kill()
        await first["process"].wait()
        await asking.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
        async with serve_process(deck, database, TOKEN, *owner_options):
            async with asyncio.timeout(15):
                await asking.wait_closed()
        assert asking.close_code == 1012
        assert idle.state.name == "OPEN", "a phone with nothing unanswered stays"


async def test_a_room_without_an_owner_tells_its_phones_and_takes_them_back_once_it_has_one(
    redis_server: RedisProcess, deck: Path, tmp_path: Path
) -> None:
    """The owner stops (its lease is given back): after a few seconds its gateway tells the
    phones, closes them, answers 503 owner_away and refuses new ones, so nothing piles up
    in the stream unanswered; once an owner is back, phones join and vote again."""
    database = tmp_path / "room.db"
    owner_options = ("--redis", redis_server.url)
    async with gateway_process(redis_server.url, "--room", "default") as gateway:
        health = f"http://127.0.0.1:{gateway['port']}/healthz"
        async with serve_process(deck, database, TOKEN, *owner_options) as owner:
            await open_voting(owner["port"])
            phone = await connect(gateway["url"])
            await phone.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
            async with asyncio.timeout(15):
                assert json.loads(await phone.recv())["type"] == "state"
        frames = []
        async with asyncio.timeout(30):
            with contextlib.suppress(ConnectionClosed):
                async for frame in phone:
                    frames.append(json.loads(frame))
        assert frames[-1] == {
            "type": "notice",
            "code": "reconnecting",
            "message": "The poll server has stopped; reconnecting until it is back…",
        }
        assert phone.close_code == 1012
        assert await asyncio.to_thread(http_json, health) == (503, {"status": "owner_away"})
        with pytest.raises(InvalidStatus) as refused:
            await connect(gateway["url"])
        assert refused.value.response.status_code == 503
        async with serve_process(deck, database, TOKEN, *owner_options) as again:
            await open_voting(again["port"])  # a new session: the first one ended cleanly
            async with asyncio.timeout(30):
                await status_becomes(health, 200)
            async with connect(gateway["url"]) as back:
                token = new_voter_token()
                await back.send(json.dumps({"type": "hello", "voter": token}))
                async with asyncio.timeout(15):
                    assert json.loads(await back.recv())["type"] == "state"
                    vote = {"type": "vote", "q": "q1", "answer": 2, "seq": 1}
                    await back.send(json.dumps(vote))
                    while (reply := json.loads(await back.recv()))["type"] != "ack":
                        pass
        assert reply["seq"] == 1
    stored = stored_votes(database)
    assert stored[voter_key(salt_of(database), token)] == ([2], 0)


async def status_becomes(url: str, status: int) -> None:
    """Poll ``url`` until it answers ``status``."""
    while True:
        if (await asyncio.to_thread(http_json, url))[0] == status:
            return
        await asyncio.sleep(0.2)


async def test_a_redis_outage_tells_phones_and_voting_resumes_by_itself(
    redis_server: RedisProcess, deck: Path, tmp_path: Path
) -> None:
    """Stop Redis for 3 s mid-burst: phones hear "reconnecting", then every vote lands once."""
    database = tmp_path / "room.db"
    log = tmp_path / "log.txt"
    async with (
        serve_process(deck, database, TOKEN, "--redis", redis_server.url, log=log) as owner,
        gateway_process(redis_server.url, log=log) as gateway,
    ):
        await open_voting(owner["port"])
        listener = asyncio.create_task(frames_until_closed(gateway["url"]))
        phones = Phones(300)
        tasks = phones.burst([gateway["url"]], spread=2.0)
        async with asyncio.timeout(90):
            await phones.when_acked(30).wait()
            redis_server.stop()
            await asyncio.sleep(3)
            redis_server.start()
            await asyncio.gather(*tasks)
            frames = await listener
        assert frames[-1] == {
            "type": "notice",
            "code": "reconnecting",
            "message": "The poll server is out of reach; reconnecting…",
        }
    assert_each_stored_once(database, phones)


async def test_a_stalled_gateway_does_not_slow_the_others(
    redis_server: RedisProcess, deck: Path, tmp_path: Path
) -> None:
    """With one gateway frozen (SIGSTOP), phones on the other are acked as fast as ever."""
    database = tmp_path / "room.db"
    async with (
        serve_process(deck, database, TOKEN, "--redis", redis_server.url) as owner,
        gateway_process(redis_server.url) as frozen,
        gateway_process(redis_server.url) as lively,
    ):
        await open_voting(owner["port"])
        stuck = Phones(50)
        stuck_tasks = stuck.burst([frozen["url"]], spread=0.0)
        await asyncio.sleep(0.5)
        frozen["process"].send_signal(signal.SIGSTOP)
        try:
            phones = Phones(100)
            started = time.monotonic()
            async with asyncio.timeout(20):
                await asyncio.gather(*phones.burst([lively["url"]], spread=0.0))
            slowest = max(phones.acked.values()) - started
            assert slowest < 10, f"the last ack took {slowest:.1f} s"
        finally:
            frozen["process"].send_signal(signal.SIGCONT)
        async with asyncio.timeout(30):
            await asyncio.gather(*stuck_tasks)
    stored = stored_votes(database)
    assert len(stored) == 150


# The owner's stream positions, in process (a real Redis, a real server and file)


async def test_an_owner_admits_by_code_and_resumes_inside_an_entry(
    redis_server: RedisProcess, server_config: ServerConfig
) -> None:
    """Hellos with a room code are admitted durably, mid-entry; a restart whose last
    commit ended inside an entry applies only the rest of it."""
    server_config.join_mode = "code"
    settings = RedisSettings.from_options(redis_server.url)
    client = await connect_redis(settings)
    keys = RoomKeys(DEFAULT_ROOM)
    listener = client.pubsub()
    await listener.subscribe(keys.replies("g1"))
    admitted, stranger = new_voter_token(), new_voter_token()

    def line(connection: int, kind: str, token: str, frame: dict[str, Any]) -> str:
        address = "127.0.0.1" if kind == "h" else "-"
        return f"{connection} {kind} {token} {address} {json.dumps(frame)}"

    async def replies(count: int) -> list[tuple[str, dict[str, Any]]]:
        got: list[tuple[str, dict[str, Any]]] = []
        async with asyncio.timeout(15):
            while len(got) < count:
                message = await listener.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is None:
                    continue
                for text in str(message["data"]).split("\n"):
                    connection, _, frame = text.partition(" ")
                    got.append((connection, json.loads(frame)))
        return got

    try:
        async with running_server(server_config) as server:
            server.apply_command(protocol.Command("open"))
            code = server.gate.room_code
            async with claimed_room(client, settings, DEFAULT_ROOM) as owner:
                async with owner.serve(server):
                    vote = {"type": "vote", "q": "q1", "answer": 1, "seq": 1}
                    first = await client.xadd(
                        keys.inbound,
                        {
                            "g": "g1",
                            "m": "\n".join(
                                [
                                    line(1, "h", admitted, hello(admitted, code)),
                                    line(1, "m", admitted, vote),
                                    line(2, "h", stranger, hello(stranger, None)),
                                    line(2, "m", stranger, vote),
                                ]
                            ),
                        },
                    )
                    got = await replies(4)
                    assert [(c, f["type"], f.get("code")) for c, f in got] == [
                        ("1", "state", None),
                        ("1", "ack", None),
                        ("2", "error", "code_needed"),
                        ("2", "error", "code_needed"),
                    ]
                    assert await server.store.stream_position(DEFAULT_ROOM) == first
                second = await client.xadd(
                    keys.inbound,
                    {
                        "g": "g1",
                        "m": "\n".join(
                            [
                                line(3, "h", admitted, hello(admitted, code)),
                                line(3, "m", admitted, {**vote, "answer": 2, "seq": 2}),
                            ]
                        ),
                    },
                )
                # As if the last commit had ended after the hello's admission:
                await server.store.save_stream_position(DEFAULT_ROOM, f"{second}#0")
                async with owner.serve(server):
                    got = await replies(1)
                    assert [(c, f["type"], f.get("seq")) for c, f in got] == [("3", "ack", 2)]
                    # The ack went out after the commit, so the position is there.
                    assert await server.store.stream_position(DEFAULT_ROOM) == second
            key = voter_key(server._salt, admitted)
            assert server.session.current.answers[key] == (2,)
    finally:
        await listener.aclose()
        await client.aclose()


def hello(token: str, code: str | None) -> dict[str, Any]:
    """A phone's hello frame, with the room code it shows."""
    return {"type": "hello", "voter": token, **({"code": code} if code else {})}


# Options, refused before anything starts


def test_redis_options_that_cannot_work_are_refused_with_one_line(tmp_path: Path) -> None:
    """A URL of another scheme, an unreadable or empty password file: one clear sentence."""
    with pytest.raises(RedisSetupError) as caught:
        RedisSettings.from_options("http://127.0.0.1:6379/")
    assert str(caught.value) == (
        "--redis takes a redis://, rediss:// or unix:// URL, not 'http://127.0.0.1:6379/'"
    )
    with pytest.raises(RedisSetupError) as caught:
        RedisSettings.from_options("redis://127.0.0.1/", tmp_path / "missing")
    assert str(caught.value).startswith(f"cannot read the Redis password file {tmp_path}/missing")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(RedisSetupError) as caught:
        RedisSettings.from_options("redis://127.0.0.1/", tmp_path / "empty")
    assert str(caught.value) == f"the Redis password file {tmp_path}/empty is empty"
    settings = RedisSettings.from_options(
        "redis://livepoll@10.0.0.5:6380/2", environment={"LIVEPOLL_REDIS_PASSWORD": "s3cret"}
    )
    assert settings == RedisSettings("redis://10.0.0.5:6380/2", "livepoll", "s3cret")
    assert settings.where == "10.0.0.5:6380"
