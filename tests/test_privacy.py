"""Privacy: voter tokens, ticket codes and IP addresses appear nowhere an organiser or
the projector sees: not in the database file, the exports, the report, the server's
log or the presenter's frames.

The phones connect from 127.0.0.2 (still loopback) so that their address is one the
server itself never has reason to print.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from clients import new_voter_token
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
    pseudonyms = {row.split(",")[5] for row in csv.splitlines()[1:]}
    assert len(pseudonyms) == 3
    assert all(pseudonym.startswith("v-") for pseudonym in pseudonyms)
