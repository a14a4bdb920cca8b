"""The SQL views organisers query agree with the engine's tallies and with the exports."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

from clients import chair, new_voter_token, open_phone
from livepoll import deck as deck_module
from livepoll.export import export
from livepoll.server.app import ServerConfig, running_server

DECK = """title = "Views"

[[questions]]
id = "pick"
type = "single"
prompt = "Pick one"
options = ["Red", "Green", "Blue"]

[[questions]]
id = "some"
type = "multi"
prompt = "Pick some"
options = ["A", "B", "C", "D"]

[[questions]]
id = "rank"
type = "ranking"
prompt = "Rank them"
options = ["Person-centred", "Persistent delivery", "Digital and IT"]

[[questions]]
id = "ready"
type = "scale"
prompt = "How ready?"
min = 1
max = 5

[[questions]]
id = "online"
type = "number"
prompt = "What percentage is online?"
min = 0
max = 100
unit = "%"

[[questions]]
id = "word"
type = "text"
prompt = "One word"

[[questions]]
id = "panel"
type = "qa"
prompt = "Questions for the panel"
"""

VOTES: dict[str, list[Any]] = {
    "pick": [0, 2, 2, 1, 2],
    "some": [[0, 1], [1], [1, 3], [0, 2, 3], [3]],
    "rank": [[0, 1, 2], [2, 0, 1], [0, 2, 1], [1, 0, 2], [0, 1, 2]],
    "ready": [1, 4, 4, 5, 3],
    "online": [50, 72.5, 10, 99, 50],
    "word": ["Culture", "people", "Data", "people first", "<b>bold</b>"],
}


def views(database: Path, sql: str) -> list[sqlite3.Row]:
    """Rows of a query against the database, as an organiser would run it."""
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql).fetchall()


async def seeded(server_config: ServerConfig) -> dict[str, dict[str, Any]]:
    """Run the deck with five phones answering everything; returns each question's summary."""
    server_config.deck = deck_module.from_text(DECK, "views.toml")
    summaries: dict[str, dict[str, Any]] = {}
    async with running_server(server_config) as server:
        phones = [await open_phone(server, new_voter_token()) for _ in range(5)]
        for index, question in enumerate(server_config.deck.questions):
            if index:
                await chair(server, "next")
            await chair(server, "toggle_voting")
            if question.type == "qa":
                for n, phone in enumerate(phones[:3]):
                    await phone.connection.send(
                        json.dumps({"type": "ask", "q": "panel", "text": f"Q{n}?", "seq": 900 + n})
                    )
                    assert (await phone.reply())["type"] == "ack"
                for phone in phones:
                    await phone.connection.send(
                        json.dumps({"type": "upvote", "q": "panel", "item": 2, "seq": 990})
                    )
                    assert (await phone.reply())["type"] == "ack"
            else:
                for phone, answer in zip(phones, VOTES[question.id], strict=True):
                    assert (await phone.vote(question.id, answer))["type"] == "ack"
            state = server.session.states[question.id]
            summaries[question.id] = server.session.summary(state)
        for phone in phones:
            await phone.connection.close()
    return summaries


async def test_views_agree_with_the_engine_and_the_exports(server_config: ServerConfig) -> None:
    """question_results, ranking_results, numeric_results, qa_results and responses_readable
    give the tallies the projector showed and the rows the CSV holds."""
    live = await seeded(server_config)
    database = server_config.database

    choice = views(database, "SELECT * FROM question_results ORDER BY position, option_index")
    assert [row["votes"] for row in choice if row["question_id"] == "pick"] == live["pick"][
        "counts"
    ]
    assert [row["votes"] for row in choice if row["question_id"] == "some"] == live["some"][
        "counts"
    ]
    assert [row["percent"] for row in choice if row["question_id"] == "some"] == [
        40.0,
        60.0,
        20.0,
        60.0,
    ]

    ranking = views(database, "SELECT * FROM ranking_results ORDER BY option_index")
    assert [row["borda"] for row in ranking] == live["rank"]["scores"]
    assert [row["first_places"] for row in ranking] == live["rank"]["firsts"]

    numeric = {row["question_id"]: row for row in views(database, "SELECT * FROM numeric_results")}
    assert numeric["ready"]["mean"] == live["ready"]["mean"]
    assert numeric["online"]["mean"] == live["online"]["mean"]
    assert (numeric["online"]["lowest"], numeric["online"]["highest"]) == (10, 99)
    assert numeric["ready"]["answers"] == live["ready"]["count"] == 5

    qa = views(database, "SELECT * FROM qa_results ORDER BY item_id")
    assert [(row["text"], row["upvotes"]) for row in qa] == [("Q0?", 0), ("Q1?", 5), ("Q2?", 0)]

    readable = views(
        database,
        "SELECT question_id, voter, answer, first_answer_at, last_answer_at"
        " FROM responses_readable ORDER BY position, first_answer_at, voter",
    )
    exported = list(csv.DictReader(io.StringIO(await export(database, "csv", None))))
    exported_rows = {
        (row["question_id"], row["voter"], row["answer"]) for row in exported if row["type"] != "qa"
    }
    view_rows = {(row["question_id"], row["voter"], str(row["answer"])) for row in readable}
    assert view_rows == exported_rows
    rankings = [row["answer"] for row in readable if row["question_id"] == "rank"]
    assert rankings.count("Person-centred > Persistent delivery > Digital and IT") == 2
    assert any(row["answer"] == "<b>bold</b>" for row in readable)
