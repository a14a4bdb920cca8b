"""Tier 2: a real server on a loopback port, real websockets clients, a real SQLite file."""

from __future__ import annotations

import asyncio
import gzip
import json
import sqlite3
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from clients import chair, connection_recv, new_voter_token, open_phone, open_presenter
from livepoll import protocol
from livepoll.server.app import LivepollServer, PortInUse, ServerConfig, running_server


def stored_responses(database: Path) -> list[tuple[str, str]]:
    """(question id, answer JSON) rows in the database, read with plain sqlite3."""
    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT question_id, answer FROM responses ORDER BY question_id"
        ).fetchall()


async def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET a URL with the standard library, off the event loop."""

    def get() -> tuple[int, dict[str, str], bytes]:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    return await asyncio.to_thread(get)


async def test_vote_is_acknowledged_after_it_is_stored(livepoll_server: LivepollServer) -> None:
    """A vote on an open question is acked only once its row is in the database."""
    await chair(livepoll_server, "toggle_voting")
    phone = await open_phone(livepoll_server)
    reply = await phone.vote("q1", 1)
    assert reply == {"type": "ack", "seq": 1, "q": "q1", "answer": [1]}
    assert stored_responses(livepoll_server.store.path) == [("q1", "[1]")]
    assert livepoll_server.session.current.counts == [0, 1, 0]


async def test_changed_vote_replaces_the_old_one(livepoll_server: LivepollServer) -> None:
    """A second answer from the same phone replaces its first, in tally and database."""
    await chair(livepoll_server, "toggle_voting")
    phone = await open_phone(livepoll_server)
    await phone.vote("q1", 0)
    reply = await phone.vote("q1", 2)
    assert reply["type"] == "ack"
    assert livepoll_server.session.current.counts == [0, 0, 1]
    assert stored_responses(livepoll_server.store.path) == [("q1", "[2]")]
    with sqlite3.connect(livepoll_server.store.path) as db:
        first_at, last_at, changes = db.execute(
            "SELECT first_at, last_at, changes FROM responses"
        ).fetchone()
    assert changes == 1
    assert first_at <= last_at


async def test_vote_before_opening_is_rejected(livepoll_server: LivepollServer) -> None:
    """Voting on a question the chair has not opened gets an error frame, not a close."""
    phone = await open_phone(livepoll_server)
    reply = await phone.vote("q1", 0)
    assert reply["type"] == "error"
    assert reply["code"] == "question_not_open"
    assert reply["seq"] == 1
    await chair(livepoll_server, "toggle_voting")
    assert (await phone.vote("q1", 0))["type"] == "ack"


async def test_vote_after_close_is_rejected(livepoll_server: LivepollServer) -> None:
    """Once the chair closes voting, votes are refused and the tally stays as it was."""
    await chair(livepoll_server, "toggle_voting")
    phone = await open_phone(livepoll_server)
    await phone.vote("q1", 0)
    await chair(livepoll_server, "toggle_voting")
    state = await phone.receive()
    assert state["status"] == "closed"
    reply = await phone.vote("q1", 1)
    assert reply["code"] == "question_closed"
    assert livepoll_server.session.current.counts == [1, 0, 0]


@pytest.mark.parametrize(
    ("answer", "code"),
    [(7, "no_such_option"), ("Yes", "bad_answer"), ([0, 1], "bad_answer"), (True, "bad_answer")],
)
async def test_invalid_single_answers_are_refused(
    livepoll_server: LivepollServer, answer: object, code: str
) -> None:
    """Wrong options and wrong shapes get a precise error code on a single-choice question."""
    await chair(livepoll_server, "toggle_voting")
    phone = await open_phone(livepoll_server)
    reply = await phone.vote("q1", answer)
    assert reply["type"] == "error"
    assert reply["code"] == code


async def test_too_many_choices_are_refused(livepoll_server: LivepollServer) -> None:
    """A multi-choice answer above max_choices is refused; one within it is acked."""
    await chair(livepoll_server, "next")
    await chair(livepoll_server, "toggle_voting")
    phone = await open_phone(livepoll_server)
    reply = await phone.vote("q2", [0, 1, 2])
    assert reply["code"] == "too_many_choices"
    assert (await phone.vote("q2", [2, 0]))["answer"] == [0, 2]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_message"),
        ('{"type": "launch"}', "unknown_type"),
        ('{"type": "vote", "q": "q1", "answer": 0}', "bad_message"),
        (b"\x00\x01binary", "binary_frame"),
        ('{"type":"vote","q":"q1","answer":"' + "x" * 5000 + '","seq":1}', "frame_too_large"),
    ],
)
async def test_malformed_frames_get_an_error_and_keep_the_connection(
    livepoll_server: LivepollServer, frame: str | bytes, code: str
) -> None:
    """Bad frames are answered with an error naming the problem; the phone can still vote."""
    await chair(livepoll_server, "toggle_voting")
    phone = await open_phone(livepoll_server)
    await phone.connection.send(frame)
    reply = await phone.reply()
    assert reply["type"] == "error"
    assert reply["code"] == code
    assert (await phone.vote("q1", 0))["type"] == "ack"


async def test_vote_without_hello_is_refused(livepoll_server: LivepollServer) -> None:
    """A connection must present its voter token before voting."""
    await chair(livepoll_server, "toggle_voting")
    async with connect(livepoll_server.audience_url) as connection:
        await connection.send(json.dumps({"type": "vote", "q": "q1", "answer": 0, "seq": 4}))
        reply = await connection_recv(connection)
    assert reply["code"] == "no_hello"
    assert reply["seq"] == 4


async def test_bad_frames_do_not_disturb_other_phones(livepoll_server: LivepollServer) -> None:
    """While one client sends garbage, another's votes are still acknowledged."""
    await chair(livepoll_server, "toggle_voting")
    attacker = await open_phone(livepoll_server)
    honest = await open_phone(livepoll_server)
    for _ in range(50):
        await attacker.connection.send("{{{")
    assert (await honest.vote("q1", 2))["type"] == "ack"
    assert livepoll_server.session.current.counts == [0, 0, 1]
    codes = [(await attacker.reply())["code"]]
    while codes[-1] != "rate_limited":
        codes.append((await attacker.reply())["code"])
    assert set(codes[:-1]) == {"bad_json"}, "each frame within the limit gets its own error"
    assert len(codes) < 50, "past the rate limit, garbage is dropped without replies"


