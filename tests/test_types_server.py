"""Every question type through a real server: votes, Q&A, quiz timers, live results, restarts."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.client import connect

from clients import Phone, chair, connection_recv, new_voter_token, open_phone, open_presenter
from livepoll import protocol
from livepoll.deck import Deck, Question
from livepoll.server import app as server_app
from livepoll.server.app import LivepollServer, ServerConfig, running_server

SCALE = Question(
    "it-ready",
    "scale",
    "How ready is your IT team to enable digital change?",
    minimum=1,
    maximum=5,
    labels=("Blocker", "Enabler"),
    results="live",
)
CLOUD = Question(
    "one-word",
    "text",
    "One word for what digital means to you",
    max_length=30,
    time_limit=60,
    results="live",
)
WALL = Question("change", "text", "What would you change first?", display="wall")
RANKING = Question(
    "priorities",
    "ranking",
    "Which matters most?",
    ("Person-centred", "Persistent delivery", "Digital and IT"),
)
NUMBER = Question(
    "online", "number", "What share of services are online?", minimum=0, maximum=100, unit="%"
)
QUIZ = Question(
    "tax",
    "quiz",
    "How long does an Estonian tax declaration take?",
    ("3 minutes", "3 hours", "3 days"),
    correct=(0,),
    points=1000,
    time_limit=20,  # the test moves the server's clock past it (see ``clock``)
    results="live",
)
PANEL = Question("panel", "qa", "Questions for the panel", max_length=200, moderated=True)
FLOOR = Question("floor", "qa", "Questions from the floor", max_length=200)
QUESTIONS = (SCALE, CLOUD, WALL, RANKING, NUMBER, QUIZ, PANEL, FLOOR)
DECK = Deck("Every type", QUESTIONS, source="every-type.toml", blocklist=("blockchain",))

NASTY = "[red]x[/] <img src=x onerror=alert(1)>\x1b[31m\u202e\x00 end"
CLEANED = "[red]x[/] <img src=x onerror=alert(1)> [31m end"
WAIT = 30.0
"""A generous bound on waiting for a frame: it costs nothing when things work."""


class Clock:
    """The server's wall clock, held by the test: it stands still until moved, so
    deadlines and countdowns are exact whatever the machine's load. Pacing and rate
    limits keep the real monotonic clock."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        """The held time."""
        return self.now

    def monotonic(self) -> float:
        """The real monotonic clock."""
        return time.monotonic()

    def advance(self, seconds: float) -> None:
        """Move the held time on."""
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The server's clock, held by the test (``livepoll.server.app`` reads ``time``)."""
    held = Clock()
    monkeypatch.setattr(server_app, "time", held)
    return held


@pytest.fixture
def config(server_config: ServerConfig) -> ServerConfig:
    """The shared server configuration, on the every-type deck."""
    return dataclasses.replace(server_config, deck=DECK)


@pytest.fixture
async def server(config: ServerConfig) -> Any:
    """A real server on the every-type deck."""
    async with running_server(config) as running:
        yield running


# --- helpers ----------------------------------------------------------------------


async def send(phone: Phone, kind: str, **fields: Any) -> dict[str, Any]:
    """Send an audience message with the next seq; return its ack or error."""
    phone.seq += 1
    await phone.connection.send(json.dumps({"type": kind, "seq": phone.seq, **fields}))
    while True:
        frame = await asyncio.wait_for(phone.receive(), WAIT)
        if frame["type"] in ("ack", "error"):
            return frame
        phone.states.append(frame)


