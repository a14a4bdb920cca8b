"""What TLS costs the server: phones joining and voting over ws, wss, and wss via Caddy.

    python bench/tls.py [--phones 1000] [--runs 2] [--json PATH]

For each setup a fresh ``livepoll serve`` (a one-question deck, a fresh SQLite
file) is started as a subprocess; the chair opens the question over the presenter
channel; then ``--phones`` phones, 100 at a time, each open a connection, say hello,
vote once and wait for the ack (each phone a new connection, so every one pays a
full TLS handshake: the cost when a room scans the QR code at once). Measured: the
wall time for all of them, and the CPU time (user + system, from ``/proc``) the
server process used meanwhile, and Caddy's too when it is in front.

* ``plain``: ws:// straight to livepoll (a laptop on the venue network).
* ``own TLS``: wss:// to ``livepoll serve --tls-cert --tls-key`` (P-256 key).
* ``Caddy``: wss:// to Debian's Caddy on loopback, proxying to plain livepoll with
  ``--trusted-proxy 127.0.0.1`` (the README's recommended deployment).

The certificate comes from a throwaway CA made with ``openssl`` (tests/tls_certs.py);
clients trust that CA with every check on. Linux only (``/proc``); loopback only;
about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from livepoll import protocol

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from tls_certs import TestCA, make_ca  # noqa: E402

DECK = (
    'title = "TLS"\n[[questions]]\nid = "q1"\ntype = "single"\nprompt = "?"\noptions = ["a", "b"]\n'
)
CADDYFILE = """{{
	admin off
	auto_https off
	storage file_system {data}
}}

https://localhost:{port} {{
	bind 127.0.0.1
	tls {cert} {key}
	reverse_proxy 127.0.0.1:{upstream}
}}
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A loopback port free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def livepoll(directory: Path, token: str, *options: str) -> AsyncIterator[tuple[int, int]]:
    """``livepoll serve`` on a loopback port; yields its port and process id."""
    deck = directory / "deck.toml"
    deck.write_text(DECK)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "livepoll", "serve", str(deck), "--host", "127.0.0.1",
        "--port", "0", "--db", str(directory / "poll.db"), "--ready-json", *options,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env=dict(os.environ, LIVEPOLL_PRESENTER_TOKEN=token),
    )  # fmt: skip
    assert process.stdout is not None
    try:
        ready = json.loads(await process.stdout.readline())
        yield int(ready["port"]), process.pid
    finally:
        process.terminate()
        await process.wait()


@contextlib.asynccontextmanager
async def caddy(directory: Path, ca: TestCA, upstream: int) -> AsyncIterator[tuple[int, int]]:
    """Caddy with TLS on a loopback port in front of ``upstream``; yields port and pid."""
    port = free_port()
    config = directory / "Caddyfile"
    config.write_text(
        CADDYFILE.format(
            data=directory / "caddy", port=port, cert=ca.cert, key=ca.key, upstream=upstream
        )
    )
    environment = dict(os.environ, HOME=str(directory), XDG_DATA_HOME=str(directory / "caddy"))
    process = await asyncio.create_subprocess_exec(
        "/usr/bin/caddy", "run", "--config", str(config), "--adapter", "caddyfile",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env=environment,
    )  # fmt: skip
    try:
        async with asyncio.timeout(30):
            while True:
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                await asyncio.sleep(0.05)
        yield port, process.pid
    finally:
        process.terminate()
        await process.wait()


async def phones(url: str, token: str, count: int, context: ssl.SSLContext | None) -> float:
    """The chair opens q1 at ``url``; ``count`` phones join, vote and get their ack.
    Returns the wall time of the phones."""
    chair = await connect(
        f"{url}/presenter", ssl=context, additional_headers={"Authorization": f"Bearer {token}"}
    )
    await chair.recv()
    await chair.send(protocol.encode_command("toggle_voting"))
    while json.loads(await chair.recv()).get("status") != "open":
        pass
    gate = asyncio.Semaphore(100)

    async def phone(number: int) -> None:
        async with gate, connect(f"{url}/ws", ssl=context) as connection:
            await connection.send(json.dumps({"type": "hello", "voter": secrets.token_urlsafe(16)}))
            await connection.recv()
            vote = {"type": "vote", "q": "q1", "answer": number % 2, "seq": 1}
            await connection.send(json.dumps(vote))
            while json.loads(await connection.recv())["type"] != "ack":
                pass

    start = time.perf_counter()
    await asyncio.gather(*(phone(n) for n in range(count)))
    elapsed = time.perf_counter() - start
    await chair.close()
    return elapsed


async def one_run(setup: str, ca: TestCA, count: int) -> dict[str, float]:
    """One setup, once: wall time and CPU seconds (livepoll, and Caddy if any)."""
    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        tls = ("--tls-cert", str(ca.cert), "--tls-key", str(ca.key)) if setup == "own TLS" else ()
        proxy = ("--trusted-proxy", "127.0.0.1") if setup == "Caddy" else ()
        async with contextlib.AsyncExitStack() as stack:
            port, pid = await stack.enter_async_context(livepoll(directory, token, *tls, *proxy))
            pids = [pid]
            url, context = f"ws://127.0.0.1:{port}", None
            if setup != "plain":
                context = ca.client_context()
                if setup == "Caddy":
                    port, caddy_pid = await stack.enter_async_context(caddy(directory, ca, port))
                    pids.append(caddy_pid)
                url = f"wss://localhost:{port}"
            before = [cpu_seconds(p) for p in pids]
            wall = await phones(url, token, count, context)
            used = [cpu_seconds(p) - b for p, b in zip(pids, before, strict=True)]
    return {"wall": wall, "livepoll_cpu": used[0], "caddy_cpu": used[1] if len(used) > 1 else 0.0}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        ca = make_ca(Path(scratch) / "ca")
        for _ in range(args.runs):
            for setup in ("plain", "own TLS", "Caddy"):
                results.setdefault(setup, []).append(await one_run(setup, ca, args.phones))
    print(f"| {args.phones} phones (median of {args.runs}) | wall | livepoll CPU per phone "
          "| Caddy CPU per phone |")  # fmt: skip
    print("| --- | --- | --- | --- |")
    summary: dict[str, Any] = {"phones": args.phones, "runs": results}
    for setup, runs in results.items():
        wall = statistics.median(r["wall"] for r in runs)
        own = statistics.median(r["livepoll_cpu"] for r in runs) / args.phones * 1000
        proxy = statistics.median(r["caddy_cpu"] for r in runs) / args.phones * 1000
        caddy_column = f"{proxy:.2f} ms" if setup == "Caddy" else "–"
        print(f"| {setup} | {wall:.2f} s | {own:.2f} ms | {caddy_column} |")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
