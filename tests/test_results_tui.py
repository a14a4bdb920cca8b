"""`livepoll results`: a past session's final results in the console again, read-only."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from livepoll import cli
from livepoll.export import ExportError
from livepoll.past import PastSession, load_past_session
from livepoll.server.app import ServerConfig
from livepoll.store import Store
from livepoll.tui.app import make_replay_app
from seeding import seeded
from test_tui_app import SIZE, prompt_is_shown, screen_text, wait_until


@pytest.fixture
async def past(server_config: ServerConfig) -> PastSession:
    """The every-type session, run through a real server by five phones, loaded back."""
    await seeded(server_config)
    return await load_past_session(server_config.database)


def _modified(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


async def test_past_session_has_one_final_state_per_question(
    server_config: ServerConfig,
) -> None:
    """Each question comes back with its stored tallies, results shown and voting over,
    and loading it leaves the database untouched."""
    live = await seeded(server_config)
    before = _modified(server_config.database)
    past = await load_past_session(server_config.database)
    assert _modified(server_config.database) == before
    assert [state.question.id for state in past.states] == list(live)
    assert [state.index for state in past.states] == list(range(len(live)))
    for state in past.states:
        assert state.results_shown
        assert state.status == "closed", state.question.id  # the quiz was open at the stop
        assert state.time_left is None
        assert state.results == live[state.question.id]
    assert past.states[0].counts == (1, 1, 3)
    assert past.read_only.startswith(f"read-only: session {past.session_id} from 20")


async def test_console_steps_through_a_past_sessions_final_results(past: PastSession) -> None:
    """n / → and p / ← move between questions and each shows its final bars and counts;
    the voting, results and join keys are not offered."""
    app = make_replay_app(past.states, past.welcome, past.read_only)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state is not None and app.welcome is not None)
        await pilot.pause()
        text = screen_text(app)
        assert f"read-only: session {past.session_id} from" in text
        assert "Question 1 / 8" in text
        assert prompt_is_shown(app, "Pick one")
        assert "3   60%" in text  # Blue: 3 of 5
        assert "1   20%" in text
        assert "FINAL" in text
        assert "Open/close" not in text
        assert "Results" not in text
        assert "Scan to vote" not in text

        await pilot.press("space", "r", "j")  # not offered: nothing happens
        await pilot.press("n")
        await wait_until(pilot, lambda: app.state is not None and app.state.index == 1)
        await pilot.pause()
        assert prompt_is_shown(app, "Pick some")

        for _ in range(6):
            await pilot.press("right")
        await wait_until(pilot, lambda: app.state is not None and app.state.index == 7)
        await pilot.pause()
        text = screen_text(app)
        assert "Estonian tax declaration" in text
        assert "✓" in text  # the right answer, revealed
        assert "got it right" in text
        assert "Leaderboard" in text

        await pilot.press("n")  # past the last question: stays
        await pilot.press("left", "p")
        await wait_until(pilot, lambda: app.state is not None and app.state.index == 5)
        await pilot.pause()
        assert prompt_is_shown(app, "One word")
        assert "people" in screen_text(app)

        await pilot.press("q")  # no question asked: nothing is open
        await wait_until(pilot, lambda: not app.is_running)


async def test_latest_session_is_the_default_and_others_can_be_chosen(
    server_config: ServerConfig,
) -> None:
    """Without --session the latest is shown; an earlier one by its id."""
    await seeded(server_config)
    await seeded(server_config)
    latest = await load_past_session(server_config.database)
    first = await load_past_session(server_config.database, 1)
    assert (first.session_id, latest.session_id) == (1, 2)
    with pytest.raises(ExportError, match=r"no session 7 .*\(sessions: 1, 2\)"):
        await load_past_session(server_config.database, 7)


def test_results_without_a_database_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing database file is an error naming it, exit code 1 (and none is created)."""
    missing = tmp_path / "nope.db"
    assert cli.main(["results", "--db", str(missing)]) == 1
    assert f"no database at {missing}" in capsys.readouterr().err
    assert not missing.exists()


def test_results_for_an_unknown_session_lists_the_known_ones(
    server_config: ServerConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """--session with an id the database does not hold: exit 1, with the ids there are."""
    asyncio.run(seeded(server_config))
    code = cli.main(["results", "--db", str(server_config.database), "--session", "42"])
    assert code == 1
    assert "no session 42" in capsys.readouterr().err


def test_results_on_a_database_without_sessions_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty livepoll database has nothing to show: exit 1, and why."""
    database = tmp_path / "empty.db"

    async def create() -> None:
        await (await Store.open(database)).close()

    asyncio.run(create())
    assert cli.main(["results", "--db", str(database)]) == 1
    assert "no sessions" in capsys.readouterr().err


def test_results_on_a_file_that_is_not_a_livepoll_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any other SQLite file (or junk) is refused with the reason, exit code 1."""
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    connection.close()
    assert cli.main(["results", "--db", str(other)]) == 1
    assert "not a livepoll database" in capsys.readouterr().err


def test_results_rejects_a_session_id_that_is_not_a_number(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """argparse's usage error: exit code 2, as for every command."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["results", "--session", "latest"])
    assert exit_info.value.code == 2
