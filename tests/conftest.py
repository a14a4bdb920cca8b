"""Shared fixtures: a real server on a loopback port with a real SQLite file."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from livepoll import deck as deck_module
from livepoll.deck import Deck
from livepoll.event import Event
from livepoll.event import from_file as event_from_file
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from livepoll.server.conference import ConferenceServer, running_conference
from tls_certs import TestCA, make_ca

SAMPLE_DECK = """
title = "Test deck"

[[questions]]
id = "q1"
type = "single"
prompt = "Is your organisation running a transformation programme?"
options = ["Yes", "No", "Not sure"]

[[questions]]
id = "q2"
type = "multi"
prompt = "Which of these hold your organisation back?"
options = ["Legacy systems", "Culture", "Skills", "Budget"]
max_choices = 2
"""

pytest_plugins = ["ci_rule"]
"""Under CI (``CI`` true) every skip, at run or collection time, fails: see ci_rule.py."""


@pytest.fixture
def sample_deck() -> Deck:
    """A two-question deck: q1 single choice, q2 multiple choice (up to 2)."""
    return deck_module.from_text(SAMPLE_DECK, "test-deck.toml")


@pytest.fixture
def server_config(sample_deck: Deck, tmp_path: Path) -> ServerConfig:
    """A server configuration on an ephemeral loopback port with a temp database."""
    return ServerConfig(
        deck=sample_deck,
        database=tmp_path / "livepoll.db",
        host="127.0.0.1",
        port=0,
        public_url=None,
        presenter_token=secrets.token_urlsafe(24),
    )


@pytest.fixture
async def livepoll_server(server_config: ServerConfig) -> AsyncIterator[LivepollServer]:
    """A real livepoll server, started for the test and stopped after it."""
    async with running_server(server_config) as server:
        yield server


# An event: two rooms on one server (tests of the event server and its consoles).

EVENT_DECK = """title = "{title}"

[[questions]]
id = "pick"
type = "single"
prompt = "{prompt}"
options = ["Yes", "No"]

[[questions]]
id = "why"
type = "text"
prompt = "Why?"
"""

EVENT = """title = "Test conference"

[[rooms]]
id = "main-hall"
name = "Main hall"
join = "code"
sessions = ["opening.toml", "closing.toml"]

[[rooms]]
id = "room-2"
name = "Breakout 2"
sessions = ["breakout.toml"]
"""


@pytest.fixture
def event(tmp_path: Path) -> Event:
    """Two rooms: the main hall (room code) runs two decks, the breakout one."""
    for name, title in (("opening", "Opening"), ("closing", "Closing"), ("breakout", "Breakout")):
        (tmp_path / f"{name}.toml").write_text(
            EVENT_DECK.format(title=title, prompt=f"{title}: ready?"), encoding="utf-8"
        )
    path = tmp_path / "event.toml"
    path.write_text(EVENT, encoding="utf-8")
    return event_from_file(path)


@pytest.fixture
def event_config(event: Event, tmp_path: Path) -> ServerConfig:
    """Loopback, port 0, a fresh database; the deck is the event's first (rooms bring
    their own)."""
    return ServerConfig(
        deck=event.rooms[0].decks[0],
        database=tmp_path / "event.db",
        host="127.0.0.1",
        port=0,
        presenter_token=secrets.token_urlsafe(24),
    )


@pytest.fixture
async def front(event: Event, event_config: ServerConfig) -> AsyncIterator[ConferenceServer]:
    """A real event server, started for the test and stopped after it."""
    async with running_conference(event, event_config) as server:
        yield server


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """A test CA and a server certificate it signed for localhost and 127.0.0.1."""
    return make_ca(tmp_path_factory.mktemp("ca"))
