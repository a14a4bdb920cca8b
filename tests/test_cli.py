"""The `livepoll` command as a chair types it: check, serve, and their messages."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from livepoll import cli
from livepoll.presenter_token import TOKEN_ENV, TokenError, check_token

GOOD_DECK = """title = "Good"
[[questions]]
type = "single"
prompt = "Yes or no?"
options = ["Yes", "No"]
"""

BAD_DECK = """title = "Bad"
[[questions]]
type = "single"
prompt = "Only one option"
options = ["Yes"]

[[questions]]
type = "poll"
prompt = ""
options = ["A", "B"]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write a deck file and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_accepts_valid_decks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`livepoll check` exits 0 and says ok for each valid deck."""
    deck = write(tmp_path, "good.toml", GOOD_DECK)
    assert cli.main(["check", str(deck)]) == 0
    assert capsys.readouterr().out == f"{deck}: ok, 1 question (Good)\n"


def test_check_reports_every_problem_with_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`livepoll check` exits 1 with one line per problem, naming file, line and question."""
    good = write(tmp_path, "good.toml", GOOD_DECK)
    bad = write(tmp_path, "bad.toml", BAD_DECK)
    assert cli.main(["check", str(good), str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("ok, 1 question (Good)")
    assert lines[1:] == [
        f"{bad}:2: questions[1].options: needs at least 2 options",
        f"{bad}:7: questions[2].type: unknown type 'poll'; one of: single, multi, scale, "
        "text, ranking, number, qa, quiz",
        f"{bad}:7: questions[2].prompt: must not be empty",
    ]


def test_check_reports_toml_syntax_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A TOML syntax error names the line it is on."""
    deck = write(tmp_path, "broken.toml", 'title = "x"\n[[questions]\n')
    assert cli.main(["check", str(deck)]) == 1
    output = capsys.readouterr().out
    assert output.startswith(f"{deck}:2: TOML syntax:")


def test_check_reports_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A deck that does not exist is a problem line, not a traceback."""
    assert cli.main(["check", str(tmp_path / "nope.toml")]) == 1
    assert "cannot read the deck" in capsys.readouterr().out


def free_port() -> int:
    """A port nobody listens on right now, on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, object]]]:
    """`livepoll serve --ready-json` on a loopback port, stopped with SIGTERM afterwards."""
    deck = write(tmp_path, "good.toml", GOOD_DECK)
    process = subprocess.Popen(
        [sys.executable, "-m", "livepoll", "serve", str(deck), "--host", "127.0.0.1"]
        + ["--port", "0", "--db", str(tmp_path / "s.db"), "--ready-json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready = json.loads(process.stdout.readline())
    yield process, ready
    if process.poll() is None:
        process.kill()
        process.wait()


def test_serve_answers_health_and_stops_cleanly_on_sigterm(
    serve_process: tuple[subprocess.Popen[str], dict[str, object]], tmp_path: Path
) -> None:
    """The server reports where it listens, answers /healthz, and ends the session on SIGTERM."""
    process, ready = serve_process
    with urllib.request.urlopen(f"{ready['base_url']}healthz", timeout=5) as response:
        assert json.load(response) == {"status": "ok"}
    assert ready["join_url"] == ready["base_url"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    with sqlite3.connect(tmp_path / "s.db") as db:
        (ended_at,) = db.execute("SELECT ended_at FROM sessions").fetchone()
    assert ended_at is not None


def serve_banner(tmp_path: Path, *options: str, env: dict[str, str] | None = None) -> str:
    """The first lines `livepoll serve` prints on a free loopback port."""
    deck = write(tmp_path, "good.toml", GOOD_DECK)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "livepoll", "serve", str(deck), "--host", "127.0.0.1"]
        + ["--port", str(port), "--db", str(tmp_path / "s.db"), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    try:
        banner = [process.stdout.readline() for _ in range(6)]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    return "".join(banner).replace(f":{port}/", ":PORT/")


def test_serve_prints_the_join_url_and_presenter_command(tmp_path: Path) -> None:
    """Without --ready-json the chair reads the join URL, the attach command and the
    database; a token from a file is named by its file, never printed."""
    token = secrets.token_urlsafe(16)
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    text = serve_banner(tmp_path, "--token-file", str(token_file))
    assert "join URL (for phones): http://127.0.0.1:PORT/" in text
    assert f"present http://127.0.0.1:PORT/ --token-file {token_file}" in text
    assert token not in text
    assert str(tmp_path / "s.db") in text
    assert "phones cannot reach it" in text, "a loopback-only server warns the chair"


def test_serve_shows_its_own_token_as_an_environment_variable(tmp_path: Path) -> None:
    """A token serve made itself is shown in an attach command that keeps it out of ps."""
    environment = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    text = serve_banner(tmp_path, env=environment)
    line = next(line for line in text.splitlines() if "presenter:" in line)
    assert re.search(rf"{TOKEN_ENV}=[A-Za-z0-9_-]{{32}} \S.* present http://127.0.0.1:PORT/$", line)
    assert "--token" not in line


@pytest.mark.parametrize("command", ["serve", "present"])
@pytest.mark.parametrize("how", ["option", "file", "environment"])
def test_a_weak_presenter_token_is_refused(tmp_path: Path, command: str, how: str) -> None:
    """A token under 128 bits ("042") is refused with a sentence saying what is needed,
    however it is given, before anything starts."""
    deck = write(tmp_path, "good.toml", GOOD_DECK)
    target = (
        [str(deck), "--db", str(tmp_path / "s.db")]
        if command == "serve"
        else ["http://127.0.0.1:9/"]
    )
    environment = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    options: list[str] = []
    if how == "option":
        options = ["--token", "042"]
    elif how == "file":
        (tmp_path / "token").write_text("042\n")
        options = ["--token-file", str(tmp_path / "token")]
    else:
        environment[TOKEN_ENV] = "042"
    result = subprocess.run(
        [sys.executable, "-m", "livepoll", command, *target, *options],
        capture_output=True,
        text=True,
        timeout=30,
        env=environment,
    )
    assert result.returncode == 2
    assert "the presenter token is too weak: 3 digits give at most 10 bits" in result.stderr
    assert "at least 128 are needed" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "s.db").exists()


def test_present_without_a_token_says_where_to_put_it(tmp_path: Path) -> None:
    """present needs a token and names the ways to give it that keep it out of ps."""
    environment = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "livepoll", "present", "http://127.0.0.1:9/"],
        capture_output=True,
        text=True,
        timeout=30,
        env=environment,
    )
    assert result.returncode == 2
    assert f"set ${TOKEN_ENV}, or give --token-file FILE" in result.stderr


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://", "no host in 'http://'"),
        ("ftp://poll.example.org/", "unsupported scheme 'ftp'"),
        ("http://[::1/", "'http://[::1/' is not a URL livepoll can use: Invalid IPv6 URL"),
        ("http://127.0.0.1:99999/", "Port out of range"),
        ("http://127.0.0.1:0/", "port 0 in 'http://127.0.0.1:0/' is no server's port"),
    ],
)
def test_present_with_a_url_it_cannot_use_says_why_in_one_line(
    url: str, problem: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A console given a URL that cannot name a server exits with one line, not a
    traceback, before drawing anything."""
    monkeypatch.setenv(TOKEN_ENV, "a-strong-enough-presenter-token-for-tests")
    assert cli.main(["present", url]) == 2
    error = capsys.readouterr().err
    assert error.startswith("livepoll: ")
    assert problem in error
    assert error.count("\n") == 1


def test_presenter_token_strength_is_judged_by_its_alphabet() -> None:
    """22 base64url or 32 hex characters pass; fewer, or digits only, do not."""
    assert check_token(secrets.token_urlsafe(16))
    assert check_token(secrets.token_hex(16))
    for weak in ("042", secrets.token_urlsafe(15)[:21], secrets.token_hex(16)[:31], "1" * 38):
        with pytest.raises(TokenError, match="too weak"):
            check_token(weak)
    with pytest.raises(TokenError, match="printable ASCII"):
        check_token("a token with spaces in it, long enough")


def test_serve_on_a_taken_port_says_so(
    serve_process: tuple[subprocess.Popen[str], dict[str, object]], tmp_path: Path
) -> None:
    """An explicit --port that is taken exits 1 with a sentence, not a traceback."""
    _, ready = serve_process
    deck = write(tmp_path, "good.toml", GOOD_DECK)
    result = subprocess.run(
        [sys.executable, "-m", "livepoll", "serve", str(deck), "--host", "127.0.0.1"]
        + ["--port", str(ready["port"]), "--db", str(tmp_path / "other.db")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert f"port {ready['port']} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_broken_deck(tmp_path: Path) -> None:
    """A broken deck stops `serve` before it listens, with the deck's problems."""
    deck = write(tmp_path, "bad.toml", BAD_DECK)
    result = subprocess.run(
        [sys.executable, "-m", "livepoll", "serve", str(deck), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "needs at least 2 options" in result.stderr


def test_serve_takes_the_per_question_caps_and_refuses_a_cap_under_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--max-qa-items and --max-text-answers reach the server's configuration; 0 is
    refused with a sentence before anything starts."""
    deck = write(tmp_path, "good.toml", GOOD_DECK)
    args = cli._parser().parse_args(
        ["serve", str(deck), "--max-qa-items", "7", "--max-text-answers", "9"]
    )
    config = cli._server_config(args, "t" * 32)
    assert (config.max_qa_items, config.max_text_answers) == (7, 9)
    defaults = cli._server_config(cli._parser().parse_args(["serve", str(deck)]), "t" * 32)
    assert (defaults.max_qa_items, defaults.max_text_answers) == (500, 10_000)
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", str(deck), "--max-qa-items", "0"])
    assert exited.value.code == 2
    assert "--max-qa-items: must be at least 1 (got 0)" in capsys.readouterr().err


def test_run_passes_the_per_question_caps_to_its_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`livepoll run` starts its server process with the caps it was given."""
    from livepoll import supervisor

    started: list[list[str]] = []

    class Recorder:
        def __init__(self, arguments: list[str], *rest: object) -> None:
            started.append(arguments)

        def start(self) -> dict[str, object]:
            raise supervisor.ServerStartError("not started in this test")

    monkeypatch.setattr(supervisor, "SupervisedServer", Recorder)
    deck = write(tmp_path, "good.toml", GOOD_DECK)
    assert cli.main(["run", str(deck), "--max-qa-items", "40", "--max-text-answers", "70"]) == 1
    (arguments,) = started
    assert arguments[arguments.index("--max-qa-items") + 1] == "40"
    assert arguments[arguments.index("--max-text-answers") + 1] == "70"
    assert "not started in this test" in capsys.readouterr().err