async def frame_where(phone: Phone, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first frame (kept earlier, or still to come) that ``wanted`` accepts."""
    for frame in phone.states:
        if wanted(frame):
            phone.states.remove(frame)
            return frame
    async with asyncio.timeout(WAIT):
        while True:
            frame = await phone.receive()
            if wanted(frame):
                return frame


async def frames_during(phone: Phone, seconds: float) -> list[tuple[float, dict[str, Any]]]:
    """Every frame a phone receives in the next ``seconds``, with its arrival time."""
    frames = []
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            frame = await asyncio.wait_for(phone.receive(), left)
        except TimeoutError:
            break
        frames.append((time.monotonic(), frame))
    return frames


async def command(server: LivepollServer, action: str, **fields: Any) -> dict[str, Any]:
    """One presenter command over the real channel; returns the state it pushes."""
    presenter = await open_presenter(server)
    try:
        await connection_recv(presenter)
        await presenter.send(protocol.encode_command(action, **fields))
        async with asyncio.timeout(WAIT):
            while (state := await connection_recv(presenter))["type"] != "state":
                pass
    finally:
        await presenter.close()
    return state


async def presenter_state(server: LivepollServer) -> dict[str, Any]:
    """The presenter's view now (the state frame a new presenter connection gets)."""
    presenter = await open_presenter(server)
    try:
        return await connection_recv(presenter)
    finally:
        await presenter.close()


async def ask_question(server: LivepollServer, question: Question) -> None:
    """Move to ``question`` and open voting on it."""
    index = QUESTIONS.index(question)
    if server.session.current_index != index:
        await command(server, "goto", index=index)
    await chair(server, "open")


def summaries(server: LivepollServer) -> dict[str, Any]:
    """Every question's live summary, as the engine has it."""
    session = server.session
    return {qid: session.summary(state) for qid, state in session.states.items()}


def items_of(server: LivepollServer, question: Question) -> list[dict[str, Any]]:
    """A Q&A's items with votes and state, pending and hidden included."""
    board = server.session.states[question.id].qa
    assert board is not None
    everything = ("pending", "visible", "hidden", "answered")
    return [item.public(None) for item in board.ranked(everything)]


# --- voting on each type ----------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "answer", "canonical", "results"),
    [
        pytest.param(
            SCALE,
            4,
            4,
            {"values": [1, 2, 3, 4, 5], "counts": [0, 0, 0, 1, 0], "count": 1, "mean": 4},
            id="scale",
        ),
        pytest.param(
            CLOUD,
            "  Joined-up   SERVICES ",
            "Joined-up SERVICES",
            {"words": [["joined-up", 1], ["services", 1]], "count": 1, "masked": 0},
            id="text-cloud",
        ),
        pytest.param(
            WALL,
            "Fix the blockchain",
            "Fix the blockchain",
            {"latest": ["Fix the ••••••••••"], "count": 1},
            id="text-wall",
        ),
        pytest.param(
            RANKING,
            [2, 0, 1],
            [2, 0, 1],
            {"scores": [1, 0, 2], "firsts": [0, 0, 1], "order": [2, 0, 1]},
            id="ranking",
        ),
        pytest.param(
            NUMBER,
            62.5,
            62.5,
            {"count": 1, "mean": 62.5, "median": 62.5, "min": 62.5, "max": 62.5},
            id="number",
        ),
        pytest.param(QUIZ, 0, [0], {"counts": [1, 0, 0], "right": 1}, id="quiz"),
    ],
)
async def test_each_type_is_acked_and_reaches_the_presenter(
    server: LivepollServer, question: Question, answer: Any, canonical: Any, results: Any
) -> None:
    """A vote of each type gets an ack with its canonical answer; the presenter gets the summary."""
    phone = await open_phone(server)
    await ask_question(server, question)
    reply = await send(phone, "vote", q=question.id, answer=answer)
    assert reply == {"type": "ack", "seq": 1, "q": question.id, "answer": canonical}
    state = await presenter_state(server)
    assert state["question"]["id"] == question.id
    assert state["respondents"] == 1
    assert {key: state["results"][key] for key in results} == results


async def test_number_bins_reach_the_presenter(server: LivepollServer) -> None:
    """A number question's histogram covers its range in round bins, with the unit alongside."""
    await ask_question(server, NUMBER)
    for value in (12, 40, 40.5, 97):
        phone = await open_phone(server)
        assert (await send(phone, "vote", q=NUMBER.id, answer=value))["type"] == "ack"
    state = await presenter_state(server)
    assert state["question"]["unit"] == "%"
    bins = state["results"]["bins"]
    assert [(b["from"], b["to"]) for b in bins] == [(n, n + 10) for n in range(0, 100, 10)]
    assert [b["count"] for b in bins] == [0, 1, 0, 0, 2, 0, 0, 0, 0, 1]
    assert state["results"]["median"] == 40.25


@pytest.mark.parametrize(
    ("question", "answer", "code"),
    [
        (SCALE, 6, "out_of_range"),
        (NUMBER, 101, "out_of_range"),
        (NUMBER, 10**400, "out_of_range"),
        (RANKING, [0, 1], "bad_answer"),
        (CLOUD, "x" * 31, "too_long"),
        (PANEL, "a vote", "wrong_type"),
    ],
)
async def test_bad_answers_of_each_type_are_refused_over_the_wire(
    server: LivepollServer, question: Question, answer: Any, code: str
) -> None:
    """Out-of-range, malformed and too-long answers get an error frame; the phone stays on."""
    phone = await open_phone(server)
    await ask_question(server, question)
    reply = await send(phone, "vote", q=question.id, answer=answer)
    assert (reply["type"], reply["code"], reply["seq"]) == ("error", code, 1)
    assert not server.session.current.answers
    if question is not PANEL:
        assert (await send(phone, "nickname", name="still here"))["type"] == "ack"


