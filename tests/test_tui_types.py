"""Every question type, live: phones answer through a real server, the console shows it.

The chair opens each question of the every-type deck from the console (Pilot keys);
real audience clients answer; the test reads the console's screen.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from clients import open_phone
from livepoll import deck as deck_module
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from test_tui_app import connected, screen_text, wait_until

DECK = Path(__file__).with_name("phone_types.toml")


def votes(question_id: str, *answers: Any) -> list[dict[str, Any]]:
    """One vote per phone."""
    return [{"type": "vote", "q": question_id, "answer": answer} for answer in answers]


CASES: list[tuple[int, list[dict[str, Any]], list[str]]] = [
    # (question index, one message per phone, texts on the console afterwards)
    (0, votes("ready", 4, 4, 2), ["2   67%", "1   33%", "mean 3.33 · median 4"]),
    (1, votes("online", 12, 40, 97.5), ["90–100%", "median 40% · mean 49.83%"]),
    (2, votes("culture", "Trust", "trust people", "[b]Bold[/b]"), ["people"]),
    (3, votes("next", "Hire more data people", "[red]x[/]"), ["[red]x[/]", "newest first"]),
    (4, votes("priorities", [3, 0, 1, 2], [3, 1, 0, 2]), ["Data", "6 pts  2 first"]),
    (
        5,
        [{"type": "ask", "q": "panel", "text": text} for text in ("Who pays?", "[b]Why[/b] now?")],
        ["Who pays?", "[b]Why[/b] now?"],
    ),
    (6, votes("estonia", 0, 0, 2), ["Estonia  ✓", "2 of 3 got it right", "Leaderboard"]),
]


@pytest.fixture
async def types_server(tmp_path: Path) -> AsyncIterator[LivepollServer]:
    """A real server on the deck with every question type."""
    config = ServerConfig(
        deck=deck_module.from_file(DECK), database=tmp_path / "types.db", host="127.0.0.1", port=0
    )
    async with running_server(config) as server:
        yield server


@pytest.mark.parametrize(
    ("index", "messages", "expected"), CASES, ids=[messages[0]["q"] for _, messages, _ in CASES]
)
async def test_each_type_shows_what_phones_answered(
    types_server: LivepollServer, index: int, messages: list[dict[str, Any]], expected: list[str]
) -> None:
    """The chair moves to the question and opens it with results shown; each phone's
    answer is acknowledged and the console shows the type's live view of them, with
    attendee text literal (a quiz is closed first, to reveal its answer)."""
    async with connected(types_server) as (app, pilot):
        await pilot.press(*["n"] * index)
        await wait_until(pilot, lambda: app.state is not None and app.state.index == index)
        await pilot.press("space", "r")
        await wait_until(
            pilot,
            lambda: (
                app.state is not None and app.state.status == "open" and app.state.results_shown
            ),
        )
        phones = [await open_phone(types_server) for _ in messages]
        try:
            for phone, message in zip(phones, messages, strict=True):
                await phone.connection.send(json.dumps({**message, "seq": 1}))
                assert (await phone.reply())["type"] == "ack"
            if app.state is not None and app.state.question.type == "quiz":
                await pilot.press("space")
                await wait_until(
                    pilot, lambda: app.state is not None and app.state.status == "closed"
                )
            await wait_until(pilot, lambda: all(text in screen_text(app) for text in expected))
            assert "Bold" not in screen_text(app), "words are shown case-folded"
        finally:
            for phone in phones:
                await phone.connection.close()
