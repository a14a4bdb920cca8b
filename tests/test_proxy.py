"""Behind a reverse proxy: X-Forwarded-For counts only from a trusted proxy.

The rule is tested on its own, then on a real server: the per-address cap, the
presenter-token guard and the room-code guard all see the forwarded address when
the peer is trusted, and the peer's own address when it is not, whatever it forges.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from clients import connection_recv, new_voter_token
from livepoll.server.app import LivepollServer, ServerConfig, running_server
from livepoll.server.guard import JOIN_LIMITS, PRESENTER_LIMITS
from livepoll.server.proxy import TrustedProxies

LOOPBACK = TrustedProxies.parse(["127.0.0.1"])


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("127.0.0.1", ["203.0.113.7"], "203.0.113.7"),
        # The client wrote the left part itself; only the proxy's own entry counts.
        ("127.0.0.1", ["198.51.100.1, 203.0.113.7"], "203.0.113.7"),
        # Several headers are one list, in order.
        ("127.0.0.1", ["198.51.100.1", "203.0.113.7"], "203.0.113.7"),
        # A chain of trusted proxies is skipped from the right.
        ("127.0.0.1", ["203.0.113.7, 10.0.0.2, 127.0.0.1"], "203.0.113.7"),
        # Ports and brackets, as some proxies write them.
        ("127.0.0.1", ["203.0.113.7:51000"], "203.0.113.7"),
        ("127.0.0.1", ["[2001:db8::7]:51000"], "2001:db8::7"),
        ("127.0.0.1", ["[2001:db8::7]"], "2001:db8::7"),
        ("127.0.0.1", ["2001:db8::7"], "2001:db8::7"),
        # Garbage the client put left of the proxy's entry does not matter.
        ("127.0.0.1", ["not-an-address, 203.0.113.7"], "203.0.113.7"),
        # Absent, empty or malformed from the proxy: the peer counts.
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["  "], "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.7, unknown"], "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.7:http"], "127.0.0.1"),
        ("127.0.0.1", ["[2001:db8::7"], "127.0.0.1"),
        # Only trusted hops: the left-most is the nearest to the phone.
        ("127.0.0.1", ["10.0.0.3, 10.0.0.2"], "10.0.0.3"),
        # A dual-stack socket's view of 127.0.0.1 is trusted too.
        ("::ffff:127.0.0.1", ["203.0.113.7"], "203.0.113.7"),
        # Anyone else's header is ignored: the peer counts.
        ("192.0.2.50", ["203.0.113.7"], "192.0.2.50"),
        ("10.1.0.1", ["203.0.113.7"], "10.1.0.1"),
        ("?", ["203.0.113.7"], "?"),
    ],
)
def test_the_forwarded_address_is_the_rightmost_untrusted_one(
    peer: str, headers: list[str], expected: str
) -> None:
    """Right to left, trusted hops are skipped; a bad entry on the way means the peer."""
    proxies = TrustedProxies.parse(["127.0.0.1", "10.0.0.0/24"])
    assert proxies.client_address(peer, headers) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    """The default trusts nobody: a loopback peer's header is ignored too."""
    assert TrustedProxies().client_address("127.0.0.1", ["203.0.113.7"]) == "127.0.0.1"


@pytest.mark.parametrize("value", ["proxy.example.org", "10.0.0.0/33", "", "127.0.0.1/8/8"])
def test_a_trusted_proxy_that_is_no_address_is_refused(value: str) -> None:
    """A value that is not an address or CIDR network gets one message naming it."""
    with pytest.raises(ValueError, match="is not an IP address or network") as refused:
        TrustedProxies.parse([value])
    assert repr(value) in str(refused.value)


