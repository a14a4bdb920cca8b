"""The simulator (``livepoll simulate``): real simulated phones against a real server."""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from clients import chair
from livepoll import deck as deck_module
from livepoll.cli import main as cli_main
from livepoll.deck import Question
from livepoll.engine import validate_answer
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from livepoll.simulate import (
    Behaviour,
    ReplyContext,
    Simulation,
    SimulationConfig,
    SimulationError,
    Stats,
    audience_url,
    make_reply,
    process_count,
)
from livepoll.simulate.phones import observer_numbers

SETTLE = 30.0
"""Generous bound on every wait: these tests assert counts, never timings."""


def stored_rows(database: Path) -> dict[str, int]:
    """Rows in the responses table per question, read with plain sqlite3."""
    with sqlite3.connect(database) as db:
        return dict(db.execute("SELECT question_id, count(*) FROM responses GROUP BY 1"))


def settled(question_id: str, phones: int) -> Callable[[Stats], bool]:
    """Every phone answered ``question_id`` and every answer got its ack or error."""

    def check(stats: Stats) -> bool:
        counts = stats.counts.questions.get(question_id)
        return (
            counts is not None
            and counts.phones == phones
            and counts.acked + counts.rejected == counts.answered
        )

    return check


async def run_two_questions(server: LivepollServer, config: SimulationConfig) -> Stats:
    """Connect the phones, let them answer q1 then q2 as the chair moves on; final stats."""
    phones = config.voters
    async with Simulation(config) as simulation:
        connected = await simulation.wait_until(
            lambda s: s.counts.connected == phones, within=SETTLE
        )
        assert connected, simulation.stats.counts
        await chair(server, "open")
        assert await simulation.wait_until(settled("q1", phones), within=SETTLE)
        await chair(server, "next", "open")
        assert await simulation.wait_until(settled("q2", phones), within=SETTLE)
    return simulation.stats


async def test_simulated_phones_answer_each_question_once_and_every_ack_is_stored(
    livepoll_server: LivepollServer,
) -> None:
    """Thirty phones follow the chair through q1 and q2; acks match tallies and stored rows."""
    config = SimulationConfig(
        livepoll_server.base_url, voters=30, behaviour=Behaviour(think=0.05), seed=7
    )
    stats = await run_two_questions(livepoll_server, config)

    counts = stats.counts
    assert counts.connects == 30
    assert counts.errors == 0, counts.failures
    assert counts.answered == counts.acked == 60
    assert len(stats.samples.latencies) == 60
    session = livepoll_server.session
    q1, q2 = counts.questions["q1"], counts.questions["q2"]
    assert q1.acked == session.states["q1"].respondents == sum(session.states["q1"].counts) == 30
    assert q2.acked == session.states["q2"].respondents == 30
    await livepoll_server.store.flush()
    assert stored_rows(livepoll_server.store.path) == {"q1": 30, "q2": 30}


async def test_phones_spread_over_processes_report_the_same_counts(
    livepoll_server: LivepollServer,
) -> None:
    """With two worker processes the parent sees every phone's answers and acks."""
    config = SimulationConfig(
        livepoll_server.base_url,
        voters=12,
        behaviour=Behaviour(think=0.05),
        processes=2,
        time_limit=120,
    )
    stats = await run_two_questions(livepoll_server, config)

    assert stats.counts.phones == 12
    assert stats.counts.acked == 24
    assert stats.counts.connected == 0  # every phone closed its connection on stop
    await livepoll_server.store.flush()
    assert stored_rows(livepoll_server.store.path) == {"q1": 12, "q2": 12}


async def test_phones_that_keep_voting_change_answers_and_the_store_counts_every_change(
    livepoll_server: LivepollServer,
) -> None:
    """In keep-voting mode each ack is followed by a different answer; rows + changes = acks."""
    config = SimulationConfig(
        livepoll_server.base_url, voters=5, behaviour=Behaviour(think=0.3, keep_voting=True)
    )
    async with Simulation(config) as simulation:
        assert await simulation.wait_until(lambda s: s.counts.connected == 5, within=SETTLE)
        await chair(livepoll_server, "open")
        assert await simulation.wait_until(lambda s: s.counts.acked >= 15, within=SETTLE)
        await chair(livepoll_server, "close")
        assert await simulation.wait_until(
            lambda s: s.counts.acked + s.counts.rejected == s.counts.answered, within=SETTLE
        )
    acked = simulation.stats.counts.questions["q1"].acked
    await livepoll_server.store.flush()
    with sqlite3.connect(livepoll_server.store.path) as db:
        rows, changes = db.execute("SELECT count(*), sum(changes) FROM responses").fetchone()
    assert rows == 5
    assert rows + changes == acked


