"""An owner on Redis says when its gateways' phones are cut off, and when they are back.

While Redis is away the gateways close their phones and refuse new ones, so those
phones' votes wait on the phones; the owner's own phones still vote. The chair's
console, the organiser's control room and the owner's ``/healthz`` each say so while
it lasts, and stop saying so by themselves once Redis answers again. Each test runs
a private Debian ``redis-server`` and the owner as real processes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from redis_helpers import RedisProcess, http_json, redis_server
from serving import serve_process
from test_gateway_rooms import event, event_owner

__all__ = ["event", "redis_server"]  # the fixtures, used by name

DECK = """title = "Health test"
[[questions]]
id = "q1"
type = "single"
prompt = "Which?"
options = ["A", "B"]
"""
TOKEN = "owner-health-test-presenter-token"


def health(port: int) -> tuple[int, Any]:
    """The status and JSON body of the owner's ``/healthz``."""
    return http_json(f"http://127.0.0.1:{port}/healthz")


async def frame_where(
    connection: ClientConnection, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The next frame of the given kind (earlier ones are skipped)."""
    while True:
        frame: dict[str, Any] = json.loads(await connection.recv())
        if wanted(frame):
            return frame


async def health_becomes(port: int, status: int) -> dict[str, Any]:
    """Poll ``/healthz`` until it answers ``status``; its body then."""
    while True:
        code, body = await asyncio.to_thread(health, port)
        if code == status:
            return body
        await asyncio.sleep(0.2)


def is_state(frame: dict[str, Any]) -> bool:
    """A presenter state frame."""
    return frame.get("type") == "state"


async def test_the_chair_and_the_health_check_hear_of_a_redis_outage_and_its_end(
    redis_server: RedisProcess, tmp_path: Path
) -> None:
    """Redis stopped: the chair's state names the problem and /healthz answers 503
    ``redis_problem``; Redis started again: both clear without anyone acting."""
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    owner_options = ("--redis", redis_server.url)
    async with serve_process(deck, tmp_path / "room.db", TOKEN, *owner_options) as owner:
        port = owner["port"]
        assert await asyncio.to_thread(health, port) == (200, {"status": "ok"})
        headers = {"Authorization": f"Bearer {TOKEN}"}
        url = f"ws://127.0.0.1:{port}/presenter"
        async with connect(url, additional_headers=headers) as presenter:
            first = await frame_where(presenter, is_state)
            assert first["gateway_problem"] is None
            async with asyncio.timeout(30):
                redis_server.stop()
                cut_off = await frame_where(presenter, lambda f: bool(f.get("gateway_problem")))
                body = await health_becomes(port, 503)
            where = f"127.0.0.1:{redis_server.port}"
            assert cut_off["gateway_problem"].startswith(f"cannot reach Redis at {where}")
            assert body == {"status": "redis_problem", "problem": cut_off["gateway_problem"]}
            async with asyncio.timeout(30):
                redis_server.start()
                await frame_where(presenter, lambda f: is_state(f) and not f["gateway_problem"])
                assert await health_becomes(port, 200) == {"status": "ok"}


async def test_the_control_room_hears_of_a_redis_outage_of_an_event_owned_on_redis(
    redis_server: RedisProcess, event: Path, tmp_path: Path
) -> None:
    """An event owner that cannot reach Redis says so in the control room's summary and
    on its /healthz, and both clear once Redis is back."""
    log = tmp_path / "log.txt"
    async with event_owner(event, tmp_path / "event.db", redis_server.url, log) as owner:
        port = owner["port"]
        headers = {"Authorization": f"Bearer {owner['organiser_token']}"}
        url = f"ws://127.0.0.1:{port}/control"
        async with connect(url, additional_headers=headers) as organiser:
            summary = json.loads(await organiser.recv())
            assert summary["gateway_problem"] is None
            async with asyncio.timeout(30):
                redis_server.stop()
                cut_off = await frame_where(organiser, lambda f: bool(f.get("gateway_problem")))
                body = await health_becomes(port, 503)
            assert cut_off["gateway_problem"].startswith("cannot reach Redis at 127.0.0.1:")
            assert body["status"] == "redis_problem"
            async with asyncio.timeout(30):
                redis_server.start()
                await frame_where(organiser, lambda f: f.get("gateway_problem") is None)
                assert await health_becomes(port, 200) == {"status": "ok"}
