"""A session with every answerable type, run through a real server by scripted phones."""

from __future__ import annotations

import json
from typing import Any

from clients import chair, new_voter_token, open_phone
from livepoll import deck as deck_module
from livepoll.server.app import ServerConfig, running_server

DECK = """title = "Every type"

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

[[questions]]
id = "estonia"
type = "quiz"
prompt = "How long does an Estonian tax declaration take?"
options = ["3 minutes", "3 hours", "3 days"]
correct = "3 minutes"
time_limit = 60
"""

VOTES: dict[str, list[Any]] = {
    "pick": [0, 2, 2, 1, 2],
    "some": [[0, 1], [1], [1, 3], [0, 2, 3], [3]],
    "rank": [[0, 1, 2], [2, 0, 1], [0, 2, 1], [1, 0, 2], [0, 1, 2]],
    "ready": [1, 4, 4, 5, 3],
    "online": [50, 72.5, 10, 99, 50],
    "word": ["Culture", "people", "Data", "people first", "<b>bold</b>"],
    "estonia": [0, 1, 0, 0, 2],
}
NICKNAMES = ["Ada", "Grace", None, "[red]Linus[/]", None]


async def seeded(server_config: ServerConfig) -> dict[str, dict[str, Any]]:
    """Run the deck with five phones answering everything; returns each question's summary."""
    server_config.deck = deck_module.from_text(DECK, "every-type.toml")
    # Scripted phones answer a whole deck in milliseconds; the rate limit is for people.
    server_config.rate_limit = 1000.0
    summaries: dict[str, dict[str, Any]] = {}
    async with running_server(server_config) as server:
        phones = [await open_phone(server, new_voter_token()) for _ in range(5)]
        for phone, name in zip(phones, NICKNAMES, strict=True):
            if name is not None:
                await phone.connection.send(
                    json.dumps({"type": "nickname", "name": name, "seq": 800})
                )
                assert (await phone.reply())["type"] == "ack"
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
