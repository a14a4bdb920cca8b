"""The thinnest vote server on livepoll's stack: the speed of light for the benchmark.

Same stack and the same connection settings as ``livepoll serve`` (websockets'
asyncio server, no compression, the same limits, pings and listen backlog, the
standard library's json), and just enough of livepoll's protocol for the same
simulated phones to drive it: ``hello`` gets the current state, ``vote`` is
decoded, counted with one dict increment and acknowledged at once. No
validation, no dedupe, no storage, no presenter updates. A chair command on
``/presenter`` (open, close, next, ...) moves the one question pointer and
broadcasts the state to the phones, which any poll server must do. Once it
listens, the process gets the same tuning ``livepoll serve`` applies to itself
(``livepoll.server.tuning.tune_process``: open files, garbage collection, the
allocator), so the ratio compares the servers' work, not their process settings.

    python bench/baseline_server.py DECK [--host 127.0.0.1] [--port 0]

prints one JSON line ``{"port": P}`` when it listens; ``GET /healthz`` answers
once it is up; ``GET /counted`` returns the votes counted per question. Stop it
with SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from livepoll.server.tuning import tune_process


class Baseline:
    """One question pointer, one counter per question, the connected phones."""

    def __init__(self, questions: list[dict[str, Any]]) -> None:
        self.questions = questions
        self.index = 0
        self.status = "pending"
        self.counted: Counter[str] = Counter()
        self.phones: set[ServerConnection] = set()

    def state(self) -> str:
        question = self.questions[self.index]
        return json.dumps(
            {
                "type": "state",
                "index": self.index,
                "count": len(self.questions),
                "question": question if self.status != "pending" else None,
                "status": self.status,
            }
        )

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/healthz":
            return _respond(b'{"status":"ok"}\n')
        if request.path == "/counted":
            return _respond(json.dumps(self.counted).encode())
        return None

    async def handle(self, connection: ServerConnection) -> None:
        if connection.request is not None and connection.request.path == "/presenter":
            await self.presenter(connection)
            return
        self.phones.add(connection)
        try:
            async for frame in connection:
                message = json.loads(frame)
                if message["type"] == "vote":
                    self.counted[message["q"]] += 1
                    await connection.send(f'{{"type":"ack","seq":{message["seq"]:d}}}')
                elif message["type"] == "hello":
                    await connection.send(self.state())
        finally:
            self.phones.discard(connection)

    async def presenter(self, connection: ServerConnection) -> None:
        async for frame in connection:
            action = json.loads(frame).get("action")
            last = len(self.questions) - 1
            if action == "open":
                self.status = "open"
            elif action == "close":
                self.status = "closed"
            elif action == "toggle_voting":
                self.status = "closed" if self.status == "open" else "open"
            elif action in ("next", "previous"):
                step = 1 if action == "next" else -1
                self.index = max(0, min(last, self.index + step))
                self.status = "pending"
            state = self.state()
            broadcast(self.phones, state)
            await connection.send(state)


def _respond(body: bytes) -> Response:
    headers = Headers()
    headers["Content-Type"] = "application/json"
    headers["Content-Length"] = str(len(body))
    return Response(200, "OK", headers, body)


async def main(questions: list[dict[str, Any]], host: str, port: int) -> None:
    baseline = Baseline(questions)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with serve(
        baseline.handle,
        host,
        port,
        process_request=baseline.process_request,
        compression=None,
        max_size=64 * 1024,
        max_queue=8,
        ping_interval=20,
        ping_timeout=20,
        open_timeout=10,
        close_timeout=5,
        backlog=4096,
    ) as server:
        tune_process()  # as livepoll serve does once it listens
        listening = next(iter(server.sockets)).getsockname()[1]
        print(json.dumps({"port": listening}), flush=True)
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("deck", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        deck = tomllib.loads(arguments.deck.read_text(encoding="utf-8"))
        asyncio.run(main(deck["questions"], arguments.host, arguments.port))
    sys.exit(0)