async def test_reconnecting_with_the_same_token_keeps_one_answer(
    livepoll_server: LivepollServer,
) -> None:
    """A phone that reconnects is the same voter: it gets its answer back and counts once."""
    await chair(livepoll_server, "toggle_voting")
    token = new_voter_token()
    phone = await open_phone(livepoll_server, token)
    await phone.vote("q1", 1)
    await phone.connection.close()
    again = await open_phone(livepoll_server, token)
    await again.connection.send(json.dumps({"type": "hello", "voter": token}))
    state = await again.receive()
    assert state["your_answer"] == [1]
    resend = await again.vote("q1", 1)
    assert resend["type"] == "ack"
    assert livepoll_server.session.current.counts == [0, 1, 0]
    assert livepoll_server.session.current.respondents == 1


async def test_phones_follow_the_chair(livepoll_server: LivepollServer) -> None:
    """Phones are told when voting opens, when it closes and when the chair moves on."""
    phone = await open_phone(livepoll_server)
    presenter = await open_presenter(livepoll_server)
    await presenter.send(protocol.encode_command("toggle_voting"))
    opened = await phone.receive()
    assert opened["question"]["id"] == "q1"
    assert opened["status"] == "open"
    await presenter.send(protocol.encode_command("next"))
    moved = await phone.receive()
    assert moved["index"] == 1
    assert moved["question"] is None, "a question is not shown to phones before it opens"
    await presenter.send(protocol.encode_command("toggle_voting"))
    assert (await phone.receive())["question"]["id"] == "q2"
    await presenter.close()


async def test_presenter_sees_votes_and_phones(livepoll_server: LivepollServer) -> None:
    """The presenter channel pushes the tally and the number of connected phones."""
    presenter = await open_presenter(livepoll_server)
    await presenter.send(protocol.encode_command("toggle_voting"))
    phones = [await open_phone(livepoll_server) for _ in range(3)]
    for index, phone in enumerate(phones):
        await phone.vote("q1", index % 2)
    state: dict[str, object] = {}
    async with asyncio.timeout(5):
        while state.get("counts") != [2, 1, 0] or state.get("phones") != 3:
            state = await connection_recv(presenter)
    assert state["respondents"] == 3
    assert state["status"] == "open"
    await presenter.close()


async def test_presenter_needs_the_token(livepoll_server: LivepollServer) -> None:
    """Without the right bearer token the presenter handshake is refused with 401."""
    with pytest.raises(InvalidStatus) as refused:
        await connect(livepoll_server.presenter_url)
    assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        await connect(
            livepoll_server.presenter_url, additional_headers={"Authorization": "Bearer nope"}
        )


async def test_audience_cannot_send_presenter_commands(livepoll_server: LivepollServer) -> None:
    """A command frame on the audience channel is an unknown type, and changes nothing."""
    phone = await open_phone(livepoll_server)
    await phone.connection.send(protocol.encode_command("toggle_voting"))
    reply = await phone.reply()
    assert reply["code"] == "unknown_type"
    assert livepoll_server.session.current.status == "pending"


