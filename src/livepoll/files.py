"""Files livepoll writes for organisers, created readable by their owner only.

A database holds each session's salt and the secret its keyed hashes use; exports,
reports and ticket sheets hold attendees' answers or admission codes. None of them
is for other accounts on a shared venue machine, so files are created 0600 and
directories 0700, whatever the umask says.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIRECTORY_MODE = 0o700


def write_private(path: Path, data: str | bytes, *, newline: str | None = None) -> None:
    """Write ``data`` to ``path`` (text as UTF-8), creating it 0600 or making it so.

    An existing file is truncated and its mode tightened before any byte is written,
    so the content is never readable by others, even for a moment.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
    except BaseException:
        os.close(descriptor)
        raise
    if isinstance(data, bytes):
        with os.fdopen(descriptor, "wb") as binary:
            binary.write(data)
    else:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline=newline) as text:
            text.write(data)


def append_private(path: Path) -> TextIO:
    """``path`` opened to append UTF-8 text (a log), created 0600 or made so first."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
        return os.fdopen(descriptor, "a", encoding="utf-8")
    except BaseException:
        os.close(descriptor)
        raise


def tighten_private(path: Path) -> None:
    """Take every permission of group and others off an existing file of ours.

    The owner's bits are kept: a database its owner made read-only stays read-only.
    A file that does not exist, or that another account owns, is left alone.
    """
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    if status.st_uid == os.getuid() and status.st_mode & 0o077:
        os.chmod(path, status.st_mode & 0o700)


def make_private_directory(path: Path) -> None:
    """Create ``path`` and its missing parents as 0700 directories; existing ones are
    left as they are.

    ``Path.mkdir(parents=True)`` gives the parents it creates the default mode (0755
    under the usual umask), so each missing level is made here, outermost first.
    """
    missing: list[Path] = []
    level = path
    while not level.exists():
        missing.append(level)
        level = level.parent
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIRECTORY_MODE, exist_ok=True)
