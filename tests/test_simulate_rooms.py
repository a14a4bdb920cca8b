"""Simulated phones in the rooms of a real event server: ``--room ID`` and room URLs."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clients import chair
from livepoll import event as event_module
from livepoll.server.app import ServerConfig
from livepoll.server.conference import ConferenceServer, running_conference
from livepoll.simulate import Behaviour, Simulation, SimulationConfig, audience_url
from test_simulate import SETTLE, settled

DECK = """title = "Rooms deck"

[[questions]]
id = "q1"
type = "single"
prompt = "Which room are you in?"
options = ["This one", "Another"]
"""

EVENT = """title = "Two rooms"

[[rooms]]
id = "main-hall"
name = "Main hall"
sessions = ["deck.toml"]

[[rooms]]
id = "room-2"
name = "Breakout 2"
sessions = ["deck.toml"]
"""


@pytest.fixture
async def conference(
    server_config: ServerConfig, tmp_path: Path
) -> AsyncIterator[ConferenceServer]:
    """A real event server of two rooms running the same deck, on a temp database."""
    (tmp_path / "deck.toml").write_text(DECK)
    (tmp_path / "event.toml").write_text(EVENT)
    event = event_module.from_file(tmp_path / "event.toml")
    async with running_conference(event, server_config) as front:
        yield front


def stored_by_room(database: Path) -> dict[tuple[str, str], int]:
    """Stored responses per (room, question), read with plain sqlite3."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT s.room, r.question_id, count(*) FROM responses r"
            " JOIN sessions s ON s.id = r.session_id GROUP BY 1, 2"
        )
        return {(room, question): count for room, question, count in rows}


async def test_phones_given_a_room_id_or_url_vote_in_that_room_only(
    conference: ConferenceServer,
) -> None:
    """Phones sent with --room to main hall, and phones given room 2's URL, each follow
    their own room's chair: acks match that room's tally and stored rows, and a room
    whose chair has not opened the question gets no answer."""
    hall, breakout = conference.rooms["main-hall"], conference.rooms["room-2"]
    behaviour = Behaviour(think=0.05)
    by_id = SimulationConfig(
        audience_url(conference.base_url, "main-hall"), voters=8, behaviour=behaviour, seed=3
    )
    by_url = SimulationConfig(breakout.base_url, voters=5, behaviour=behaviour, seed=4)
    async with Simulation(by_id) as in_hall, Simulation(by_url) as in_breakout:
        assert in_hall.url.endswith("/r/main-hall/ws")
        assert in_breakout.url.endswith("/r/room-2/ws")
        for simulation, phones in ((in_hall, 8), (in_breakout, 5)):
            assert await simulation.wait_until(
                lambda s, n=phones: s.counts.connected == n, within=SETTLE
            ), simulation.stats.counts
        await chair(hall, "open")
        assert await in_hall.wait_until(settled("q1", 8), within=SETTLE)
        assert in_breakout.stats.counts.answered == 0, "room 2's phones answered main hall's q1"
        await chair(breakout, "open")
        assert await in_breakout.wait_until(settled("q1", 5), within=SETTLE)
    assert in_hall.stats.counts.acked == hall.session.states["q1"].respondents == 8
    assert in_breakout.stats.counts.acked == breakout.session.states["q1"].respondents == 5
    await conference.store.flush()
    assert stored_by_room(conference.store.path) == {("main-hall", "q1"): 8, ("room-2", "q1"): 5}


async def test_the_simulate_command_joins_the_room_it_is_given(
    conference: ConferenceServer,
) -> None:
    """`livepoll simulate SERVER --room room-2` puts its phones in room 2 alone: they
    answer room 2's open question, and main hall's open question gets nothing."""
    await chair(conference.rooms["main-hall"], "open")
    await chair(conference.rooms["room-2"], "open")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "livepoll",
        "simulate",
        conference.base_url,
        "--room",
        "room-2",
        "--voters",
        "4",
        "--think",
        "0.05",
        "--duration",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(SETTLE):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    text = out.decode()
    assert "/r/room-2/ws" in text
    assert "4 made, 0 failed attempts" in text
    await conference.store.flush()
    assert stored_by_room(conference.store.path) == {("room-2", "q1"): 4}
