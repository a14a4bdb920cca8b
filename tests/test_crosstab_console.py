"""Cross-tabs on the console: ``s`` splits the live results by an earlier question."""

from __future__ import annotations

import json
from pathlib import Path

from clients import Phone, chair, new_voter_token, open_phone
from livepoll import deck as deck_module
from livepoll.engine import Session
from livepoll.protocol import decode_command, decode_presenter_frame, encode_presenter_state
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from livepoll.tui.app import make_app
from livepoll.tui.crosstab import CrossTabView
from test_tui_app import SIZE, screen_text, wait_until

POLLS = Path(__file__).resolve().parent.parent / "polls"

THREE = """title = "Three"

[[questions]]
id = "role"
type = "single"
prompt = "Your role?"
options = ["Officer", "Manager"]

[[questions]]
id = "words"
type = "text"
prompt = "One word"

[[questions]]
id = "size"
type = "scale"
prompt = "How big is your council?"
min = 1
max = 3

[[questions]]
id = "ready"
type = "single"
prompt = "Ready?"
options = ["Yes", "No"]
"""


async def answer_programme(server: LivepollServer, phones: list[Phone]) -> None:
    """Eight phones say "across the whole organisation", four "in some services"."""
    await chair(server, "toggle_voting")
    for n, phone in enumerate(phones):
        reply = await phone.vote("transformation-programme", 0 if n < 8 else 1)
        assert reply["type"] == "ack"
    await chair(server, "next", "toggle_voting", "toggle_results")


async def test_s_splits_the_live_results_and_s_again_returns(server_config: ServerConfig) -> None:
    """On the Socitm deck's second question, s shows one row per programme answer with
    its base and row percentages, follows new votes live, hides the segment of four,
    and s again brings the plain bars back."""
    server_config.deck = deck_module.from_file(POLLS / "socitm-spring.toml")
    server_config.rate_limit = 1000.0
    async with running_server(server_config) as server:
        phones = [await open_phone(server, new_voter_token()) for _ in range(12)]
        await answer_programme(server, phones)
        for n, phone in enumerate(phones[:6]):
            assert (await phone.vote("incremental-or-wholesale", 2 if n < 5 else 0))[
                "type"
            ] == "ack"
        app = make_app(server.base_url, server.token)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.state is not None and app.state.can_segment)
            await pilot.press("s")
            await wait_until(
                pilot, lambda: app.state is not None and app.state.crosstab is not None
            )
            await pilot.pause()
            view = app.screen.query_one("#crosstab", CrossTabView)
            assert view.display
            text = screen_text(app)
            assert "Split by: Is your organisation running" in text
            assert "n = 6" in text
            assert "83%" in text
            assert "17%" in text
            assert "fewer than 5" in text
            for phone in phones[6:8]:
                assert (await phone.vote("incremental-or-wholesale", 3))["type"] == "ack"
            await wait_until(pilot, lambda: "n = 8" in screen_text(app))
            assert "63%" in screen_text(app)
            await pilot.press("s")
            await wait_until(pilot, lambda: app.state is not None and app.state.crosstab is None)
            await pilot.pause()
            assert not view.display
            assert "Split by" not in screen_text(app)
        for phone in phones:
            await phone.connection.close()


async def test_without_segment_by_s_cycles_through_earlier_choice_questions(
    server_config: ServerConfig,
) -> None:
    """On a question with no declared split, s goes through each earlier single, multi,
    scale or quiz question (skipping text), then back to the plain view."""
    server_config.deck = deck_module.from_text(THREE, "three.toml")
    async with running_server(server_config) as server:
        await chair(server, "next", "next", "next")
        app = make_app(server.base_url, server.token)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.state is not None and app.state.index == 3)
            seen: list[str | None] = []

            def split_by() -> str | None:
                crosstab = app.state.crosstab if app.state is not None else None
                return crosstab["by"] if crosstab else None

            for _ in range(3):
                previous = split_by()
                await pilot.press("s")
                await wait_until(pilot, lambda previous=previous: split_by() != previous)
                seen.append(split_by())
            assert seen == ["role", "size", None]


async def test_s_is_offered_only_where_a_split_exists(server_config: ServerConfig) -> None:
    """The first question and a text question cannot be split: no s in the footer."""
    server_config.deck = deck_module.from_text(THREE, "three.toml")
    async with running_server(server_config) as server:
        app = make_app(server.base_url, server.token)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.state is not None)
            assert app.check_action("segment", ()) is False
            await chair(server, "next")
            await wait_until(pilot, lambda: app.state is not None and app.state.index == 1)
            assert app.check_action("segment", ()) is False
            await chair(server, "next")
            await wait_until(pilot, lambda: app.state is not None and app.state.index == 2)
            assert app.check_action("segment", ()) is True


def test_the_presenter_state_carries_the_split_without_small_segments_figures() -> None:
    """The state frame holds the cross-tab; a segment under the threshold has no numbers."""
    deck = deck_module.from_file(POLLS / "socitm-spring.toml")
    session = Session(deck)
    session.open_voting(at=1.0)
    for n in range(7):
        session.apply_vote(f"v{n}", "transformation-programme", 0 if n < 5 else 1, at=2.0)
    session.next(at=3.0)
    session.open_voting(at=3.0)
    for n in range(7):
        session.apply_vote(f"v{n}", "incremental-or-wholesale", n % 2, at=4.0)
    assert decode_command('{"type": "command", "action": "segment"}').action == "segment"
    assert session.cycle_segment_view()
    frame = encode_presenter_state(session, phones=7, now=5.0)
    rows = json.loads(frame)["crosstab"]["rows"]
    assert rows[0]["base"] == 5
    assert rows[1] == {"label": "Yes, in some services", "suppressed": True}
    state = decode_presenter_frame(frame)
    assert not isinstance(state, Exception)
    assert state.crosstab is not None
    assert state.can_segment
    session.next(at=6.0)
    assert json.loads(encode_presenter_state(session, phones=7, now=6.0))["crosstab"] is None


async def test_min_segment_sets_the_consoles_threshold(server_config: ServerConfig) -> None:
    """With --min-segment 2 a segment of two is shown; hidden results hide figures and bases."""
    server_config.deck = deck_module.from_file(POLLS / "socitm-spring.toml")
    server_config.min_segment = 2
    async with running_server(server_config) as server:
        phones = [await open_phone(server, new_voter_token()) for _ in range(2)]
        await chair(server, "toggle_voting")
        for phone in phones:
            assert (await phone.vote("transformation-programme", 3))["type"] == "ack"
        await chair(server, "next", "toggle_voting")
        for phone in phones:
            assert (await phone.vote("incremental-or-wholesale", 1))["type"] == "ack"
        app = make_app(server.base_url, server.token)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.state is not None and app.state.can_segment)
            await pilot.press("s")
            await wait_until(pilot, lambda: "Results hidden" in screen_text(app))
            assert "n = 2" not in screen_text(app)
            assert "100%" not in screen_text(app)
            await pilot.press("r")
            await wait_until(pilot, lambda: "n = 2" in screen_text(app))
            assert "100%" in screen_text(app)
            assert app.state is not None
            assert app.state.crosstab is not None
            assert app.state.crosstab["min_base"] == 2
        for phone in phones:
            await phone.connection.close()
