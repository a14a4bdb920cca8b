"""Exports of every question type, read back from a database a real server wrote."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import pytest

from clients import new_voter_token, open_phone
from livepoll.export import export
from livepoll.server.app import ServerConfig, running_server
from test_types_server import (
    CLOUD,
    FLOOR,
    NUMBER,
    PANEL,
    QUIZ,
    RANKING,
    SCALE,
    WALL,
    ask_question,
    command,
    frame_where,
    items_of,
    send,
    summaries,
)
from test_types_server import config as config  # noqa: F401  (the fixture, for this module)

Live = dict[str, Any]


async def seed(config: ServerConfig, tokens: list[str]) -> Live:
    """Run a session through every type with three phones; return what the engine showed live."""
    async with running_server(config) as server:
        ada, bo, cy = [await open_phone(server, token) for token in tokens]
        await send(ada, "nickname", name="Ada")
        await send(cy, "nickname", name="Cy")
        script: list[tuple[Any, list[tuple[Any, Any]]]] = [
            (SCALE, [(ada, 4), (bo, 2), (cy, 5), (ada, 3)]),
            (CLOUD, [(ada, "Culture"), (bo, "culture and data"), (cy, "Trust")]),
            (WALL, [(ada, "Fix the shit legacy"), (bo, "More data")]),
            (RANKING, [(ada, [1, 0, 2]), (bo, [0, 1, 2]), (cy, [2, 1, 0])]),
            (NUMBER, [(ada, 62.5), (bo, 90), (cy, 40)]),
        ]
        for question, votes in script:
            await ask_question(server, question)
            for phone, answer in votes:
                assert (await send(phone, "vote", q=question.id, answer=answer))["type"] == "ack"
                # Stored times have whole milliseconds; the wall's order needs distinct ones.
                await asyncio.sleep(0.002)
        await ask_question(server, QUIZ)
        for phone, option in ((ada, 0), (bo, 1), (cy, 0)):
            assert (await send(phone, "vote", q=QUIZ.id, answer=option))["type"] == "ack"
        await frame_where(ada, lambda f: f.get("status") == "closed")

        await ask_question(server, PANEL)
        await send(ada, "ask", q=PANEL.id, text="What about legacy?")
        await send(bo, "ask", q=PANEL.id, text="Budget?")
        await command(server, "moderate", item=1, state="visible")
        for phone in (bo, cy):
            await send(phone, "upvote", q=PANEL.id, item=1)
        await ask_question(server, FLOOR)
        await send(cy, "ask", q=FLOOR.id, text="Skills?")
        await send(ada, "upvote", q=FLOOR.id, item=1)
        await command(server, "moderate", item=1, state="answered")

        live = {
            "summaries": summaries(server),
            "items": {PANEL.id: items_of(server, PANEL), FLOOR.id: items_of(server, FLOOR)},
            "leaderboard": server.session.leaderboard(),
            "session": server.session_id,
        }
        for phone in (ada, bo, cy):
            await phone.connection.close()
    return live


@pytest.fixture
async def exported(config: ServerConfig) -> tuple[Live, list[str], str, str]:
    """A seeded database: what was live, the voter tokens, and its CSV and JSON exports."""
    tokens = [new_voter_token() for _ in range(3)]
    live = await seed(config, tokens)
    csv_text = await export(config.database, "csv", None)
    json_text = await export(config.database, "json", None)
    return live, tokens, csv_text, json_text


def rows_of(csv_text: str, question_id: str) -> list[dict[str, str]]:
    """The CSV rows of one question."""
    return [
        row for row in csv.DictReader(io.StringIO(csv_text)) if row["question_id"] == question_id
    ]


async def test_csv_has_a_readable_row_per_response_of_every_type(
    exported: tuple[Live, list[str], str, str],
) -> None:
    """Scale points, texts, rankings as "A > B > C", numbers with their unit, quiz right/wrong."""
    live, tokens, csv_text, _ = exported
    answers = {
        question.id: sorted(
            (row["answer"], row["detail"]) for row in rows_of(csv_text, question.id)
        )
        for question in (SCALE, CLOUD, WALL, RANKING, NUMBER, QUIZ)
    }
    assert answers == {
        SCALE.id: [("2", ""), ("3", ""), ("5", "")],
        CLOUD.id: [("Culture", ""), ("Trust", ""), ("culture and data", "")],
        WALL.id: [("Fix the shit legacy", ""), ("More data", "")],
        RANKING.id: [
            ("Digital and IT > Persistent delivery > Person-centred", ""),
            ("Persistent delivery > Person-centred > Digital and IT", ""),
            ("Person-centred > Persistent delivery > Digital and IT", ""),
        ],
        NUMBER.id: [("40", "%"), ("62.5", "%"), ("90", "%")],
        QUIZ.id: [("3 hours", "wrong"), ("3 minutes", "right"), ("3 minutes", "right")],
    }
    for row in rows_of(csv_text, RANKING.id):
        assert row["type"] == "ranking"
        assert row["session"] == str(live["session"])
        assert row["voter"].startswith("v-")
    for token in tokens:
        assert token not in csv_text


async def test_csv_lists_q_and_a_items_with_upvotes_and_state(
    exported: tuple[Live, list[str], str, str],
) -> None:
    """Each Q&A question posted is a row: its text, and "N upvotes, state" as the detail."""
    _, _, csv_text, _ = exported
    panel = [(row["answer"], row["detail"], row["type"]) for row in rows_of(csv_text, PANEL.id)]
    assert panel == [
        ("What about legacy?", "2 upvotes, visible", "qa"),
        ("Budget?", "0 upvotes, pending", "qa"),
    ]
    (floor,) = rows_of(csv_text, FLOOR.id)
    assert (floor["answer"], floor["detail"]) == ("Skills?", "1 upvote, answered")
    assert floor["first_answer_at"] == floor["last_answer_at"]
    assert floor["first_answer_at"].endswith("Z")


async def test_json_summaries_agree_with_what_the_engine_showed_live(
    exported: tuple[Live, list[str], str, str],
) -> None:
    """Every question's JSON summary is the live summary, replayed from the store."""
    live, _, _, json_text = exported
    (session,) = json.loads(json_text)["sessions"]
    by_id = {question["id"]: question for question in session["questions"]}
    for question_id, summary in live["summaries"].items():
        if question_id != WALL.id:
            assert by_id[question_id]["summary"] == summary, question_id
    assert by_id[SCALE.id]["summary"]["mean"] == pytest.approx(10 / 3, abs=0.01)
    assert by_id[NUMBER.id]["summary"]["median"] == 62.5
    assert by_id[CLOUD.id]["summary"]["words"][0] == ["culture", 2]


