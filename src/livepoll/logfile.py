"""The server's log: one line per kind of trouble a minute, and a file that stays small.

A hostile client can make the server log on every request (a malformed header, a
wrong token): one such client once grew the log by 84 MB a minute. Two things keep
the log useful and bounded:

* RepeatFilter: the first record of a kind (same logger, level and message template)
  goes through; further ones within REPEAT_WINDOW seconds are counted, not written,
  and one line then says "… (N more like this in the last minute)".
* CappedLogFile: the log file rotates at LOG_FILE_BYTES (10 MiB) and keeps
  LOG_BACKUPS (3) old files, so it never takes more than 40 MiB. Under
  ``livepoll run`` the server's standard error is that same file (a crash's
  traceback lands there), so on each rotation standard error follows to the new file.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPEAT_WINDOW = 60.0
"""Seconds during which records like one already written are only counted."""
MAX_REPEAT_KINDS = 1024
"""Kinds of record tracked at once; past it the oldest windows end early."""
LOG_FILE_BYTES = 10 * 1024 * 1024
"""A log file rotates when the next record would take it past this size."""
LOG_BACKUPS = 3
"""Rotated files kept (``FILE.1`` … ``FILE.3``); older ones are deleted."""
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


@dataclass(slots=True)
class _Window:
    started: float
    first: logging.LogRecord
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """Lets one record of each kind through per window and summarises the rest.

    Install it on a handler with :meth:`install`: the summary lines are written to
    that handler when the window ends (noticed at the next record of any kind, or
    at :meth:`flush`).
    """

    def __init__(
        self, window: float = REPEAT_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.window = window
        self._clock = clock
        self._windows: dict[tuple[str, int, str], _Window] = {}
        self._handler: logging.Handler | None = None

    def install(self, handler: logging.Handler) -> None:
        """Filter ``handler``'s records and write the summaries to it."""
        self._handler = handler
        handler.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        """True for the first record of its kind in a window, else count it."""
        now = self._clock()
        self._end_windows(now)
        key = (record.name, record.levelno, str(record.msg))
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= MAX_REPEAT_KINDS:
                self._end(next(iter(self._windows)))
            self._windows[key] = _Window(now, record)
            return True
        window.suppressed += 1
        return False

    def flush(self) -> None:
        """Write the summaries of windows that have ended."""
        self._end_windows(self._clock())

    def _end_windows(self, now: float) -> None:
        for key, window in list(self._windows.items()):
            if now - window.started >= self.window:
                self._end(key)

    def _end(self, key: tuple[str, int, str]) -> None:
        window = self._windows.pop(key)
        if not window.suppressed or self._handler is None:
            return
        first = window.first
        summary = logging.makeLogRecord(
            {
                "name": first.name,
                "levelno": first.levelno,
                "levelname": first.levelname,
                "msg": "%s (%d more like this in the last minute)",
                "args": (first.getMessage(), window.suppressed),
            }
        )
        # Straight to the handler: the summary is not itself a repeat to count.
        self._handler.acquire()
        try:
            self._handler.emit(summary)
        finally:
            self._handler.release()


class CappedLogFile(logging.handlers.RotatingFileHandler):
    """A log file of at most LOG_FILE_BYTES, with LOG_BACKUPS old ones kept.

    When standard error is already this file (``livepoll run`` starts its server
    so, to keep even a crash's traceback), it is moved to the new file on rotation;
    otherwise standard error is left alone.
    """

    def __init__(self, path: Path, max_bytes: int = LOG_FILE_BYTES, backups: int = LOG_BACKUPS):
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._stderr_follows = _same_file(sys.stderr, path)

    def doRollover(self) -> None:  # noqa: N802 (the standard library's name)
        """Rotate, and point standard error at the new file when it was the old one."""
        super().doRollover()
        if self._stderr_follows and self.stream is not None:
            self.stream.flush()
            sys.stderr.flush()
            os.dup2(self.stream.fileno(), sys.stderr.fileno())


def _same_file(stream: object, path: Path) -> bool:
    try:
        descriptor = stream.fileno()  # type: ignore[attr-defined]
        ours, theirs = os.fstat(descriptor), os.stat(path)
    except (AttributeError, OSError, ValueError):
        return False
    return (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino)


def setup_server_logging(path: Path | None) -> logging.Handler:
    """Log INFO and above to ``path`` (capped) or standard error, repeats collapsed."""
    handler: logging.Handler = (
        CappedLogFile(path) if path is not None else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    RepeatFilter().install(handler)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    logging.getLogger("livepoll.websockets").setLevel(logging.WARNING)
    return handler