async def test_too_long_q_and_a_question_is_refused(server: LivepollServer) -> None:
    """The server enforces a Q&A's length limit, whatever the page allowed."""
    phone = await open_phone(server)
    await ask_question(server, FLOOR)
    reply = await send(phone, "ask", q=FLOOR.id, text="w" * 201)
    assert reply["code"] == "too_long"
    assert reply["message"] == "at most 200 characters (this has 201)"
    assert items_of(server, FLOOR) == []


# --- text and Q&A are plain text --------------------------------------------------


async def test_text_answer_with_markup_is_stored_cleaned_and_sent_as_plain_text(
    server: LivepollServer,
) -> None:
    """Markup stays literal and control characters go: the DB, presenter and phones get the same."""
    listener = await open_phone(server)
    phone = await open_phone(server)
    await ask_question(server, WALL)
    reply = await send(phone, "vote", q=WALL.id, answer=NASTY)
    assert reply["answer"] == CLEANED
    with sqlite3.connect(server.store.path) as db:
        (stored,) = db.execute("SELECT answer FROM responses").fetchone()
    assert json.loads(stored) == CLEANED
    assert (await presenter_state(server))["results"]["latest"] == [CLEANED]
    await chair(server, "toggle_results")
    shown = await frame_where(listener, lambda f: bool(f.get("results")))
    assert shown["results"]["latest"] == [CLEANED]


async def test_q_and_a_question_with_markup_is_stored_cleaned_and_sent_as_plain_text(
    server: LivepollServer,
) -> None:
    """A posted question keeps its brackets and tags literally, without control characters."""
    listener = await open_phone(server)
    phone = await open_phone(server)
    await ask_question(server, FLOOR)
    reply = await send(phone, "ask", q=FLOOR.id, text=NASTY)
    assert reply == {"type": "ack", "seq": 1, "q": FLOOR.id, "item": 1}
    with sqlite3.connect(server.store.path) as db:
        (stored,) = db.execute("SELECT text FROM qa_items").fetchone()
    assert stored == CLEANED
    assert (await presenter_state(server))["items"][0]["text"] == CLEANED
    shown = await frame_where(listener, lambda f: f["type"] == "results" and bool(f["items"]))
    assert shown["items"] == [{"id": 1, "text": CLEANED, "votes": 0, "state": "visible"}]


# --- live and on-reveal results ---------------------------------------------------


async def test_live_results_reach_phones_while_voting_at_most_twice_a_second(
    server: LivepollServer,
) -> None:
    """With results = "live", phones get coalesced results frames during voting, ≤ 2 per second."""
    listener = await open_phone(server)
    voters = [await open_phone(server), await open_phone(server)]
    await ask_question(server, SCALE)
    wanted = 3

    async def keep_voting() -> None:
        # Two phones take turns, each well within the per-phone message rate, until
        # the listener has its frames (the bound is only a backstop).
        for n in range(300):
            await send(voters[n % 2], "vote", q=SCALE.id, answer=n % 5 + 1)
            await asyncio.sleep(0.1)

    started = time.monotonic()
    voting = asyncio.create_task(keep_voting())
    results = []
    async with asyncio.timeout(WAIT):
        while len(results) < wanted:
            frame = await listener.receive()
            if frame["type"] == "results":
                results.append(frame)
    elapsed = time.monotonic() - started
    voting.cancel()
    # However slow the machine, a server sending at most 2 a second cannot have sent
    # more than 2 per second of voting, plus the first one at once.
    assert wanted <= 2 * elapsed + 1, f"{wanted} results frames in {elapsed:.2f} s"
    assert all(f["q"] == SCALE.id and 1 <= f["results"]["count"] <= 2 for f in results)