async def test_cross_site_handshake_is_refused(livepoll_server: LivepollServer) -> None:
    """A page from another origin cannot open the audience channel."""
    with pytest.raises(InvalidStatus) as refused:
        await connect(livepoll_server.audience_url, origin="http://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403


async def test_page_and_health_are_served(livepoll_server: LivepollServer) -> None:
    """GET / returns the voting page with a strict CSP; /healthz answers; others are 404."""
    status, headers, body = await fetch(livepoll_server.base_url)
    assert status == 200
    assert b"<html" in body.lower()
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    status, _, body = await fetch(livepoll_server.base_url + "healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    for path in ("nope", "../pyproject.toml", "static/app.js", "%2e%2e/etc/passwd"):
        status, _, _ = await fetch(livepoll_server.base_url + path)
        assert status == 404, path


async def test_restart_resumes_the_session_and_its_tallies(server_config: ServerConfig) -> None:
    """A server stopped uncleanly resumes the same session: question, state and tallies."""
    server_config.end_session_on_stop = False
    async with running_server(server_config) as server:
        await chair(server, "next")
        await chair(server, "toggle_voting")
        phone = await open_phone(server)
        assert (await phone.vote("q2", [1, 3]))["type"] == "ack"
        first_session = server.session_id
        await phone.connection.close()
    async with running_server(server_config) as server:
        assert server.resumed
        assert server.session_id == first_session
        assert server.session.current_index == 1
        assert server.session.current.status == "open"
        assert server.session.current.counts == [0, 1, 0, 1]


async def test_clean_stop_ends_the_session(server_config: ServerConfig) -> None:
    """After a clean stop the next start on the same deck begins a new session."""
    async with running_server(server_config) as server:
        first_session = server.session_id
    async with running_server(server_config) as server:
        assert not server.resumed
        assert server.session_id != first_session


async def test_taken_port_is_reported_or_skipped(server_config: ServerConfig) -> None:
    """An explicit port that is taken is a clear error; with fallback the next free one is used."""
    async with running_server(server_config) as first:
        server_config.port = first.port
        with pytest.raises(PortInUse, match=f"port {first.port} .* already in use"):
            async with running_server(server_config):
                pass
        server_config.port_fallback = True
        async with running_server(server_config) as second:
            assert second.port != first.port
            assert any("was taken" in notice for notice in second.notices)


async def test_page_is_sent_compressed_to_browsers_that_accept_gzip(
    livepoll_server: LivepollServer,
) -> None:
    """A browser that accepts gzip gets the page compressed, and it unpacks to the same bytes."""

    def get(path: str, encoding: str) -> tuple[dict[str, str], bytes]:
        request = urllib.request.Request(
            livepoll_server.base_url + path, headers={"Accept-Encoding": encoding}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return dict(response.headers), response.read()

    for path in ("", "app.js", "app.css"):
        plain_headers, plain = await asyncio.to_thread(get, path, "identity")
        headers, packed = await asyncio.to_thread(get, path, "gzip, deflate")
        assert "Content-Encoding" not in plain_headers
        assert headers["Content-Encoding"] == "gzip"
        assert headers["Vary"] == "Accept-Encoding"
        assert gzip.decompress(packed) == plain
        assert len(packed) < len(plain)


async def test_one_token_on_many_connections_counts_as_one_phone(
    livepoll_server: LivepollServer,
) -> None:
    """Phones are distinct voters: one token on 30 connections is one phone in the
    presenter's state and the stored event, and a connection without hello is none."""
    token = new_voter_token()
    same = [await open_phone(livepoll_server, token) for _ in range(30)]
    other = await open_phone(livepoll_server)
    silent = [await connect(livepoll_server.audience_url) for _ in range(5)]
    state = await chair(livepoll_server, "toggle_voting")
    assert state["phones"] == 2
    await livepoll_server.store.flush()
    with sqlite3.connect(livepoll_server.config.database) as db:
        (stored,) = db.execute("SELECT phones FROM events WHERE kind = 'opened'").fetchone()
    assert stored == 2
    for phone in same[1:]:
        await phone.connection.close()
    presenter = await open_presenter(livepoll_server)
    # Closing 29 of its connections leaves the phone counted; the state that follows
    # each change says so.
    assert (await connection_recv(presenter))["phones"] == 2
    assert livepoll_server.phones == 2
    await same[0].connection.close()
    async with asyncio.timeout(5):
        while (await connection_recv(presenter)).get("phones") != 1:
            pass
    await presenter.close()
    for connection in [other.connection, *silent]:
        await connection.close()
