"""The server's log stays useful and small: repeats collapse, the file rotates."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from livepoll import cli
from livepoll.logfile import LOG_BACKUPS, LOG_FILE_BYTES, RepeatFilter
from livepoll.presenter_token import TOKEN_ENV
from livepoll.supervisor import ServerStartError, SupervisedServer

DECK = """
title = "Logs"

[[questions]]
id = "q1"
type = "single"
prompt = "Coffee or tea?"
options = ["Coffee", "Tea"]
"""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def capture(repeat: RepeatFilter) -> tuple[logging.Logger, list[str]]:
    """A logger whose handler, filtered by ``repeat``, keeps the formatted lines."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep()
    repeat.install(handler)
    logger = logging.getLogger(f"test.logfile.{id(repeat)}")
    logger.propagate = False
    logger.addHandler(handler)
    return logger, lines


def test_repeats_within_a_minute_are_counted_not_written() -> None:
    """1,000 records of one kind in a minute are one line, then one summary line."""
    clock = Clock()
    logger, lines = capture(RepeatFilter(clock=clock))
    for n in range(1000):
        logger.warning("HTTP 400: a request repeated its %s header (from %s)", "Host", n)
        clock.now += 0.01
    logger.warning("something else")
    assert lines == ["HTTP 400: a request repeated its Host header (from 0)", "something else"]
    clock.now += 60
    logger.warning("later")
    assert lines[2:] == [
        "HTTP 400: a request repeated its Host header (from 0) "
        "(999 more like this in the last minute)",
        "later",
    ]
    logger.warning("HTTP 400: a request repeated its %s header (from %s)", "Origin", 1)
    assert lines[-1] == "HTTP 400: a request repeated its Origin header (from 1)"


def test_a_final_burst_is_summarised_on_flush() -> None:
    """Repeats at the end of a run are reported when their window ends."""
    clock = Clock()
    repeat = RepeatFilter(clock=clock)
    logger, lines = capture(repeat)
    for _ in range(5):
        logger.error("process_request failed")
    repeat.flush()
    assert lines == ["process_request failed"]
    clock.now += 61
    repeat.flush()
    assert lines[-1] == "process_request failed (4 more like this in the last minute)"


def test_the_log_file_rotates_and_stderr_follows(tmp_path: Path) -> None:
    """A log file past its cap rotates into at most LOG_BACKUPS old files; when standard
    error was the log file (as under livepoll run), it moves to the new file too."""
    log = tmp_path / "server.log"
    script = textwrap.dedent(
        f"""
        import logging, sys
        from pathlib import Path
        from livepoll.logfile import CappedLogFile
        handler = CappedLogFile(Path({str(log)!r}), max_bytes=2000, backups=2)
        logger = logging.getLogger("t")
        logger.addHandler(handler)
        for n in range(200):
            logger.warning("line %d %s", n, "x" * 40)
        print("after the last rotation", file=sys.stderr, flush=True)
        """
    )
    with log.open("a") as stderr:
        subprocess.run([sys.executable, "-c", script], stderr=stderr, check=True, timeout=60)
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == ["server.log", "server.log.1", "server.log.2"]
    assert all(path.stat().st_size <= 2000 + 100 for path in tmp_path.iterdir())
    text = log.read_text()
    assert "line 199" in text
    assert "after the last rotation" in text


def test_the_cap_is_stated() -> None:
    """10 MiB a file and 3 old files: the log never takes more than 40 MiB."""
    assert (LOG_FILE_BYTES, LOG_BACKUPS) == (10 * 1024 * 1024, 3)


async def test_a_flood_of_bad_requests_is_a_few_lines_in_the_capped_log(tmp_path: Path) -> None:
    """The server started as livepoll run starts it writes its capped log; 300 requests
    with a repeated header are 300 answers of 400 and one line, no traceback."""
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    log = tmp_path / "db.sqlite.log"
    arguments = [str(deck), "--db", str(tmp_path / "db.sqlite"), "--host", "127.0.0.1"]
    arguments += ["--port", "0", "--log-file", str(log)]
    server = SupervisedServer(arguments, "logs-presenter-token-0123456", log, TOKEN_ENV)
    ready = await asyncio.to_thread(server.start)
    try:
        for _ in range(300):
            reader, writer = await asyncio.open_connection("127.0.0.1", ready["port"])
            writer.write(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
            answer = await reader.read()
            writer.close()
            assert answer.startswith(b"HTTP/1.1 400 ")
    finally:
        await asyncio.to_thread(server.stop)
    text = log.read_text()
    assert text.count("repeated its Host header") == 1, text
    assert "Traceback" not in text
    assert len(text) < 10_000


def test_run_gives_its_server_a_capped_log_and_no_token_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """livepoll run starts serve with --log-file DB.log and passes the token in the
    environment only."""
    seen: dict[str, Any] = {}

    class Recorder(SupervisedServer):
        def start(self) -> dict[str, Any]:
            seen["arguments"] = self._arguments
            seen["environment"] = self._environment
            raise ServerStartError("recorded")

    monkeypatch.setattr("livepoll.supervisor.SupervisedServer", Recorder)
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    database = tmp_path / "run.db"
    assert cli.main(["run", str(deck), "--db", str(database)]) == 1
    arguments = seen["arguments"]
    assert arguments[arguments.index("--log-file") + 1] == f"{database}.log"
    token = seen["environment"][TOKEN_ENV]
    assert len(token) >= 22
    assert not any(token in argument for argument in arguments)
    assert "--token" not in arguments