async def test_the_simulate_command_runs_for_its_duration_and_prints_a_summary(
    livepoll_server: LivepollServer,
) -> None:
    """`livepoll simulate URL --voters N --duration S` connects, stops by itself, summarises."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "livepoll",
        "simulate",
        livepoll_server.base_url,
        "--voters",
        "5",
        "--duration",
        "1.5",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(SETTLE):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    text = out.decode()
    assert "livepoll simulate: 5 phones for" in text
    assert "5 made, 0 failed attempts" in text


def test_simulate_command_refuses_a_url_that_is_not_a_join_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A mistyped URL is reported in one line and exits 1 without connecting anywhere."""
    assert cli_main(["simulate", "ftp://example", "--voters", "3"]) == 1
    assert "is not a join URL" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("join", "socket"),
    [
        ("http://127.0.0.1:8321/", "ws://127.0.0.1:8321/ws"),
        ("http://127.0.0.1:8321", "ws://127.0.0.1:8321/ws"),
        ("https://venue.example/poll/", "wss://venue.example/poll/ws"),
        ("https://venue.example/poll/index.html", "wss://venue.example/poll/ws"),
        ("ws://[::1]:9000/ws", "ws://[::1]:9000/ws"),
        ("ws://[::1]:9000", "ws://[::1]:9000/ws"),
        ("http://127.0.0.1:8321/r/main-hall/", "ws://127.0.0.1:8321/r/main-hall/ws"),
        ("http://127.0.0.1:8321/r/main-hall", "ws://127.0.0.1:8321/r/main-hall/ws"),
        ("https://venue.example/poll/r/room-2/index.html", "wss://venue.example/poll/r/room-2/ws"),
        ("wss://venue.example/r/room-2/ws", "wss://venue.example/r/room-2/ws"),
    ],
)
def test_audience_url_is_derived_as_the_page_derives_it(join: str, socket: str) -> None:
    """The WebSocket URL sits next to the page: the page's directory plus "ws"."""
    assert audience_url(join) == socket


@pytest.mark.parametrize(
    ("server", "socket"),
    [
        ("http://127.0.0.1:8321/", "ws://127.0.0.1:8321/r/room-2/ws"),
        ("http://127.0.0.1:8321", "ws://127.0.0.1:8321/r/room-2/ws"),
        ("https://venue.example/poll/", "wss://venue.example/poll/r/room-2/ws"),
        ("ws://[::1]:9000", "ws://[::1]:9000/r/room-2/ws"),
        ("http://127.0.0.1:8321/r/room-2/", "ws://127.0.0.1:8321/r/room-2/ws"),
    ],
)
def test_a_room_id_gives_that_room_s_socket_on_the_server(server: str, socket: str) -> None:
    """--room ID dials /r/ID/ws under the server's address (or prefix)."""
    assert audience_url(server, "room-2") == socket


@pytest.mark.parametrize(
    ("url", "room", "message"),
    [
        ("http://127.0.0.1:8321/", "Main Hall", "a room id must be 1-40 lowercase letters"),
        ("http://127.0.0.1:8321/", "../ws", "a room id must be 1-40 lowercase letters"),
        ("http://h/r/main-hall/", "room-2", "is the URL of room 'main-hall', not of --room"),
    ],
)
def test_a_room_that_cannot_be_is_refused_before_dialling(
    url: str, room: str, message: str
) -> None:
    """A room id unfit for a URL, or one the room URL contradicts, is one clear error."""
    with pytest.raises(SimulationError, match=re.escape(message)):
        audience_url(url, room)


def test_simulate_command_refuses_a_bad_room_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``simulate --room`` with an id no event can have exits 1 with the rule, dialling nothing."""
    assert (
        cli_main(["simulate", "http://127.0.0.1:9/", "--room", "Main Hall", "--voters", "3"]) == 1
    )
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("livepoll simulate: --room 'Main Hall': a room id must be")


@pytest.mark.parametrize("url", ["ftp://host/", "127.0.0.1:8321", "http:///nohost"])
def test_audience_url_rejects_what_is_not_a_join_url(url: str) -> None:
    """Anything but an http(s) or ws(s) URL with a host is refused with a clear error."""
    with pytest.raises(SimulationError, match="not a join URL"):
        audience_url(url)


QUESTIONS = [
    {"id": "s", "type": "single", "prompt": "One?", "options": ["A", "B", "C"]},
    {"id": "q", "type": "quiz", "prompt": "Quiz?", "options": ["A", "B"], "points": 1000},
    {
        "id": "m",
        "type": "multi",
        "prompt": "Some?",
        "options": ["A", "B", "C", "D", "E"],
        "max_choices": 2,
    },
    {"id": "r", "type": "ranking", "prompt": "Order?", "options": ["A", "B", "C", "D"]},
    {"id": "sc", "type": "scale", "prompt": "How much?", "min": 0, "max": 10},
    {"id": "n", "type": "number", "prompt": "How many?", "min": 5, "max": 50},
    {"id": "t", "type": "text", "prompt": "One word?", "max_length": 12},
]


@pytest.mark.parametrize("question", QUESTIONS, ids=[q["type"] for q in QUESTIONS])
def test_generated_answers_are_valid_for_their_question_type(question: dict[str, object]) -> None:
    """Every answer the phones make passes the engine's validation for that type."""
    rng = random.Random(3)
    model = Question.from_dict(question)
    previous = None
    for _ in range(200):
        reply = make_reply(ReplyContext(question, rng, previous))
        assert reply is not None
        assert reply["type"] == "vote"
        assert reply["q"] == question["id"]
        validate_answer(model, reply["answer"])
        previous = reply["answer"]


