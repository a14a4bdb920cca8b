"""The HTTP surface over a raw socket: methods, HEAD, repeated headers, gzip, headers."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from clients import new_voter_token, open_phone
from livepoll.server.app import LivepollServer
from livepoll.server.assets import CONTENT_SECURITY_POLICY, content_security_policy
from livepoll.server.web import accepts_gzip

HANDSHAKE = (
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


async def raw(server: LivepollServer, request: str | bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are and read the answer up to the server's close.

    Returns the status (0 if the server closed without answering), the headers
    (names lower-cased) and the body bytes as sent.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(request.encode() if isinstance(request, str) else request)
        await writer.drain()
        async with asyncio.timeout(10):
            data = await reader.read()
    finally:
        writer.close()
    if not data:
        return 0, {}, b""
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


async def test_head_gets_the_headers_of_a_get_without_the_body(
    livepoll_server: LivepollServer,
) -> None:
    """HEAD / answers 200 with the GET's headers, Content-Length included, and no body."""
    _, got, page = await raw(livepoll_server, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = await raw(livepoll_server, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200
    assert body == b""
    assert headers["content-length"] == got["content-length"] == str(len(page))
    assert headers["content-type"] == got["content-type"]
    status, headers, body = await raw(livepoll_server, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, body) == (200, b"")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"])
async def test_other_methods_get_405_with_allow(
    livepoll_server: LivepollServer, method: str
) -> None:
    """Any method but GET and HEAD is refused with 405 naming what is allowed; the
    WebSocket paths allow GET only."""
    status, headers, body = await raw(livepoll_server, f"{method} / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405
    assert headers["allow"] == "GET, HEAD"
    assert b"<html" not in body
    status, headers, _ = await raw(
        livepoll_server, f"{method} /ws HTTP/1.1\r\nHost: x\r\n{HANDSHAKE}\r\n"
    )
    assert (status, headers["allow"]) == (405, "GET")
    status, headers, _ = await raw(
        livepoll_server, f"{method} /presenter HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    assert (status, headers["allow"]) == (405, "GET")


async def test_a_request_with_a_body_is_closed_without_an_answer(
    livepoll_server: LivepollServer,
) -> None:
    """websockets refuses request bodies itself: the connection closes unanswered, and
    the server keeps serving."""
    status, _, _ = await raw(
        livepoll_server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
    )
    assert status == 0
    status, _, _ = await raw(livepoll_server, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/", "Accept-Encoding: gzip\r\nAccept-Encoding: br"),
        ("/", "Host: y"),
        ("/ws", "Origin: http://x\r\nOrigin: http://y"),
        ("/ws", "Host: y"),
        ("/presenter", "Authorization: Bearer a\r\nAuthorization: Bearer b"),
    ],
)
async def test_a_repeated_header_gets_400_and_one_log_line(
    livepoll_server: LivepollServer, caplog: pytest.LogCaptureFixture, path: str, header: str
) -> None:
    """A header sent twice is a 400 naming it, logged in one line without a traceback,
    never a 500."""
    handshake = HANDSHAKE if path != "/" else ""
    with caplog.at_level(logging.INFO):
        status, headers, body = await raw(
            livepoll_server, f"GET {path} HTTP/1.1\r\nHost: x\r\n{header}\r\n{handshake}\r\n"
        )
    assert status == 400
    name = header.partition(":")[0]
    assert f"The {name} header may appear only once".encode() in body
    assert headers["x-content-type-options"] == "nosniff"
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].exc_info is None
    assert f"repeated its {name} header" in lines[0].getMessage()


def test_accept_encoding_is_read_with_its_q_values() -> None:
    """gzip;q=0 refuses gzip, a wildcard accepts it unless gzip is refused by name."""
    assert accepts_gzip("gzip")
    assert accepts_gzip("deflate, gzip;q=0.5")
    assert accepts_gzip("GZIP ; Q=1")
    assert accepts_gzip("*")
    assert accepts_gzip("x-gzip")
    assert not accepts_gzip("")
    assert not accepts_gzip("identity")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("gzip; q=0.000")
    assert not accepts_gzip("*;q=0")
    assert not accepts_gzip("gzip;q=0, *")
    assert not accepts_gzip("gzip;q=nonsense")
    assert not accepts_gzip("br, deflate")


async def test_gzip_with_q_zero_gets_the_plain_page(livepoll_server: LivepollServer) -> None:
    """A client that says gzip;q=0 gets the page uncompressed."""
    status, headers, body = await raw(
        livepoll_server, "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0\r\n\r\n"
    )
    assert status == 200
    assert "content-encoding" not in headers
    assert b"<html" in body.lower()
    _, headers, _ = await raw(
        livepoll_server, "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br, gzip;q=0.8\r\n\r\n"
    )
    assert headers["content-encoding"] == "gzip"


@pytest.mark.parametrize(
    "request_text",
    [
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n",  # not a handshake: the library's 426
        f"GET /ws HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n{HANDSHAKE}\r\n",
        "GET /presenter HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /" + "a" * 9000 + " HTTP/1.1\r\nHost: x\r\n\r\n",  # the library's 414
        "GET / HTTP/1.1\r\nHost: x\r\n" + "X-Filler: y\r\n" * 300 + "\r\n",  # its 431
    ],
)
async def test_every_response_says_nosniff(
    livepoll_server: LivepollServer, request_text: str
) -> None:
    """The page, 404s, 405s, 403s, 401s and the errors websockets builds itself all carry
    X-Content-Type-Options: nosniff."""
    status, headers, _ = await raw(livepoll_server, request_text)
    assert status >= 200
    assert headers.get("x-content-type-options") == "nosniff", (status, headers)


async def test_the_page_may_connect_only_to_its_own_server(livepoll_server: LivepollServer) -> None:
    """The page's CSP allows connections to its own origin only (named for older
    browsers), never to any ws: or wss: host."""
    host = f"127.0.0.1:{livepoll_server.port}"
    _, headers, _ = await raw(livepoll_server, f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n")
    policy = headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["connect-src"] == ["'self'", f"ws://{host}", f"wss://{host}"]
    assert "ws:" not in directives["connect-src"]
    assert "wss:" not in directives["connect-src"]


def test_a_strange_host_header_never_enters_the_policy() -> None:
    """A Host that is not a plain host and port leaves connect-src at 'self' alone."""
    for host in (None, "", "x; script-src *", "evil.example/path", "a b", "x:99999999"):
        assert content_security_policy(host) == CONTENT_SECURITY_POLICY, host
    assert "ws://[::1]:8321 " in content_security_policy("[::1]:8321")


async def test_healthz_reports_storage_trouble(livepoll_server: LivepollServer) -> None:
    """While the store cannot commit, /healthz is 503 naming the problem; after, 200 ok."""
    database = livepoll_server.store._db
    status, _, body = await raw(livepoll_server, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    phone = await open_phone(livepoll_server, new_voter_token())
    await database.execute("PRAGMA query_only = ON")
    try:
        await phone.connection.send(json.dumps({"type": "nickname", "name": "Ann", "seq": 1}))
        async with asyncio.timeout(10):
            notice = await phone.receive()
        assert (notice["type"], notice["code"]) == ("notice", "storage_problem")
        status, headers, body = await raw(
            livepoll_server, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        assert status == 503
        assert headers["content-type"] == "application/json"
        report = json.loads(body)
        assert report["status"] == "storage_problem"
        assert "readonly" in report["problem"]
    finally:
        await database.execute("PRAGMA query_only = OFF")
    async with asyncio.timeout(10):
        frames = [await phone.receive(), await phone.receive()]
    assert {frame["type"] for frame in frames} == {"notice", "ack"}, "storage_ok and the ack"
    status, _, body = await raw(livepoll_server, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
