"""Gateways that speak TLS themselves: ``livepoll gateway --tls-cert FILE --tls-key FILE``.

As for ``serve`` (tests/test_tls.py), clients trust the test CA with every check on.
Each test runs a private Debian ``redis-server`` and the gateway as a real process;
the vote test also runs a real room owner and reads its SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from clients import connection_recv, new_voter_token
from livepoll import protocol
from livepoll.server.proxy import FORWARDED_FOR
from redis_helpers import RedisProcess, gateway_process, redis_server, run_livepoll
from serving import serve_process
from tls_certs import TestCA, handshake_ok, make_ca

__all__ = ["redis_server"]  # the fixture, used by name

DECK = """title = "Gateway over TLS"
[[questions]]
id = "q1"
type = "single"
prompt = "Which?"
options = ["A", "B", "C"]
"""
TOKEN = "gateway-tls-test-presenter-token"
POLLS = Path(__file__).parent.parent / "polls"


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """A second CA: its certificate stands for a renewed one, its key for a wrong one."""
    return make_ca(tmp_path_factory.mktemp("other-ca"), "another test CA")


def tls_options(ca: TestCA) -> tuple[str, ...]:
    """The gateway's options for the CA's server certificate and key."""
    return ("--tls-cert", str(ca.cert), "--tls-key", str(ca.key))


async def test_a_gateway_with_a_certificate_serves_https_and_takes_votes_over_wss(
    redis_server: RedisProcess, test_ca: TestCA, tmp_path: Path
) -> None:
    """The gateway's ready line says https, the page comes over https, and a phone's
    vote over wss reaches the owner on Redis, is acked and is in its database."""
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK, encoding="utf-8")
    database = tmp_path / "room.db"
    context = test_ca.client_context()
    async with (
        serve_process(deck, database, TOKEN, "--redis", redis_server.url) as owner,
        gateway_process(redis_server.url, *tls_options(test_ca)) as gateway,
    ):
        port = gateway["port"]
        assert gateway["base_url"] == f"https://127.0.0.1:{port}/"
        page = await asyncio.to_thread(
            lambda: urllib.request.urlopen(  # noqa: S310 (loopback)
                f"https://localhost:{port}/", context=context, timeout=10
            ).read()
        )
        assert b"<!doctype html>" in page.lower()

        presenter_url = f"ws://127.0.0.1:{owner['port']}/presenter"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with asyncio.timeout(30):
            async with connect(presenter_url, additional_headers=headers) as presenter:
                await presenter.recv()
                await presenter.recv()
                await presenter.send(protocol.encode_command("open"))
                assert json.loads(await presenter.recv())["status"] == "open"
            async with connect(f"wss://localhost:{port}/ws", ssl=context) as phone:
                await phone.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
                state = await connection_recv(phone)
                assert (state["type"], state["status"]) == ("state", "open")
                await phone.send(json.dumps({"type": "vote", "q": "q1", "answer": 2, "seq": 1}))
                while (reply := await connection_recv(phone)).get("seq") != 1:
                    pass
        assert reply["type"] == "ack", reply
    with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
        assert db.execute("SELECT question_id, answer FROM responses").fetchall() == [("q1", "[2]")]


@pytest.mark.parametrize(
    "arguments",
    [
        ["--tls-cert", "{cert}"],
        ["--tls-cert", "{cert}", "--tls-key", "{other}"],
        ["--tls-cert", "{dir}/nope.pem", "--tls-key", "{key}"],
    ],
)
def test_a_gateway_refuses_bad_tls_options_with_the_line_serve_gives(
    test_ca: TestCA, other_ca: TestCA, tmp_path: Path, arguments: list[str]
) -> None:
    """Wrong TLS options stop a gateway with status 2 and the one line ``serve`` gives
    for them, before it reaches Redis (nothing listens at the URL given)."""
    names = {"cert": test_ca.cert, "key": test_ca.key, "other": other_ca.key, "dir": tmp_path}
    options = [argument.format(**names) for argument in arguments]
    gateway = run_livepoll("gateway", "--redis", "redis://127.0.0.1:9/0", *options)
    serve = subprocess.run(
        [sys.executable, "-m", "livepoll", "serve", str(POLLS / "socitm-spring.toml"),
         "--port", "0", "--db", str(tmp_path / "poll.db"), *options],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (gateway.returncode, serve.returncode) == (2, 2)
    assert gateway.stderr.count("\n") == 1, gateway.stderr
    assert gateway.stderr.startswith("livepoll: ")
    assert gateway.stderr == serve.stderr


async def test_a_gateway_reloads_renewed_certificate_files_on_sighup(
    redis_server: RedisProcess, test_ca: TestCA, other_ca: TestCA, tmp_path: Path
) -> None:
    """After the files are replaced, SIGHUP makes the gateway's new handshakes use the
    new certificate, and a phone connected before keeps its connection."""
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    cert.write_bytes(test_ca.cert.read_bytes())
    key.write_bytes(test_ca.key.read_bytes())
    log = tmp_path / "gateway.log"
    old, new = test_ca.client_context(), other_ca.client_context()
    options = ("--room", "default", "--tls-cert", str(cert), "--tls-key", str(key))
    async with gateway_process(redis_server.url, *options, log=log) as gateway:
        port, process = gateway["port"], gateway["process"]
        async with connect(f"wss://localhost:{port}/ws", ssl=old) as phone:
            assert not await handshake_ok(port, new)
            cert.write_bytes(other_ca.cert.read_bytes())
            key.write_bytes(other_ca.key.read_bytes())
            process.send_signal(signal.SIGHUP)
            async with asyncio.timeout(30):
                while True:  # until the gateway has handled the signal
                    if await handshake_ok(port, new):
                        break
                    await asyncio.sleep(0.05)
            assert not await handshake_ok(port, old)
            await phone.ping()
        assert process.returncode is None
    assert "TLS: reloaded the certificate" in log.read_text()


async def test_a_gateway_behind_a_trusted_proxy_caps_the_forwarded_address(
    redis_server: RedisProcess, tmp_path: Path
) -> None:
    """With ``--trusted-proxy``, ``--max-per-address`` counts the address the proxy
    forwarded: phones behind it from two addresses get in, a second from one does not."""
    options = ("--room", "default", "--max-per-address", "1", "--trusted-proxy", "127.0.0.1")
    async with gateway_process(redis_server.url, *options) as gateway:
        url = gateway["url"]
        async with (
            connect(url, additional_headers={FORWARDED_FOR: "203.0.113.1"}),
            connect(url, additional_headers={FORWARDED_FOR: "203.0.113.2"}),
        ):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url, additional_headers={FORWARDED_FOR: "203.0.113.1"}):
                    pass
    assert refused.value.response.status_code == 429