async def test_on_reveal_results_wait_for_the_chair(server: LivepollServer) -> None:
    """With results = "on-reveal", phones get no results while voting until the chair reveals."""
    listener = await open_phone(server)
    voter = await open_phone(server)
    await ask_question(server, WALL)
    opened = await frame_where(listener, lambda f: f.get("status") == "open")
    assert opened["results"] is None
    for text in ("Legacy", "Culture", "Skills"):
        await send(voter, "vote", q=WALL.id, answer=text)
    frames = await frames_during(listener, 1.2)
    assert [f for _, f in frames if f["type"] == "results" or f.get("results")] == []
    await chair(server, "toggle_results")
    revealed = await frame_where(listener, lambda f: f["type"] == "state")
    assert revealed["results"]["latest"] == ["Skills"]
    await send(voter, "vote", q=WALL.id, answer="People")
    update = await frame_where(listener, lambda f: f["type"] == "results")
    assert update["results"]["latest"] == ["People"]


# --- timers and the quiz ----------------------------------------------------------


async def test_quiz_closes_by_itself_and_phones_get_the_answer_and_leaderboard(
    server: LivepollServer, clock: Clock
) -> None:
    """A timed quiz closes at its deadline; phones then get correct, counts and the leaderboard."""
    right, wrong = await open_phone(server), await open_phone(server)
    assert (await send(right, "nickname", name="Ada"))["answer"] == "Ada"
    await command(server, "goto", index=QUESTIONS.index(QUIZ))
    presenter = await open_presenter(server)
    await connection_recv(presenter)
    await presenter.send(protocol.encode_command("open"))
    assert (await send(right, "vote", q=QUIZ.id, answer=0))["type"] == "ack"
    assert (await send(wrong, "vote", q=QUIZ.id, answer=2))["type"] == "ack"
    opened = await frame_where(wrong, lambda f: f.get("status") == "open")
    assert (opened["results"], opened["correct"]) == (None, None)
    assert "correct" not in opened["question"]
    assert opened["time_left"] == QUIZ.time_limit
    clock.advance(QUIZ.time_limit or 0)  # the countdown runs out; nobody presses a key
    closed = await frame_where(right, lambda f: f.get("status") == "closed")
    await presenter.close()
    assert closed["correct"] == [0]
    assert closed["results"]["counts"] == [1, 0, 1]
    (leader,) = closed["results"]["leaderboard"]
    assert (leader["name"], leader["right"]) == ("Ada", 1)
    assert 500 <= leader["points"] <= 1000
    again = await send(right, "vote", q=QUIZ.id, answer=1)
    assert again["code"] == "question_closed"
    assert (await send(right, "vote", q=QUIZ.id, answer=0))["type"] == "ack"
    with sqlite3.connect(server.store.path) as db:
        kinds = [
            kind
            for (kind,) in db.execute("SELECT kind FROM events WHERE question_id = ?", ("tax",))
        ]
    assert kinds[-2:] == ["opened", "time_up"]


async def test_quiz_results_stay_off_phones_while_it_is_open(server: LivepollServer) -> None:
    """Even with results = "live" and revealed, phones see nothing of an open quiz's results."""
    phone = await open_phone(server)
    await command(server, "goto", index=QUESTIONS.index(QUIZ))
    await chair(server, "toggle_results", "open", "extend")
    assert (await send(phone, "vote", q=QUIZ.id, answer=1))["type"] == "ack"
    late = Phone(await connect(server.audience_url), new_voter_token())
    hello = await late.hello()
    assert (hello["status"], hello["results"], hello["correct"]) == ("open", None, None)
    assert (await send(late, "vote", q=QUIZ.id, answer=0))["type"] == "ack"
    frames = await frames_during(phone, 0.7)
    assert [f for _, f in frames if f["type"] == "results" or f.get("results")] == []
    await chair(server, "close")
    closed = await frame_where(phone, lambda f: f.get("status") == "closed")
    assert closed["results"]["counts"] == [1, 1, 0]
    assert closed["correct"] == [0]


async def test_chair_extends_a_timed_question(server: LivepollServer, clock: Clock) -> None:
    """The extend command adds 15 seconds to the countdown, on the presenter and on phones."""
    phone = await open_phone(server)
    await command(server, "goto", index=QUESTIONS.index(CLOUD))
    opened = await command(server, "open")
    assert opened["time_left"] == 60
    clock.advance(10)
    extended = await command(server, "extend")
    assert extended["time_left"] == 65
    state = await frame_where(phone, lambda f: f.get("time_left") == 65)
    assert state["status"] == "open"
    current = server.session.current
    assert current.deadline is not None
    assert current.opened_at is not None
    assert current.deadline - current.opened_at == 75


# --- Q&A, moderation, and a restart -----------------------------------------------