def test_single_choice_answers_lean_towards_some_options_like_a_real_room() -> None:
    """Answers follow an uneven popularity profile that is the same for every phone."""
    question = {"id": "q9", "type": "single", "prompt": "Which?", "options": list("ABCDE")}
    rng = random.Random(1)
    tally = [0] * 5
    for _ in range(5000):
        reply = make_reply(ReplyContext(question, rng))
        assert reply is not None
        tally[reply["answer"]] += 1
    assert max(tally) > 1.5 * min(tally)


def test_a_type_the_simulator_does_not_know_is_skipped() -> None:
    """An unknown question type gets no answer rather than a wrong one."""
    question = {"id": "x", "type": "hologram", "prompt": "?"}
    assert make_reply(ReplyContext(question, random.Random(0))) is None


LIVE_DECK = """title = "Live"

[[questions]]
id = "watch"
type = "single"
prompt = "Which matters most?"
options = ["A", "B", "C"]
results = "live"
"""


async def test_observer_phones_record_each_live_results_frame_and_every_phone_counts_one(
    server_config: ServerConfig,
) -> None:
    """On a question with live results, every phone (over two processes) is counted as
    having received results, and the four observers record frames whose counts grow
    to every answer, with their arrival times, in the parent's stats."""
    deck = deck_module.from_text(LIVE_DECK, "live.toml")
    async with running_server(replace(server_config, deck=deck)) as server:
        config = SimulationConfig(
            server.base_url,
            voters=12,
            behaviour=Behaviour(think=0.3),
            processes=2,
            time_limit=120,
            observers=4,
        )
        async with Simulation(config) as simulation:
            assert await simulation.wait_until(lambda s: s.counts.connected == 12, within=SETTLE)
            mark = simulation.stats.sightings.mark()
            await chair(server, "open")
            assert await simulation.wait_until(settled("watch", 12), within=SETTLE)

            def all_shown(stats: Stats) -> bool:
                seen = stats.sightings.since(mark).by_phone()
                return len(seen) == 4 and all(frames[-1][1] == 12 for frames in seen.values())

            assert await simulation.wait_until(all_shown, within=SETTLE)
            assert await simulation.wait_until(
                lambda s: s.counts.questions["watch"].watched == 12, within=SETTLE
            )
    sightings = simulation.stats.sightings.since(mark)
    assert set(sightings.by_phone()) == observer_numbers(12, 4) == {1, 4, 7, 10}
    for frames in sightings.by_phone().values():
        times = [at for at, _ in frames]
        assert times == sorted(times)
        assert [shown for _, shown in frames] == sorted(shown for _, shown in frames)
    assert simulation.stats.counts.results >= 12


def test_observers_are_spread_over_the_phones_and_never_more_than_there_are() -> None:
    """Observers sit in the middle of equal slices of the phones' numbers."""
    assert observer_numbers(100, 4) == {12, 37, 62, 87}
    assert observer_numbers(3, 8) == {0, 1, 2}
    assert observer_numbers(10, 0) == frozenset()


def test_many_phones_are_spread_over_several_processes() -> None:
    """Up to 500 phones share the caller's loop; more use at least two processes."""
    assert process_count(500) == 1
    assert process_count(501) >= 2
    assert process_count(10, requested=3) == 3


def test_the_simulator_needs_no_server_storage_or_ui_code() -> None:
    """Importing livepoll.simulate loads neither the server, the store nor the TUI."""
    heavy = ["livepoll.server", "livepoll.store", "livepoll.tui", "aiosqlite", "textual"]
    code = (
        "import sys, livepoll.simulate, livepoll.simulate.command\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert result.stdout.strip() == ""