async def test_json_leaves_blocked_words_unmasked_for_the_organiser(
    exported: tuple[Live, list[str], str, str],
) -> None:
    """The projector masked a blocked word; the organiser's export has what was written."""
    live, _, _, json_text = exported
    (session,) = json.loads(json_text)["sessions"]
    (wall,) = [question for question in session["questions"] if question["id"] == WALL.id]
    assert live["summaries"][WALL.id]["latest"] == ["More data", "Fix the •••• legacy"]
    assert wall["summary"]["latest"] == ["More data", "Fix the shit legacy"]


async def test_json_has_borda_ranking_items_and_leaderboard(
    exported: tuple[Live, list[str], str, str],
) -> None:
    """JSON adds the Borda ranking, Q&A items with votes and state, and the quiz leaderboard."""
    live, _, _, json_text = exported
    (session,) = json.loads(json_text)["sessions"]
    by_id = {question["id"]: question for question in session["questions"]}
    assert by_id[RANKING.id]["ranking"] == [
        {"text": "Persistent delivery", "borda": 4, "first_places": 1},
        {"text": "Person-centred", "borda": 3, "first_places": 1},
        {"text": "Digital and IT", "borda": 2, "first_places": 1},
    ]
    for qa in (PANEL, FLOOR):
        items = [
            {key: value for key, value in item.items() if key != "posted_at"}
            for item in by_id[qa.id]["items"]
        ]
        assert items == live["items"][qa.id]
        assert all(item["posted_at"].endswith("Z") for item in by_id[qa.id]["items"])
    assert by_id[QUIZ.id]["leaderboard"] == live["leaderboard"]
    assert {player["name"] for player in live["leaderboard"]} == {"Ada", "Cy"}
    assert by_id[QUIZ.id]["settings"]["correct"] == [0]
    assert by_id[NUMBER.id]["settings"]["unit"] == "%"
    upvotes = {(i["question_id"], i["text"]): i["upvotes"] for i in session["qa_items"]}
    assert upvotes == {
        (PANEL.id, "What about legacy?"): 2,
        (PANEL.id, "Budget?"): 0,
        (FLOOR.id, "Skills?"): 1,
    }
    rankings = [r for r in session["responses"] if r["question_id"] == RANKING.id]
    assert {tuple(r["value"]) for r in rankings} == {(1, 0, 2), (0, 1, 2), (2, 1, 0)}
