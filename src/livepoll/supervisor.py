"""``livepoll run``'s child server: started, watched, and restarted if it dies.

The server runs in its own process so that nothing the console does can stall or
lose votes. The other way round, if the server process dies (a bug, the OOM
killer), the chair should not have to notice: the supervisor starts it again on
the same port with the same token and database, it resumes the unfinished session
from SQLite, and the console and the phones reconnect by themselves.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from livepoll.files import append_private

START_TIMEOUT = 20.0
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
"""More than MAX_RESTARTS deaths within this many seconds means something is wrong
that restarting will not fix; the supervisor gives up and the console says so."""


class ServerStartError(Exception):
    """The server process did not come up; the message holds the tail of its log."""


class SupervisedServer:
    """Start ``livepoll serve`` as a child process and keep it running."""

    def __init__(
        self,
        arguments: list[str],
        token: str,
        log_path: Path,
        token_env: str,
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        """Args:
        arguments: ``livepoll serve``'s arguments.
        token: the presenter token, handed over in ``token_env``.
        log_path: the server's log file.
        token_env: the environment variable for the token.
        secrets: more environment variables for the server (the screen token).
        """
        self._arguments = arguments
        self._environment = dict(os.environ, **{token_env: token}, **(secrets or {}))
        self._log_path = log_path
        self._process: subprocess.Popen[str] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self.restarts: list[float] = []
        self.ready: dict[str, Any] = {}
        self.gave_up: str | None = None
        """Why the supervisor stopped restarting the server, once it has."""
        self.on_give_up: Callable[[str], None] | None = None
        """Called (from the watching thread) with :attr:`gave_up`'s sentence."""

    def start(self) -> dict[str, Any]:
        """Start the server and return its ready line (port, URLs, database, notices).

        Raises:
            ServerStartError: it exited or stayed silent for START_TIMEOUT seconds.
        """
        self.ready = self._spawn(self._arguments)
        self._watcher = threading.Thread(
            target=self._watch, name="livepoll-supervisor", daemon=True
        )
        self._watcher.start()
        return self.ready

    def _spawn(self, arguments: list[str]) -> dict[str, Any]:
        command = [sys.executable, "-m", "livepoll", "serve", *arguments, "--ready-json"]
        # The log names the database and may quote attendees' text: the owner's only.
        with append_private(self._log_path) as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=self._environment,
                text=True,
            )
        assert process.stdout is not None
        line = _read_line(process.stdout, time.monotonic() + START_TIMEOUT)
        if not line:
            _terminate(process)
            raise ServerStartError(self.log_tail())
        with self._lock:
            self._process = process
        if self._stopping.is_set():
            _terminate(process)
        ready: dict[str, Any] = json.loads(line)
        return ready

    def _watch(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                process = self._process
            if process is None:
                return
            process.wait()
            if self._stopping.is_set():
                return
            now = time.monotonic()
            self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW] + [now]
            if len(self.restarts) > MAX_RESTARTS:
                self._give_up(len(self.restarts))
                return
            # Same port (phones and the console know it), same database; never
            # --new-session again: the point is to resume the session that died.
            arguments = [a for a in self._arguments if a not in ("--new-session", "--resume")]
            arguments = _with_port(arguments, int(self.ready["port"]))
            with contextlib.suppress(ServerStartError, OSError, ValueError):
                self._spawn(arguments)

    def _give_up(self, deaths: int) -> None:
        self.gave_up = (
            f"the server died {deaths} times within {RESTART_WINDOW:.0f} seconds, so it is "
            f"no longer restarted and votes are not being collected. Its log: {self._log_path}. "
            "Quit, then run livepoll run again to resume the session."
        )
        if self.on_give_up is not None:
            self.on_give_up(self.gave_up)

    def stop(self) -> None:
        """Stop the server cleanly (SIGTERM, which ends the session) and stop watching."""
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None:
            _terminate(process)
        if self._watcher is not None:
            self._watcher.join(timeout=15)

    def log_tail(self) -> str:
        """The last lines of the server's log, for a message to the chair."""
        try:
            lines = self._log_path.read_text(encoding="utf-8").splitlines()[-15:]
        except OSError:
            return "(no server log)"
        return "\n".join(lines)


def _with_port(arguments: list[str], port: int) -> list[str]:
    result: list[str] = []
    skip = False
    for argument in arguments:
        if skip:
            skip = False
            continue
        if argument == "--port":
            skip = True
            continue
        result.append(argument)
    return [*result, "--port", str(port)]


def _read_line(stream: IO[str], deadline: float) -> str:
    """One line from a child's stdout, or "" if it closed or the deadline passed."""
    with selectors.DefaultSelector() as selector:
        try:
            selector.register(stream, selectors.EVENT_READ)
        except (ValueError, OSError):
            return stream.readline()
        while time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                return stream.readline()
    return ""


def _terminate(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