async def audience(server: LivepollServer, forwarded: str | None) -> ClientConnection:
    """An audience handshake, with an X-Forwarded-For header when ``forwarded`` is set."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return await connect(server.audience_url, additional_headers=headers)


async def refused_status(server: LivepollServer, forwarded: str | None) -> int:
    """The status of a refused audience handshake (101 if it was accepted)."""
    try:
        connection = await audience(server, forwarded)
    except InvalidStatus as refused:
        return refused.response.status_code
    await connection.close()
    return 101


async def test_a_trusted_proxys_header_counts_per_forwarded_address(
    server_config: ServerConfig,
) -> None:
    """With the cap at one, a trusted proxy may carry one phone per forwarded address; a
    second phone from the same forwarded address is refused."""
    server_config.max_per_address = 1
    server_config.trusted_proxies = LOOPBACK
    async with running_server(server_config) as server:
        first = await audience(server, "203.0.113.1")
        second = await audience(server, "203.0.113.2")
        assert await refused_status(server, "203.0.113.1") == 429
        # The proxy's own address is just one more: a request without the header.
        third = await audience(server, None)
        assert await refused_status(server, None) == 429
        for connection in (first, second, third):
            await connection.close()


async def test_an_untrusted_peers_forged_header_is_ignored(server_config: ServerConfig) -> None:
    """From a peer that is not a trusted proxy, X-Forwarded-For changes nothing: every
    forged address is the peer's own, and the cap holds."""
    server_config.max_per_address = 1
    server_config.trusted_proxies = TrustedProxies.parse(["10.0.0.0/8"])
    async with running_server(server_config) as server:
        first = await audience(server, "203.0.113.1")
        assert await refused_status(server, "203.0.113.2") == 429
        assert await refused_status(server, None) == 429
        await first.close()


async def present(server: LivepollServer, token: str, forwarded: str) -> int:
    """A presenter handshake with ``token`` from ``forwarded``; its status (101: in)."""
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": forwarded}
    try:
        connection = await connect(server.presenter_url, additional_headers=headers)
    except InvalidStatus as refused:
        return refused.response.status_code
    await connection.close()
    return 101


@pytest.mark.parametrize("trusted", [True, False])
async def test_wrong_presenter_tokens_are_counted_per_forwarded_address(
    server_config: ServerConfig, caplog: pytest.LogCaptureFixture, trusted: bool
) -> None:
    """Behind a trusted proxy, a guesser's wrong tokens hold up the guesser's address and
    not the chair's, and the log names the guesser; from an untrusted peer the forged
    addresses are one address, which waits."""
    if trusted:
        server_config.trusted_proxies = LOOPBACK
    async with running_server(server_config) as server:
        with caplog.at_level(logging.INFO, logger="livepoll.server"):
            for n in range(PRESENTER_LIMITS.free + 1):
                assert await present(server, f"wrong-{n:020d}", "198.51.100.66") == 401
            assert await present(server, server.token, "198.51.100.66") == 429
            chair = await present(server, server.token, "203.0.113.9")
        lines = [r.getMessage() for r in caplog.records if r.name == "livepoll.server"]
    assert chair == (101 if trusted else 429)
    guesser = "198.51.100.66" if trusted else "127.0.0.1"
    assert lines[0].startswith(f"wrong presenter tokens: one from {guesser};"), lines


async def hello_with_code(server: LivepollServer, code: str, forwarded: str) -> dict[str, Any]:
    """A phone from ``forwarded`` says hello with a room code; the server's reply."""
    connection = await audience(server, forwarded)
    try:
        await connection.send(
            json.dumps({"type": "hello", "voter": new_voter_token(), "code": code})
        )
        return await connection_recv(connection)
    finally:
        await connection.close()


async def test_wrong_room_codes_hold_up_only_the_forwarded_guesser(
    server_config: ServerConfig,
) -> None:
    """Behind a trusted proxy, one address guessing room codes is made to wait while a
    phone at another forwarded address still joins with the right code at once."""
    server_config.join_mode = "code"
    server_config.trusted_proxies = LOOPBACK
    async with running_server(server_config) as server:
        code = server.gate.room_code
        assert code is not None
        wrong = "ZZZZZ" if code != "ZZZZZ" else "YYYYY"
        replies = [
            await hello_with_code(server, wrong, "198.51.100.66")
            for _ in range(JOIN_LIMITS.free + 1)
        ]
        assert [reply.get("code") for reply in replies] == ["bad_code"] * (JOIN_LIMITS.free + 1)
        held = await hello_with_code(server, code, "198.51.100.66")
        assert held.get("code") == "join_wait", held
        async with asyncio.timeout(5):
            admitted = await hello_with_code(server, code, "203.0.113.9")
        assert admitted["type"] == "state", admitted
