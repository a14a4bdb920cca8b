"""The voting page on a slow venue link: scan to clickable, and bytes per visit.

    python bench/page_load.py [--runs 3] [--kbps 400] [--rtt 400] [--json PATH]

A phone on a crowded venue Wi-Fi is modelled by a small throttling TCP proxy on
loopback, written with asyncio: every byte between Chromium and the server crosses
one shared link of ``--kbps`` in each direction (bytes queue behind each other, as
on a real link) and waits half of ``--rtt`` on the way. Throttling at the TCP level
slows the WebSocket as much as the page's files; DevTools' network throttling does
not slow WebSocket frames.

For each run a fresh browser context (an empty cache) opens the page through the
proxy while the chair has a question open, and the time from the navigation's start
until the first option can be tapped is measured ("scan to clickable"). The same
context then opens the page again (a repeat visit, as after a phone's screen went
off). The bytes the server sent are counted per visit, for HTTP and the WebSocket.

It prints a Markdown table and the figures as JSON. It talks to 127.0.0.1 only and
takes well under a minute. To compare two versions of the page, run it with each
on the import path (for example ``PYTHONPATH=/tmp/old/src``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import async_playwright

from livepoll import deck as deck_module
from livepoll import protocol
from livepoll.server.app import ServerConfig, running_server

CHROMIUM = "/usr/bin/chromium"
DECK = """
title = "Page load"

[[questions]]
type = "single"
prompt = "Is your organisation running a transformation programme?"
options = ["Yes", "No", "Not sure"]
"""
CHUNK = 1460
"""Bytes per segment: the proxy moves data in Ethernet-sized pieces."""


@dataclass
class Link:
    """One direction of the phone's link: a rate shared by every connection, and a delay."""

    bytes_per_second: float
    delay: float
    busy_until: float = 0.0

    def arrival(self, size: int) -> float:
        """When ``size`` bytes sent now reach the other end, queued behind earlier ones."""
        now = time.monotonic()
        self.busy_until = max(now, self.busy_until) + size / self.bytes_per_second
        return self.busy_until + self.delay


@dataclass
class Counts:
    """Bytes the server sent, by kind of connection."""

    http: int = 0
    websocket: int = 0
    requests: list[str] = field(default_factory=list)


class ThrottlingProxy:
    """A loopback TCP proxy that makes a fast link behave like a slow one."""

    def __init__(self, target_port: int, kbps: float, rtt_ms: float) -> None:
        self.target_port = target_port
        rate = kbps * 1000 / 8
        self.up = Link(rate, rtt_ms / 2000)
        self.down = Link(rate, rtt_ms / 2000)
        self.counts = Counts()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Listen on an ephemeral loopback port."""
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            for writer in self._writers:
                writer.close()
            await self._server.wait_closed()

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        # The connection's own set-up costs a round trip on the slow link too.
        await asyncio.sleep(self.up.delay + self.down.delay)
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers.update((client_writer, server_writer))
        kind: list[str] = []
        await asyncio.gather(
            self._pipe(client_reader, server_writer, self.up, kind, upstream=True),
            self._pipe(server_reader, client_writer, self.down, kind, upstream=False),
            return_exceptions=True,
        )

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        link: Link,
        kind: list[str],
        *,
        upstream: bool,
    ) -> None:
        # Reading never waits for the delay: segments are in flight together, as on a
        # real link; only the link's rate spaces them out.
        flight: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        delivery = asyncio.create_task(self._deliver(flight, writer))
        try:
            while data := await reader.read(CHUNK):
                if upstream and data.startswith(b"GET "):
                    path = data.split(b" ", 2)[1].decode("ascii", "replace")
                    self.counts.requests.append(path)
                    kind[:] = ["websocket" if path.endswith("/ws") else "http"]
                if not upstream:
                    if kind == ["websocket"]:
                        self.counts.websocket += len(data)
                    else:
                        self.counts.http += len(data)
                flight.put_nowait((link.arrival(len(data)), data))
        finally:
            flight.put_nowait((0.0, b""))  # the end, after whatever is still in flight
            await delivery

    @staticmethod
    async def _deliver(
        flight: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                arrival, data = await flight.get()
                if not data:
                    return
                delay = arrival - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


async def measure(runs: int, kbps: float, rtt: float) -> dict[str, object]:
    """Open the page ``runs`` times on a fresh phone, each followed by a repeat visit."""
    with tempfile.TemporaryDirectory() as folder:
        config = ServerConfig(
            deck=deck_module.from_text(DECK, "page-load.toml"),
            database=Path(folder) / "bench.db",
            host="127.0.0.1",
            port=0,
        )
        async with running_server(config) as server:
            server.apply_command(protocol.Command("open"))
            playwright = await async_playwright().start()
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            first: list[float] = []
            again: list[float] = []
            sizes: dict[str, list[int]] = {"first_http": [], "first_ws": [], "repeat_http": []}
            sizes["repeat_ws"] = []
            try:
                for _ in range(runs):
                    proxy = ThrottlingProxy(server.port, kbps, rtt)
                    await proxy.start()
                    context = await browser.new_context(
                        viewport={"width": 390, "height": 844}, locale="en-GB"
                    )
                    page = await context.new_page()
                    url = f"http://127.0.0.1:{proxy.port}/"
                    for times, visit in ((first, "first"), (again, "repeat")):
                        before = Counts(proxy.counts.http, proxy.counts.websocket)
                        start = time.monotonic()
                        await page.goto(url, wait_until="commit", timeout=60_000)
                        await page.wait_for_selector(
                            "#options input:enabled", state="visible", timeout=60_000
                        )
                        times.append(time.monotonic() - start)
                        await page.goto("about:blank")
                        # The socket's last frames (its close) are counted with its visit.
                        await asyncio.sleep(rtt / 1000 + 0.2)
                        sizes[f"{visit}_http"].append(proxy.counts.http - before.http)
                        sizes[f"{visit}_ws"].append(proxy.counts.websocket - before.websocket)
                    await context.close()
                    await proxy.stop()
            finally:
                await browser.close()
                await playwright.stop()
    return {
        "kbps": kbps,
        "rtt_ms": rtt,
        "runs": runs,
        "first_visit_seconds": first,
        "repeat_visit_seconds": again,
        "bytes": sizes,
    }


def report(figures: dict[str, object]) -> str:
    """The figures as a Markdown table (medians over the runs)."""
    first = statistics.median(figures["first_visit_seconds"])  # type: ignore[arg-type]
    again = statistics.median(figures["repeat_visit_seconds"])  # type: ignore[arg-type]
    sizes: dict[str, list[int]] = figures["bytes"]  # type: ignore[assignment]
    median = {key: int(statistics.median(values)) for key, values in sizes.items()}
    return "\n".join(
        [
            f"Link: {figures['kbps']:g} kbps each way, {figures['rtt_ms']:g} ms round trip; "
            f"median of {figures['runs']} runs.",
            "",
            "| visit | scan to clickable | bytes sent over HTTP | bytes sent on the socket |",
            "| --- | --- | --- | --- |",
            f"| first | {first:.2f} s | {median['first_http']:,} | {median['first_ws']:,} |",
            f"| repeat | {again:.2f} s | {median['repeat_http']:,} | {median['repeat_ws']:,} |",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kbps", type=float, default=400)
    parser.add_argument("--rtt", type=float, default=400, help="round trip, milliseconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = asyncio.run(measure(args.runs, args.kbps, args.rtt))
    print(report(figures))
    print(json.dumps(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
