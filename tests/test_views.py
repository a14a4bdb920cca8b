"""The SQL views organisers query agree with the engine's tallies and with the exports."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

from livepoll.export import export
from livepoll.server.app import ServerConfig
from seeding import seeded


def views(database: Path, sql: str) -> list[sqlite3.Row]:
    """Rows of a query against the database, as an organiser would run it."""
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql).fetchall()


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
        "SELECT question_id, type, voter, answer, first_answer_at, last_answer_at"
        " FROM responses_readable ORDER BY position, first_answer_at, voter",
    )
    exported = list(csv.DictReader(io.StringIO(await export(database, "csv", None))))
    exported_rows = sorted(
        (row["question_id"], row["voter"], row["answer"]) for row in exported if row["type"] != "qa"
    )
    # The database links quiz answers to voters; exports of a session with nicknames
    # do not (see tests/test_privacy.py).
    view_rows = sorted(
        (row["question_id"], "" if row["type"] == "quiz" else row["voter"], str(row["answer"]))
        for row in readable
    )
    assert view_rows == exported_rows
    rankings = [row["answer"] for row in readable if row["question_id"] == "rank"]
    assert rankings.count("Person-centred > Persistent delivery > Digital and IT") == 2
    assert any(row["answer"] == "<b>bold</b>" for row in readable)