async def test_q_and_a_moderation_upvotes_and_restart(config: ServerConfig) -> None:
    """Items wait for approval, upvote once, and with every tally and nickname survive a restart."""
    config.end_session_on_stop = False
    asker_token, fan_token = new_voter_token(), new_voter_token()
    async with running_server(config) as server:
        asker, fan = await open_phone(server, asker_token), await open_phone(server, fan_token)
        await send(asker, "nickname", name="Ada")
        for question, answers in (
            (SCALE, (4, 2)),
            (CLOUD, ("Culture", "Culture and data")),
            (RANKING, ([1, 0, 2], [1, 2, 0])),
            (NUMBER, (62.5, 90)),
        ):
            await ask_question(server, question)
            for phone, answer in zip((asker, fan), answers, strict=True):
                assert (await send(phone, "vote", q=question.id, answer=answer))["type"] == "ack"
                # Stored times have whole milliseconds; the wall's order needs distinct ones.
                await asyncio.sleep(0.002)
        await ask_question(server, QUIZ)
        await send(asker, "vote", q=QUIZ.id, answer=0)
        await send(fan, "vote", q=QUIZ.id, answer=1)
        await frame_where(fan, lambda f: f.get("status") == "closed")

        await ask_question(server, PANEL)
        reply = await send(asker, "ask", q=PANEL.id, text="What about legacy systems?")
        assert reply == {"type": "ack", "seq": 7, "q": PANEL.id, "item": 1}
        pending = [{"id": 1, "text": "What about legacy systems?", "votes": 0, "state": "pending"}]
        assert (await presenter_state(server))["qa"]["page"] == pending
        assert (await send(fan, "upvote", q=PANEL.id, item=1))["code"] == "no_such_item"
        fan.states.clear()
        approved = await command(server, "moderate", item=1, state="visible")
        assert approved["items"][0]["state"] == "visible"
        shown = await frame_where(fan, lambda f: f["type"] == "results" and bool(f["items"]))
        assert shown["items"] == [{**pending[0], "state": "visible"}]
        for _ in range(2):
            assert (await send(fan, "upvote", q=PANEL.id, item=1))["item"] == 1
        assert items_of(server, PANEL)[0]["votes"] == 1
        before = summaries(server), items_of(server, PANEL), server.session.leaderboard()
        session_id = server.session_id

    async with running_server(config) as server:
        assert server.resumed
        assert server.session_id == session_id
        assert server.session.current.question is PANEL
        assert server.session.current.status == "open"
        live_summaries, live_items, live_leaderboard = before
        for question_id, summary in summaries(server).items():
            assert summary == live_summaries[question_id], question_id
        assert items_of(server, PANEL) == live_items
        assert server.session.leaderboard() == live_leaderboard
        assert before[2][0]["name"] == "Ada"
        fan = await open_phone(server, fan_token)
        hello = await send(fan, "upvote", q=PANEL.id, item=1)
        assert hello["type"] == "ack"
        assert items_of(server, PANEL)[0]["votes"] == 1, "still one upvote per phone"
        reconnected = await open_phone(server, fan_token)
        await reconnected.connection.send(json.dumps({"type": "hello", "voter": fan_token}))
        state = await connection_recv(reconnected.connection)
        assert state["your_answer"] == [1]
        assert state["items"] == [{**pending[0], "state": "visible", "votes": 1}]
        newcomer = await open_phone(server)
        assert (await send(newcomer, "upvote", q=PANEL.id, item=1))["type"] == "ack"
        assert (await presenter_state(server))["items"][0]["votes"] == 2


async def test_hidden_and_answered_items_on_phones(server: LivepollServer) -> None:
    """Hidden items leave the phones' list (the chair still sees them); answered ones go last."""
    phone = await open_phone(server)
    await ask_question(server, FLOOR)
    for text in ("First", "Second", "Spam"):
        await send(phone, "ask", q=FLOOR.id, text=text)
    await command(server, "moderate", item=3, state="hidden")
    await command(server, "moderate", item=1, state="answered")
    phone.states.clear()
    await send(phone, "upvote", q=FLOOR.id, item=2)
    frame = await frame_where(phone, lambda f: f["type"] == "results" and f["items"][0]["votes"])
    assert [(i["text"], i["state"]) for i in frame["items"]] == [
        ("Second", "visible"),
        ("First", "answered"),
    ]
    assert (await send(phone, "upvote", q=FLOOR.id, item=3))["code"] == "no_such_item"
    assert [i["state"] for i in (await presenter_state(server))["qa"]["page"]] == [
        "visible",
        "answered",
        "hidden",
    ], "the chair's list keeps hidden items last"
