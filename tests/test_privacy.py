"""Privacy: voter tokens, ticket codes and IP addresses appear nowhere an organiser or
the projector sees: not in the database file, the exports, the report, the server's
log or the presenter's frames.

The phones connect from 127.0.0.2 (still loopback) so that their address is one the
server itself never has reason to print.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from clients import chair, new_voter_token, open_phone
from livepoll import deck as deck_module
from livepoll.export import CSV_COLUMNS, export
from livepoll.report import build_report
from livepoll.server.app import ServerConfig, running_server
from livepoll.store import epoch
from serving import serve_process

DECK = """title = "Privacy"
[[questions]]
id = "q1"
type = "single"
prompt = "Which?"
options = ["A", "B", "C"]

[[questions]]
id = "words"
type = "text"
prompt = "One word"
"""
TOKEN = "privacy-presenter-token-0123456789"
PHONE_ADDRESS = "127.0.0.2"


def livepoll(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a livepoll command to completion, failing the test on a non-zero exit."""
    result = subprocess.run(
        [sys.executable, "-m", "livepoll", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


async def phone(port: int, token: str, ticket: str) -> ClientConnection:
    """A phone from PHONE_ADDRESS that joined with its ticket; its first state is read."""
    connection = await connect(f"ws://127.0.0.1:{port}/ws", local_addr=(PHONE_ADDRESS, 0))
    await connection.send(json.dumps({"type": "hello", "voter": token, "ticket": ticket}))
    state = json.loads(await connection.recv())
    assert state["type"] == "state", state
    return connection


async def reply(connection: ClientConnection, message: dict[str, Any]) -> dict[str, Any]:
    """Send one message and return the server's answer to it."""
    await connection.send(json.dumps(message))
    while True:
        frame = json.loads(await connection.recv())
        if frame["type"] in ("ack", "error"):
            return frame


async def session(port: int, tokens: list[str], tickets: list[str]) -> list[str]:
    """Phones join with tickets and answer both questions, with some mistakes along the
    way (a used ticket, a bad frame, a foreign origin); returns the presenter's frames."""
    presenter = await connect(
        f"ws://127.0.0.1:{port}/presenter", additional_headers={"Authorization": f"Bearer {TOKEN}"}
    )
    frames: list[str] = []
    arrived = asyncio.Event()

    async def command(action: str, done: Callable[[dict[str, Any]], bool]) -> None:
        """Send a chair's command and wait for the state that shows it took effect."""
        start = len(frames)
        await presenter.send(json.dumps({"type": "command", "action": action}))
        async with asyncio.timeout(30):
            while not any(
                state.get("type") == "state" and done(state)
                for state in map(json.loads, frames[start:])
            ):
                arrived.clear()
                await arrived.wait()

    async def record() -> None:
        async for frame in presenter:
            frames.append(str(frame))
            arrived.set()

    recorder = asyncio.create_task(record())
    await command("open", lambda state: state["status"] == "open")
    phones = [
        await phone(port, token, ticket) for token, ticket in zip(tokens, tickets, strict=True)
    ]
    for index, connection in enumerate(phones):
        assert (await reply(connection, {"type": "vote", "q": "q1", "answer": index, "seq": 1}))[
            "type"
        ] == "ack"
    async with connect(f"ws://127.0.0.1:{port}/ws", local_addr=(PHONE_ADDRESS, 0)) as thief:
        await thief.send(
            json.dumps({"type": "hello", "voter": new_voter_token(), "ticket": tickets[0]})
        )
        assert json.loads(await thief.recv())["code"] == "ticket_used"
        await thief.send(b"\xff\xfe not json")
        await thief.recv()
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"ws://127.0.0.1:{port}/ws", origin="http://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403, "a foreign origin is refused"
    await command("next", lambda state: state["index"] == 1)
    await command("open", lambda state: state["index"] == 1 and state["status"] == "open")
    for index, connection in enumerate(phones):
        answer = f"word{index} {tokens[index][:6]}"
        assert (
            await reply(connection, {"type": "vote", "q": "words", "answer": answer, "seq": 2})
        )["type"] == "ack"
    await command("close", lambda state: state["status"] == "closed")
    await command("toggle_results", lambda state: state["results_shown"])
    for connection in phones:
        await connection.close()
    await presenter.close()
    await recorder
    return frames


async def test_tokens_tickets_and_addresses_appear_nowhere(tmp_path: Path) -> None:
    """After a session, no token, ticket code or phone address is in the database file,
    the CSV and JSON exports, the HTML report, the server's output or what the
    presenter was sent; the pseudonyms are not a plain hash of the tokens."""
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    database = tmp_path / "privacy.db"
    sheet = tmp_path / "tickets.html"
    made = livepoll(
        "tickets",
        "--count",
        "3",
        "--db",
        str(database),
        "--url",
        "http://x/",
        "--output",
        str(sheet),
    )
    tickets = made.stdout.split()
    tokens = [new_voter_token() for _ in tickets]

    log = tmp_path / "server.log"
    async with serve_process(deck, database, TOKEN, "--join", "tickets", log=log) as ready:
        async with asyncio.timeout(60):
            presenter_frames = await session(ready["port"], tokens, tickets)
    # Left the context: the server stopped as on Ctrl-C, its whole log is written.
    printed = json.dumps({key: value for key, value in ready.items() if key != "process"})
    server_output = printed + "\n" + await asyncio.to_thread(log.read_text, encoding="utf-8")
    await asyncio.to_thread(
        assert_nothing_leaks, database, tokens, tickets, server_output, presenter_frames
    )


def assert_nothing_leaks(
    database: Path,
    tokens: list[str],
    tickets: list[str],
    server_output: str,
    presenter_frames: list[str],
) -> None:
    """Export and report the session, then look for every secret everywhere."""
    csv = livepoll("export", "--db", str(database), "--format", "csv").stdout
    exported = livepoll("export", "--db", str(database), "--format", "json").stdout
    report = database.with_name("report.html")
    livepoll("report", "--db", str(database), "--output", str(report))
    places = {
        "the CSV export": csv,
        "the JSON export": exported,
        "the report": report.read_text(encoding="utf-8"),
        "the server's output": server_output,
        "the presenter's frames": "\n".join(presenter_frames),
        **{
            f"the file {path.name}": path.read_bytes().decode("latin-1")
            for path in database.parent.glob(database.name + "*")
        },
    }
    assert "word0" in csv, "the answers themselves are exported"
    secrets = {f"token {token}": token for token in tokens}
    secrets |= {f"ticket {code}": code for code in tickets}
    secrets |= {f"ticket {code[:4]}-{code[4:]}": f"{code[:4]}-{code[4:]}" for code in tickets}
    secrets |= {
        f"plain hash of {token}": hashlib.sha256(token.encode()).hexdigest()[:12]
        for token in tokens
    }
    secrets["the phones' address"] = PHONE_ADDRESS
    leaks = [
        f"{name} in {place}"
        for place, text in places.items()
        for name, secret in secrets.items()
        if secret in text
    ]
    assert leaks == []
    voter = CSV_COLUMNS.index("voter")
    pseudonyms = {row.split(",")[voter] for row in csv.splitlines()[1:]}
    assert len(pseudonyms) == 3
    assert all(pseudonym.startswith("v-") for pseudonym in pseudonyms)


QUIZ_DECK = """title = "Quiz night"
[[questions]]
id = "quiz"
type = "quiz"
prompt = "How long does an Estonian tax declaration take?"
options = ["3 minutes", "3 hours", "3 days"]
correct = "3 minutes"
points = 1000
time_limit = 5

[[questions]]
id = "confession"
type = "text"
display = "wall"
prompt = "What do you really think of your manager?"
"""
PLAYERS = ("Ada", "Bo", "Cy", "Di")


def link_nicknames(document: dict[str, Any]) -> dict[str, str]:
    """The linking attack on a JSON export: nickname → pseudonym.

    Points are a function of answer time: each quiz answer's time since the quiz
    opened gives its points, which name a leaderboard entry. Where points do not
    single one out, the order of the right answers is lined up with the ranks.
    """
    links: dict[str, str] = {}
    for session in document["sessions"]:
        for question in session["questions"]:
            if question["type"] != "quiz":
                continue
            settings = question["settings"]
            limit, full = settings["time_limit"], settings["points"]
            opened = min(
                epoch(event["at"])
                for event in session["events"]
                if event["question_id"] == question["id"] and event["kind"] == "opened"
            )
            right = [
                row
                for row in session["responses"]
                if row["question_id"] == question["id"]
                and row["voter"]
                and row["value"][0] in settings["correct"]
            ]
            board = question["leaderboard"]
            for player in board:
                candidates = [
                    row["voter"]
                    for row in right
                    if abs(
                        round(
                            full
                            * (1 - 0.5 * min(epoch(row["last_answer_at"]) - opened, limit) / limit)
                        )
                        - player["points"]
                    )
                    <= 1
                ]
                if len(candidates) == 1:
                    links.setdefault(player["name"], candidates[0])
            if len(right) == len(board):
                by_time = sorted(right, key=lambda row: row["last_answer_at"])
                for player, row in zip(board, by_time, strict=True):
                    links.setdefault(player["name"], row["voter"])
    return links


async def test_quiz_nicknames_cannot_be_linked_to_other_answers(
    server_config: ServerConfig,
) -> None:
    """Four players with nicknames answer a timed quiz at different moments and a text
    question; joining the leaderboard's points and order to answer times in the
    export links none of them to their text, and the report names no pseudonym."""
    config = dataclasses.replace(server_config, deck=deck_module.from_text(QUIZ_DECK, "quiz.toml"))
    async with running_server(config) as server:
        phones = [await open_phone(server) for _ in PLAYERS]
        for phone, name in zip(phones, PLAYERS, strict=True):
            phone.seq += 1
            message = {"type": "nickname", "name": name, "seq": phone.seq}
            assert (await reply(phone.connection, message))["type"] == "ack"
        await chair(server, "open")
        for phone in phones:
            assert (await phone.vote("quiz", 0))["type"] == "ack"
            # Far enough apart that each player's points differ (about 25 a step).
            await asyncio.sleep(0.25)
        await chair(server, "next", "open")
        for phone, name in zip(phones, PLAYERS, strict=True):
            assert (await phone.vote("confession", f"secret of {name}"))["type"] == "ack"
        for phone in phones:
            await phone.connection.close()

    document = json.loads(await export(config.database, "json", None))
    (session,) = document["sessions"]
    (quiz, _) = session["questions"]
    assert sorted(player["name"] for player in quiz["leaderboard"]) == sorted(PLAYERS)
    assert len({player["points"] for player in quiz["leaderboard"]}) == len(PLAYERS)
    texts = {row["voter"]: row["answer"] for row in session["responses"] if row["answer"]}
    linked = {name: texts.get(voter) for name, voter in link_nicknames(document).items()}
    assert linked == {}, "the export links nicknames to pseudonyms"
    assert session["quiz_answers_unlinked"] is True
    quiz_rows = [row for row in session["responses"] if row["question_id"] == "quiz"]
    assert len(quiz_rows) == len(PLAYERS)
    assert all(row["voter"] is None for row in quiz_rows)
    assert all(row["first_answer_at"].endswith(":00.000Z") for row in quiz_rows)

    csv_text = await export(config.database, "csv", None)
    csv_quiz = [line.split(",") for line in csv_text.splitlines() if ",quiz," in line]
    assert len(csv_quiz) == len(PLAYERS)
    assert all(cells[CSV_COLUMNS.index("voter")] == "" for cells in csv_quiz)
    pseudonyms = {row["voter"] for row in session["responses"] if row["voter"]}
    assert len(pseudonyms) == len(PLAYERS)
    report = await build_report(config.database, None)
    assert not [pseudonym for pseudonym in pseudonyms if pseudonym in report]


async def test_quiz_answers_keep_their_pseudonyms_when_nobody_chose_a_nickname(
    server_config: ServerConfig,
) -> None:
    """Without nicknames the leaderboard names nobody, so quiz answers stay linked and
    exact, like every other answer."""
    config = dataclasses.replace(server_config, deck=deck_module.from_text(QUIZ_DECK, "quiz.toml"))
    async with running_server(config) as server:
        phones = [await open_phone(server) for _ in range(2)]
        await chair(server, "open")
        for phone in phones:
            assert (await phone.vote("quiz", 0))["type"] == "ack"
            await phone.connection.close()
    (session,) = json.loads(await export(config.database, "json", None))["sessions"]
    assert session["quiz_answers_unlinked"] is False
    assert [player["name"] for player in session["questions"][0]["leaderboard"]] == [
        "Anonymous",
        "Anonymous",
    ]
    assert all(row["voter"].startswith("v-") for row in session["responses"])
    with sqlite3.connect(config.database) as db:
        stored = sorted(row[0] for row in db.execute("SELECT first_at FROM responses"))
    assert sorted(row["first_answer_at"] for row in session["responses"]) == stored
