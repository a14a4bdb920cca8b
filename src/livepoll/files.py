"""Files livepoll writes for organisers, created readable by their owner only.

A database holds each session's salt and the secret its keyed hashes use; exports,
reports and ticket sheets hold attendees' answers or admission codes. None of them
is for other accounts on a shared venue machine, so files are created 0600 and
directories 0700, whatever the umask says.
"""

from __future__ import annotations

import os
from pathlib import Path

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


def make_private_directory(path: Path) -> None:
    """Create ``path`` (and its parents) as 0700 directories if they do not exist."""
    path.mkdir(mode=PRIVATE_DIRECTORY_MODE, parents=True, exist_ok=True)
