"""Shared fixtures: a real server on a loopback port with a real SQLite file."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from livepoll import deck as deck_module
from livepoll.deck import Deck
from livepoll.server.app import LivepollServer, ServerConfig, running_server
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


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """A test CA and a server certificate it signed for localhost and 127.0.0.1."""
    return make_ca(tmp_path_factory.mktemp("ca"))
