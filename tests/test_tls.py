"""livepoll's own TLS: ``--tls-cert``/``--tls-key`` make the server speak HTTPS and WSS.

Clients here trust the test CA (tls_certs.py) with every check on, as a phone trusts
a real CA; a client that does not trust it, or speaks plain HTTP, gets nowhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidMessage, InvalidStatus

from clients import connection_recv, new_voter_token
from livepoll import protocol
from livepoll.event import Event
from livepoll.server.app import ServerConfig, running_server
from livepoll.server.conference import running_conference
from livepoll.server.network import join_url
from livepoll.server.proxy import FORWARDED_FOR as FORWARDED
from livepoll.server.proxy import TrustedProxies
from livepoll.server.tls import ServerTls, TlsError, server_context
from serving import serve_process
from tls_certs import TestCA, handshake_ok, make_ca

POLLS = Path(__file__).parent.parent / "polls"


def openssl(*arguments: str, cwd: Path) -> None:
    """Run the openssl command (the test CA's helper has made sure it is there)."""
    subprocess.run(["openssl", *arguments], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """A second CA, whose server key is not the first CA's server key."""
    return make_ca(tmp_path_factory.mktemp("other-ca"), "another test CA")


@pytest.fixture(scope="module")
def encrypted_key(test_ca: TestCA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test server's key, protected by a passphrase."""
    directory = tmp_path_factory.mktemp("encrypted")
    openssl(
        "pkey", "-in", str(test_ca.key), "-aes256", "-passout", "pass:secret",
        "-out", "encrypted.key", cwd=directory,
    )  # fmt: skip
    return directory / "encrypted.key"


def test_a_certificate_and_its_key_make_a_server_context(test_ca: TestCA) -> None:
    """The test CA's server files load; the context offers nothing older than TLS 1.2."""
    context = server_context(test_ca.cert, test_ca.key)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize(
    ("certificate", "key", "message"),
    [
        ("missing.pem", "key", "cannot read the TLS certificate {dir}/missing.pem: No such file"),
        ("cert", "missing.key", "cannot read the TLS key {dir}/missing.key: No such file"),
        ("cert", "keys.d", "cannot read the TLS key {dir}/keys.d: Is a directory"),
        ("key", "key", "the TLS certificate {key} holds no PEM certificate"),
        ("junk", "key", "the TLS certificate {dir}/junk holds no PEM certificate"),
        ("cert", "junk", "the TLS key {dir}/junk holds no usable PEM private key"),
        ("cert", "cert", "the TLS key {cert} holds no usable PEM private key"),
        ("cert", "other key", "the TLS key {other} is not the private key of the certificate"),
        ("cert", "encrypted", "the TLS key {encrypted} is protected by a passphrase"),
    ],
)
def test_unusable_certificate_or_key_files_get_one_clear_message(
    test_ca: TestCA,
    other_ca: TestCA,
    encrypted_key: Path,
    tmp_path: Path,
    certificate: str,
    key: str,
    message: str,
) -> None:
    """Each way the files can be wrong is named, with the file, in one line."""
    (tmp_path / "junk").write_text("not a certificate\n")
    (tmp_path / "keys.d").mkdir()
    files = {
        "cert": test_ca.cert,
        "key": test_ca.key,
        "other key": other_ca.key,
        "encrypted": encrypted_key,
    }
    names = {"dir": tmp_path, "key": test_ca.key, "cert": test_ca.cert, "other": other_ca.key}
    names["encrypted"] = encrypted_key
    with pytest.raises(TlsError) as refused:
        server_context(
            files.get(certificate, tmp_path / certificate), files.get(key, tmp_path / key)
        )
    assert str(refused.value).startswith(message.format(**names))
    assert "\n" not in str(refused.value)


def run_serve(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``livepoll serve`` with ``arguments``, expected to refuse before it listens."""
    return subprocess.run(
        [sys.executable, "-m", "livepoll", "serve", str(POLLS / "socitm-spring.toml"),
         "--host", "127.0.0.1", "--port", "0", "--db", "poll.db", *arguments],
        cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (["--tls-cert", "{cert}"], "livepoll: --tls-cert needs --tls-key too"),
        (["--tls-key", "{key}"], "livepoll: --tls-key needs --tls-cert too"),
        (["--tls-cert", "{cert}", "--tls-key", "{other}"], "livepoll: the TLS key {other} is not"),
        (["--tls-cert", "nope.pem", "--tls-key", "{key}"], "livepoll: cannot read the TLS cert"),
    ],
)
def test_serve_refuses_bad_tls_options_in_one_line(
    test_ca: TestCA, other_ca: TestCA, tmp_path: Path, arguments: list[str], line: str
) -> None:
    """``serve`` stops with status 2 and one line on standard error, before it listens
    and before it makes a database."""
    names = {"cert": test_ca.cert, "key": test_ca.key, "other": other_ca.key}
    result = run_serve(*(argument.format(**names) for argument in arguments), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(line.format(**names)), result.stderr
    assert not (tmp_path / "poll.db").exists()


def test_serve_refuses_a_trusted_proxy_that_is_no_address(tmp_path: Path) -> None:
    """A ``--trusted-proxy`` that is no address or network is an argument error."""
    result = run_serve("--trusted-proxy", "proxy.example.org", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "livepoll serve: error: argument --trusted-proxy: 'proxy.example.org' is not an IP "
        "address or network (e.g. 127.0.0.1, 10.0.0.0/8, ::1)"
    )


def test_join_urls_say_https_for_a_server_with_tls_or_an_https_public_url() -> None:
    """A proxy's https public URL is used as given; a TLS server's own URL says https,
    with a note when phones would not find the certificate's name in it."""
    assert join_url("127.0.0.1", 8321, "https://poll.example.org") == (
        "https://poll.example.org/",
        None,
    )
    assert join_url("127.0.0.1", 8321, "https://poll.example.org/", tls=True) == (
        "https://poll.example.org/",
        None,
    )
    url, warning = join_url("poll.example.org", 8443, None, tls=True)
    assert (url, warning) == ("https://poll.example.org:8443/", None)
    url, warning = join_url("192.0.2.10", 8443, None, tls=True)
    assert url == "https://192.0.2.10:8443/"
    assert warning is not None
    assert "--public-url https://" in warning
    url, warning = join_url("127.0.0.1", 8443, "http://poll.example.org/", tls=True)
    assert warning == "--public-url says http:// but this server speaks only HTTPS"
    assert join_url("192.0.2.10", 8321, None) == ("http://192.0.2.10:8321/", None)


def stored_answers(database: Path) -> list[str]:
    """The answers in the database, as their stored JSON."""
    with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
        return [row[0] for row in db.execute("SELECT answer FROM responses")]


async def open_voting(url: str, token: str, context: ssl.SSLContext) -> ClientConnection:
    """The chair, over ``url`` (a wss presenter URL): voting on the first question opens."""
    presenter = await connect(
        url, ssl=context, additional_headers={"Authorization": f"Bearer {token}"}
    )
    assert (await connection_recv(presenter))["type"] == "welcome"
    await presenter.send(protocol.encode_command("toggle_voting"))
    async with asyncio.timeout(30):
        while (await connection_recv(presenter)).get("status") != "open":
            pass
    return presenter


async def vote_over(url: str, context: ssl.SSLContext, question: str = "q1") -> dict[str, Any]:
    """A phone says hello over ``url`` (wss) and votes for the second option of
    ``question``."""
    async with connect(url, ssl=context) as phone:
        await phone.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
        assert (await connection_recv(phone))["type"] == "state"
        await phone.send(json.dumps({"type": "vote", "q": question, "answer": 1, "seq": 1}))
        reply = await connection_recv(phone)
        while reply["type"] not in ("ack", "error"):
            reply = await connection_recv(phone)
        return reply


async def test_a_server_with_its_own_certificate_serves_https_and_wss(
    server_config: ServerConfig, test_ca: TestCA
) -> None:
    """The page comes over https, the vote over wss is acknowledged and stored, and the
    URLs the server gives out say https and wss."""
    server_config.tls = ServerTls(test_ca.cert, test_ca.key)
    context = test_ca.client_context()
    async with running_server(server_config) as server:
        assert server.base_url == f"https://127.0.0.1:{server.port}/"
        assert server.join_url == f"https://127.0.0.1:{server.port}/"
        assert server.audience_url.startswith("wss://")
        assert server.screen_url.startswith(f"https://127.0.0.1:{server.port}/screen?token=")
        page = await asyncio.to_thread(
            lambda: urllib.request.urlopen(server.base_url, context=context, timeout=10).read()
        )
        assert b"<!doctype html>" in page.lower()
        presenter = await open_voting(server.presenter_url, server.token, context)
        reply = await vote_over(f"wss://localhost:{server.port}/ws", context)
        await presenter.close()
        assert reply["type"] == "ack", reply
        assert server.session.current.counts == [0, 1, 0]
    assert stored_answers(server_config.database) == ["[1]"]


async def test_a_client_that_does_not_trust_the_certificate_gets_nowhere(
    server_config: ServerConfig, test_ca: TestCA, other_ca: TestCA
) -> None:
    """A client trusting another CA fails verification; a plain ws:// client gets no
    handshake at all: the TLS is real, not decoration."""
    server_config.tls = ServerTls(test_ca.cert, test_ca.key)
    async with running_server(server_config) as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            await connect(server.audience_url, ssl=other_ca.client_context())
        with pytest.raises((InvalidMessage, ConnectionError, EOFError)):
            await connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=10)
        assert server.audience == set()


async def test_serve_with_tls_options_gives_https_urls_and_takes_votes_over_wss(
    test_ca: TestCA, tmp_path: Path
) -> None:
    """``livepoll serve --tls-cert FILE --tls-key FILE`` listens with TLS: its ready
    line says https, the chair and a phone speak wss, and the vote is stored."""
    database = tmp_path / "poll.db"
    context = test_ca.client_context()
    token = "t" * 32
    deck = tmp_path / "deck.toml"
    deck.write_text(
        'title = "TLS"\n[[questions]]\nid = "q1"\ntype = "single"\n'
        'prompt = "Over TLS?"\noptions = ["Yes", "Of course", "No"]\n'
    )
    options = ("--tls-cert", str(test_ca.cert), "--tls-key", str(test_ca.key))
    async with serve_process(deck, database, token, *options) as ready:
        port = ready["port"]
        assert ready["base_url"] == f"https://127.0.0.1:{port}/"
        assert ready["join_url"] == f"https://127.0.0.1:{port}/"
        presenter = await open_voting(f"wss://localhost:{port}/presenter", token, context)
        reply = await vote_over(f"wss://localhost:{port}/ws", context)
        await presenter.close()
        assert reply["type"] == "ack", reply
    assert stored_answers(database) == ["[1]"]


async def test_an_event_server_serves_every_room_over_tls_and_counts_forwarded_addresses(
    event: Event, event_config: ServerConfig, test_ca: TestCA
) -> None:
    """``serve EVENT.toml`` with TLS: the rooms page and each room's join URL say https,
    a phone votes in a room over wss, and the room's per-address cap counts the address
    a trusted proxy forwarded."""
    event_config.max_per_address = 1
    event_config.tls = ServerTls(test_ca.cert, test_ca.key)
    event_config.trusted_proxies = TrustedProxies.parse(["127.0.0.1"])
    context = test_ca.client_context()
    async with running_conference(event, event_config) as front:
        room = front.rooms["room-2"]
        assert front.join_url == f"https://127.0.0.1:{front.port}/"
        assert room.join_url == f"https://127.0.0.1:{front.port}/r/room-2/"
        assert room.audience_url == f"wss://127.0.0.1:{front.port}/r/room-2/ws"
        presenter = await open_voting(
            f"wss://localhost:{front.port}/r/room-2/presenter", room.token, context
        )
        socket = f"wss://localhost:{front.port}/r/room-2/ws"
        first = await connect(socket, ssl=context, additional_headers={FORWARDED: "203.0.113.1"})
        second = await connect(socket, ssl=context, additional_headers={FORWARDED: "203.0.113.2"})
        with pytest.raises(InvalidStatus) as refused:
            await connect(socket, ssl=context, additional_headers={FORWARDED: "203.0.113.1"})
        assert refused.value.response.status_code == 429
        await first.close()
        await second.close()
        async with asyncio.timeout(30):
            while True:  # until the server has let both go, however long it takes
                if not room._per_address:
                    break
                await asyncio.sleep(0.01)
        reply = await vote_over(socket, context, question="pick")
        await presenter.close()
        assert reply["type"] == "ack", reply
    assert stored_answers(event_config.database) == ["[1]"]


async def test_sighup_reloads_renewed_certificate_files_and_keeps_the_old_on_bad_ones(
    test_ca: TestCA, other_ca: TestCA, tmp_path: Path
) -> None:
    """After the files are replaced (a renewal), SIGHUP makes new handshakes use the new
    certificate while an open connection stays up; replacing them with junk and SIGHUP
    again keeps the certificate in use, and says so in the log."""
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    cert.write_bytes(test_ca.cert.read_bytes())
    key.write_bytes(test_ca.key.read_bytes())
    deck = tmp_path / "deck.toml"
    deck.write_text(
        'title = "TLS"\n[[questions]]\nid = "q1"\ntype = "single"\n'
        'prompt = "Renewed?"\noptions = ["Yes", "No"]\n'
    )
    log = tmp_path / "serve.log"
    options = ("--tls-cert", str(cert), "--tls-key", str(key))
    old, new = test_ca.client_context(), other_ca.client_context()
    async with serve_process(deck, tmp_path / "poll.db", "t" * 32, *options, log=log) as ready:
        port, process = ready["port"], ready["process"]
        async with connect(f"wss://localhost:{port}/ws", ssl=old) as phone:
            assert await handshake_ok(port, old)
            assert not await handshake_ok(port, new)
            cert.write_bytes(other_ca.cert.read_bytes())
            key.write_bytes(other_ca.key.read_bytes())
            process.send_signal(signal.SIGHUP)
            async with asyncio.timeout(30):
                while True:  # until the server has handled the signal
                    if await handshake_ok(port, new):
                        break
                    await asyncio.sleep(0.05)
            assert not await handshake_ok(port, old)
            await phone.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
            assert (await connection_recv(phone))["type"] == "state"

            cert.write_text("not a certificate\n")
            process.send_signal(signal.SIGHUP)
            async with asyncio.timeout(30):
                while True:  # until the server has handled the signal
                    if "kept the current certificate" in log.read_text():
                        break
                    await asyncio.sleep(0.05)
            assert await handshake_ok(port, new)
        assert process.returncode is None
    assert "TLS: reloaded the certificate" in log.read_text()


async def test_serve_prints_https_urls_and_attaches_the_console_at_the_public_one(
    test_ca: TestCA, tmp_path: Path
) -> None:
    """What ``serve --tls-cert`` prints: the join URL, the screen URL and the console's
    URL all say https, and the console attaches at the public host (the one the
    certificate names), not at a loopback URL the certificate may not name."""
    public = "https://localhost:8443/"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "livepoll", "serve", str(POLLS / "socitm-spring.toml"),
        "--host", "127.0.0.1", "--port", "0", "--db", str(tmp_path / "poll.db"),
        "--tls-cert", str(test_ca.cert), "--tls-key", str(test_ca.key), "--public-url", public,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not lines or not lines[-1].startswith("  Ctrl-C"):
                line = (await process.stdout.readline()).decode()
                assert line, lines
                lines.append(line.rstrip("\n"))
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            await process.wait()
    pairs = [line.split(":", 1) for line in lines[1:] if ":" in line]
    banner = {name.strip(): value.strip() for name, value in pairs}
    assert banner["join URL (for phones)"] == public
    assert banner["presenter"].endswith(f"present {public}")
    assert banner["screen (AV desk, read-only)"].startswith(f"{public}screen?token=")
