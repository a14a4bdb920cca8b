"""`livepoll serve` as a child process, for the tests that kill, restart or read it whole."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any


@contextlib.asynccontextmanager
async def serve_process(
    deck: Path,
    database: Path,
    token: str,
    *options: str,
    port: int = 0,
    log: Path | None = None,
    wrapper: Sequence[str] = (),
    open_files: int | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Run ``livepoll serve DECK`` on 127.0.0.1 and yield its ready line (port, URLs,
    session...) plus ``"process"``, the child itself, for tests that kill it.

    ``options`` are more ``serve`` options; the server's log goes to ``log`` (appended)
    or nowhere; ``wrapper`` is a command the server runs under (``strace ...``);
    ``open_files`` sets the child's soft and hard limit on open files. The token
    travels in the environment, as ``livepoll run`` passes it. On leaving, a server
    still running is stopped as Ctrl-C would (its session ends cleanly), and killed
    if it has not stopped within 20 seconds.
    """
    command = [*wrapper, sys.executable, "-m", "livepoll", "serve", str(deck)]
    command += ["--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", str(database), "--ready-json"]

    def limit_open_files() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    with contextlib.ExitStack() as files:
        stderr: Any = (
            files.enter_context(log.open("ab")) if log is not None else asyncio.subprocess.DEVNULL
        )
        process = await asyncio.create_subprocess_exec(
            *command,
            *options,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            # Asyncio's debug mode (the test command sets it) slows the server down
            # enough to skew the timing these tests measure.
            env=dict(os.environ, PYTHONASYNCIODEBUG="", LIVEPOLL_PRESENTER_TOKEN=token),
            preexec_fn=limit_open_files if open_files is not None else None,
        )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(60):
            line = await process.stdout.readline()
        assert line, "the server did not start" + (f"; see {log}" if log else "")
        ready: dict[str, Any] = json.loads(line)
        ready["process"] = process
        yield ready
    finally:
        await stop_process(process)


async def stop_process(process: asyncio.subprocess.Process, within: float = 20) -> None:
    """Stop a child as Ctrl-C would (a server then ends its session cleanly), and kill it
    if it has not stopped within ``within`` seconds."""
    if process.returncode is None:
        process.terminate()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            await process.wait()
    if process.returncode is None:
        process.kill()
        await process.wait()
