"""The wire format: decoding inbound frames defensively, encoding outbound ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livepoll import protocol
from livepoll.deck import Deck, Question
from livepoll.engine import Session
from livepoll.protocol import (
    MAX_FRAME_BYTES,
    PRESENTER_ACTIONS,
    Command,
    Hello,
    PresenterState,
    ProtocolError,
    Vote,
    Welcome,
    decode_audience,
    decode_command,
    decode_presenter_frame,
)

TOKEN = "A" * 11 + "b_-9" + "z" * 7  # 22 base64url characters: 132 bits
SINGLE = Question("mood", "single", "Ça va ?", ("Great", "Fine", "Poor"), 1)
MULTI = Question("barriers", "multi", "What holds you back?", ("Legacy", "Culture", "Skills"), 2)
DECK = Deck("Café numérique", (SINGLE, MULTI))


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def audience_error(raw: str | bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        decode_audience(raw)
    return caught.value


def command_error(raw: str | bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        decode_command(raw)
    return caught.value


# --- audience: good frames -------------------------------------------------------


@pytest.mark.parametrize("voter", [TOKEN, "x" * 64, "0123456789_-" * 2], ids=["22", "64", "mix"])
def test_hello_with_good_token_decodes(voter: str) -> None:
    """A hello with a 22-64 character base64url token becomes a Hello."""
    assert decode_audience(frame(type="hello", voter=voter)) == Hello(voter)


@pytest.mark.parametrize("answer", [1, [0, 2], [], "anything", None, {"nested": [1]}], ids=repr)
def test_vote_decodes_with_answer_left_for_the_engine(answer: Any) -> None:
    """A vote's answer is passed through as sent; the engine judges it against the question."""
    decoded = decode_audience(frame(type="vote", q="mood", answer=answer, seq=17))
    assert decoded == Vote("mood", answer, 17)


@pytest.mark.parametrize("seq", [0, 2**53 - 1])
def test_vote_seq_limits_are_accepted(seq: int) -> None:
    """seq may be any integer from 0 to 2**53 - 1 (exact in JavaScript)."""
    assert decode_audience(frame(type="vote", q="q1", answer=0, seq=seq)) == Vote("q1", 0, seq)


def test_extra_fields_are_ignored() -> None:
    """Unknown fields in a known message do not make it fail (forward compatibility)."""
    assert decode_audience(frame(type="hello", voter=TOKEN, lang="et")) == Hello(TOKEN)


def test_frame_of_exactly_the_limit_is_accepted() -> None:
    """A frame of exactly MAX_FRAME_BYTES bytes is decoded."""
    base = frame(type="vote", q="q1", answer=0, seq=1)
    padded = base[:-1] + " " * (MAX_FRAME_BYTES - len(base)) + "}"
    assert len(padded.encode()) == MAX_FRAME_BYTES
    assert isinstance(decode_audience(padded), Vote)


def test_lone_surrogate_in_question_id_is_passed_on() -> None:
    """A raw lone surrogate (possible in a str frame) neither crashes nor needs special care."""
    assert decode_audience('{"type":"vote","q":"\ud800","answer":0,"seq":1}') == Vote(
        "\ud800", 0, 1
    )


# --- audience: bad frames ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param(b'{"type":"hello"}', "binary_frame", id="binary"),
        pytest.param("x" * (MAX_FRAME_BYTES + 1), "frame_too_large", id="too-many-chars"),
        pytest.param("é" * (MAX_FRAME_BYTES // 2 + 1), "frame_too_large", id="too-many-bytes"),
        pytest.param("", "bad_json", id="empty"),
        pytest.param("{", "bad_json", id="truncated"),
        pytest.param("{'type': 'hello'}", "bad_json", id="single-quotes"),
        pytest.param("NaN]", "bad_json", id="garbage"),
        pytest.param("[" * 2000, "bad_json", id="nested-2000-deep"),
        pytest.param('{"a":' * 400, "bad_json", id="objects-400-deep"),
        pytest.param("[]", "bad_message", id="array"),
        pytest.param("17", "bad_message", id="number"),
        pytest.param('"hello"', "bad_message", id="string"),
        pytest.param("null", "bad_message", id="null"),
        pytest.param("{}", "bad_message", id="no-type"),
        pytest.param('{"type": 1}', "bad_message", id="type-not-string"),
        pytest.param('{"type": null}', "bad_message", id="type-null"),
        pytest.param('{"type": "bye"}', "unknown_type", id="unknown-type"),
        pytest.param('{"type": "command", "action": "next"}', "unknown_type", id="command"),
    ],
)
def test_bad_audience_frame_is_refused_with_a_code(raw: str | bytes, code: str) -> None:
    """Frames that are not audience messages raise ProtocolError with a stable code."""
    error = audience_error(raw)
    assert error.code == code
    assert error.message


def test_deep_nesting_within_the_size_limit_is_bad_json_not_a_crash() -> None:
    """Nesting that would overflow the parser's recursion is a bad_json error."""
    nested = "[" * (MAX_FRAME_BYTES // 2) + "]" * (MAX_FRAME_BYTES // 2)
    assert len(nested) == MAX_FRAME_BYTES
    assert audience_error(nested).code in {"bad_json", "bad_message"}
    assert audience_error("[" * 2000).message == "JSON nested too deeply"


def test_bad_json_message_explains_the_syntax_problem() -> None:
    """A JSON syntax error says what the parser expected."""
    assert audience_error('{"type": }').message == "not valid JSON: Expecting value"


def test_oversize_frame_names_the_limit() -> None:
    """A too-large frame says how large a frame may be."""
    assert audience_error("x" * 5000).message == f"frames are limited to {MAX_FRAME_BYTES} bytes"


@pytest.mark.parametrize(
    "voter",
    [
        "A" * 21,
        "A" * 65,
        "A" * 21 + "+",
        "A" * 21 + "/",
        "A" * 21 + "=",
        "A" * 21 + ".",
        "A" * 21 + " ",
        "A" * 22 + "\n",
        "Ä" * 22,
        "",
        22,
        None,
        ["A" * 22],
    ],
    ids=repr,
)
def test_hello_with_bad_token_is_refused(voter: Any) -> None:
    """A token that is short, long, not base64url or not a string is bad_voter."""
    error = audience_error(frame(type="hello", voter=voter))
    assert error.code == "bad_voter"
    assert error.message == "the voter token must be 22-64 base64url characters"


def test_hello_without_token_is_refused() -> None:
    """A hello with no voter field is bad_voter."""
    assert audience_error(frame(type="hello")).code == "bad_voter"


@pytest.mark.parametrize(
    "fields",
    [
        {"q": "q1", "answer": 0},
        {"q": "q1", "answer": 0, "seq": True},
        {"q": "q1", "answer": 0, "seq": False},
        {"q": "q1", "answer": 0, "seq": -1},
        {"q": "q1", "answer": 0, "seq": 2**53},
        {"q": "q1", "answer": 0, "seq": "17"},
        {"q": "q1", "answer": 0, "seq": 17.0},
        {"q": "q1", "answer": 0, "seq": None},
    ],
    ids=repr,
)
def test_vote_without_a_good_seq_is_refused(fields: dict[str, Any]) -> None:
    """A vote needs seq, a non-negative integer below 2**53 (booleans are not integers)."""
    error = audience_error(frame(type="vote", **fields))
    assert (error.code, error.seq) == ("bad_message", None)
    assert error.message == 'a vote needs "seq", a non-negative integer'


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"answer": 0}, 'a vote needs "q", the question id'),
        ({"q": "", "answer": 0}, 'a vote needs "q", the question id'),
        ({"q": 3, "answer": 0}, 'a vote needs "q", the question id'),
        ({"q": ["q1"], "answer": 0}, 'a vote needs "q", the question id'),
        ({"q": "q1"}, 'a vote needs "answer", the answer'),
    ],
    ids=repr,
)
def test_vote_missing_q_or_answer_is_refused_with_its_seq(
    fields: dict[str, Any], message: str
) -> None:
    """Once seq is known, the error echoes it so the phone can match it to the vote."""
    error = audience_error(frame(type="vote", seq=9, **fields))
    assert (error.code, error.message, error.seq) == ("bad_message", message, 9)


def test_unknown_type_echoes_a_valid_seq() -> None:
    """An unknown message type still carries a usable seq back."""
    error = audience_error(frame(type="vote2", seq=4))
    assert (error.code, error.seq) == ("unknown_type", 4)
    assert (
        error.message
        == "unknown message type 'vote2' (expected hello, vote, ask, upvote, nickname)"
    )


def test_unknown_type_message_is_truncated() -> None:
    """A long unknown type is cut to 40 characters in the reply."""
    error = audience_error(frame(type="x" * 500))
    assert (
        error.message
        == f"unknown message type {'x' * 40!r} (expected hello, vote, ask, upvote, nickname)"
    )


# --- presenter commands --------------------------------------------------------------


@pytest.mark.parametrize("action", sorted(PRESENTER_ACTIONS - {"goto", "moderate", "page"}))
def test_command_round_trips(action: str) -> None:
    """Every presenter action the TUI encodes decodes back to the same Command."""
    assert decode_command(protocol.encode_command(action)) == Command(action)


def test_moderate_round_trips_with_its_item_and_state() -> None:
    """moderate carries the Q&A item and its new state through encode and decode."""
    encoded = protocol.encode_command("moderate", item=4, state="answered")
    assert decode_command(encoded) == Command("moderate", item=4, state="answered")


@pytest.mark.parametrize(
    "fields",
    [
        {"state": "visible"},
        {"item": 1},
        {"item": True, "state": "hidden"},
        {"item": 1, "state": "x"},
    ],
)
def test_moderate_without_item_or_state_is_refused(fields: dict[str, object]) -> None:
    """moderate needs an integer item and one of the three states."""
    with pytest.raises(ProtocolError) as refused:
        decode_command(json.dumps({"type": "command", "action": "moderate", **fields}))
    assert refused.value.code == "bad_command"


def test_goto_round_trips_with_its_index() -> None:
    """goto carries its index through encode and decode."""
    assert decode_command(protocol.encode_command("goto", 3)) == Command("goto", 3)


def test_index_is_ignored_except_for_goto() -> None:
    """An index sent with another action is dropped."""
    assert decode_command(frame(type="command", action="next", index=3)) == Command("next")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param(b"{}", "binary_frame", id="binary"),
        pytest.param("x" * (MAX_FRAME_BYTES + 1), "frame_too_large", id="too-large"),
        pytest.param("[" * 2000, "bad_json", id="deep"),
        pytest.param("{", "bad_json", id="truncated"),
        pytest.param("[]", "bad_message", id="array"),
        pytest.param("{}", "bad_message", id="no-type"),
        pytest.param(frame(type="vote", q="q1", answer=0, seq=1), "unknown_type", id="vote"),
        pytest.param(frame(type="command"), "bad_command", id="no-action"),
        pytest.param(frame(type="command", action="dance"), "bad_command", id="unknown-action"),
        pytest.param(frame(type="command", action="NEXT"), "bad_command", id="wrong-case"),
        pytest.param(frame(type="command", action=["next"]), "bad_command", id="action-list"),
        pytest.param(frame(type="command", action={"a": 1}), "bad_command", id="action-object"),
        pytest.param(frame(type="command", action="goto"), "bad_command", id="goto-no-index"),
        pytest.param(
            frame(type="command", action="goto", index=True), "bad_command", id="goto-bool"
        ),
        pytest.param(
            frame(type="command", action="goto", index="2"), "bad_command", id="goto-string"
        ),
        pytest.param(
            frame(type="command", action="goto", index=1.0), "bad_command", id="goto-float"
        ),
    ],
)
def test_bad_command_is_refused_with_a_code(raw: str | bytes, code: str) -> None:
    """Frames that are not presenter commands raise ProtocolError with a stable code."""
    assert command_error(raw).code == code


def test_unknown_action_lists_the_valid_ones() -> None:
    """The error for a bad action names every action the channel takes."""
    error = command_error(frame(type="command", action="dance"))
    assert error.message == (
        "unknown action 'dance' (expected: close, extend, goto, moderate, next, "
        "next_session, open, page, previous, rotate_code, rotate_code_readmit, segment, "
        "toggle_results, toggle_voting)"
    )


# --- encoders ------------------------------------------------------------------------


def test_error_frame_is_json_with_code_message_and_seq() -> None:
    """encode_error gives one compact JSON object, seq null when unknown."""
    assert json.loads(protocol.encode_error("question_closed", "closed", 5)) == {
        "type": "error",
        "code": "question_closed",
        "message": "closed",
        "seq": 5,
    }
    assert json.loads(protocol.encode_error("bad_json", "oops"))["seq"] is None


def test_ack_frame_carries_the_canonical_answer() -> None:
    """encode_ack echoes seq and question, with the answer as a list."""
    assert json.loads(protocol.encode_ack(17, "barriers", (0, 2))) == {
        "type": "ack",
        "seq": 17,
        "q": "barriers",
        "answer": [0, 2],
    }


def test_encoders_are_compact_and_keep_unicode() -> None:
    """Frames have no spaces after separators and send non-ASCII text as is."""
    encoded = protocol.encode_audience_state(Session(DECK), now=0.0)
    assert '"title":"Café numérique"' in encoded
    assert ", " not in encoded


def test_audience_state_hides_a_pending_question() -> None:
    """Before the chair opens a question, phones see its position but not its text."""
    state = protocol.audience_state(Session(DECK), your_answer=(1,), now=0.0)
    assert state == {
        "type": "state",
        "title": "Café numérique",
        "language": "en",
        "index": 0,
        "count": 2,
        "question": None,
        "status": "pending",
        "time_left": None,
        "results": None,
        "correct": None,
        "items": None,
        "items_total": None,
    }


@pytest.mark.parametrize("close", [False, True], ids=["open", "closed"])
def test_audience_state_shows_an_opened_question(close: bool) -> None:
    """Once opened (and after closing), phones get the question and their own answer."""
    session = Session(DECK)
    session.open_voting(at=0.0)
    if close:
        session.close_voting(at=1.0)
    state = json.loads(protocol.encode_audience_state(session, your_answer=(2,), now=0.0))
    assert state["question"] == SINGLE.to_dict()
    assert state["status"] == ("closed" if close else "open")
    assert state["your_answer"] == [2]


def test_audience_state_never_includes_votes_or_voters() -> None:
    """The broadcast to phones carries no tallies and no voter keys."""
    session = Session(DECK)
    session.open_voting(at=0.0)
    session.apply_vote("secret-voter-key", "mood", 1, at=0.0)
    encoded = protocol.encode_audience_state(session, now=0.0)
    assert "secret-voter-key" not in encoded
    assert "your_answer" not in json.loads(encoded)
    assert "counts" not in json.loads(encoded)


def test_presenter_state_round_trips() -> None:
    """decode_presenter_frame gives back what encode_presenter_state put in."""
    session = Session(DECK)
    session.next(at=0.0)
    session.open_voting(at=0.0)
    session.set_results_shown(True, at=0.0)
    session.apply_vote("a", "barriers", [0, 1], at=0.0)
    session.apply_vote("b", "barriers", [1], at=0.0)
    encoded = protocol.encode_presenter_state(
        session, phones=42, storage_problem="disk full", now=0.0
    )
    assert decode_presenter_frame(encoded) == PresenterState(
        title="Café numérique",
        index=1,
        count=2,
        question=MULTI,
        status="open",
        results_shown=True,
        counts=(1, 2, 0),
        respondents=2,
        phones=42,
        storage_problem="disk full",
        results={"counts": [1, 2, 0]},
        can_segment=True,
    )


def test_the_presenter_state_carries_why_phones_on_gateways_are_cut_off() -> None:
    """An owner on Redis that cannot reach it says why in the chair's state; a server
    alone (no gateways) sends none."""
    session = Session(Deck("T", (MULTI,)))
    cut_off = protocol.encode_presenter_state(
        session, phones=0, now=0.0, gateway_problem="cannot reach Redis at 10.0.0.5:6379"
    )
    decoded = decode_presenter_frame(cut_off)
    assert isinstance(decoded, PresenterState)
    assert decoded.gateway_problem == "cannot reach Redis at 10.0.0.5:6379"
    alone = decode_presenter_frame(protocol.encode_presenter_state(session, phones=0, now=0.0))
    assert isinstance(alone, PresenterState)
    assert alone.gateway_problem is None


def test_presenter_state_percentages_are_of_respondents() -> None:
    """percent() is the share of respondents per option; total_choices sums all picks."""
    state = PresenterState("T", 0, 1, MULTI, "open", False, (1, 2, 0), 2, 3)
    assert [state.percent(option) for option in range(3)] == [50.0, 100.0, 0.0]
    assert state.total_choices == 3
    empty = PresenterState("T", 0, 1, MULTI, "open", False, (0, 0, 0), 0, 3)
    assert empty.percent(0) == 0.0


def test_welcome_round_trips() -> None:
    """decode_presenter_frame reads back encode_welcome's join URL, database and version."""
    decoded = decode_presenter_frame(
        protocol.encode_welcome("http://192.168.1.20:8000/", "/tmp/livepoll.db", "0.1.0")
    )
    assert isinstance(decoded, Welcome)
    assert (decoded.join_url, decoded.database, decoded.version) == (
        "http://192.168.1.20:8000/",
        "/tmp/livepoll.db",
        "0.1.0",
    )


def test_error_frame_from_server_is_returned_not_raised() -> None:
    """An error frame comes back to the TUI as a ProtocolError value."""
    decoded = decode_presenter_frame(protocol.encode_error("bad_command", "no such action"))
    assert isinstance(decoded, ProtocolError)
    assert (decoded.code, decoded.message) == ("bad_command", "no such action")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param(b"{}", "binary_frame", id="binary"),
        pytest.param("not json", "bad_frame", id="not-json"),
        pytest.param("[]", "bad_frame", id="array"),
        pytest.param("{}", "bad_frame", id="no-type"),
        pytest.param('{"type": "state"}', "bad_frame", id="state-missing-fields"),
        pytest.param('{"type": "welcome"}', "bad_frame", id="welcome-missing-fields"),
        pytest.param('{"type": "ack"}', "unknown_type", id="audience-frame"),
    ],
)
def test_unexpected_server_frame_raises(raw: str | bytes, code: str) -> None:
    """A frame the server never sends raises ProtocolError (a version mismatch)."""
    with pytest.raises(ProtocolError) as caught:
        decode_presenter_frame(raw)
    assert caught.value.code == code


def test_state_with_unknown_status_raises() -> None:
    """A presenter state with a status the TUI does not know is a bad_frame."""
    state = json.loads(protocol.encode_presenter_state(Session(DECK), phones=0, now=0.0))
    state["status"] = "paused"
    with pytest.raises(ProtocolError) as caught:
        decode_presenter_frame(json.dumps(state))
    assert caught.value.code == "bad_frame"


# --- no input makes the decoders crash ---------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
message_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["hello", "vote", "command", "other"]) | json_values},
    optional={
        "voter": st.sampled_from([TOKEN, "short"]) | json_values,
        "q": st.sampled_from(["mood", ""]) | json_values,
        "answer": json_values,
        "seq": st.integers(-2, 2**54) | json_values,
        "action": st.sampled_from(sorted(PRESENTER_ACTIONS)) | json_values,
        "index": st.integers(-2, 5) | json_values,
    },
).map(json.dumps)
any_frame = st.one_of(
    st.text(max_size=MAX_FRAME_BYTES + 50),
    st.binary(max_size=64),
    message_like,
    st.integers(1, 3000).map(lambda depth: "[" * depth),
)


def outcome_of(decode: Callable[[str | bytes], Any], raw: str | bytes) -> Any:
    """The decoded message, or the ProtocolError raised; anything else propagates."""
    try:
        return decode(raw)
    except ProtocolError as error:
        return error


@settings(deadline=None)
@given(any_frame)
def test_decode_audience_returns_a_message_or_raises_protocol_error(raw: str | bytes) -> None:
    """Whatever arrives from a phone, decoding gives Hello, Vote or a ProtocolError."""
    outcome = outcome_of(decode_audience, raw)
    if isinstance(outcome, ProtocolError):
        assert outcome.code
        assert outcome.seq is None or isinstance(outcome.seq, int)
        assert json.loads(protocol.encode_error(outcome.code, outcome.message, outcome.seq))
    else:
        assert isinstance(outcome, (Hello, Vote))


@settings(deadline=None)
@given(any_frame)
def test_decode_command_returns_a_command_or_raises_protocol_error(raw: str | bytes) -> None:
    """Whatever arrives on the presenter channel, decoding gives a Command or ProtocolError."""
    outcome = outcome_of(decode_command, raw)
    if isinstance(outcome, ProtocolError):
        assert outcome.code
    else:
        assert isinstance(outcome, Command)
        assert outcome.action in PRESENTER_ACTIONS
        assert (outcome.index is not None) == (outcome.action == "goto")


# --- bounded outbound frames ---------------------------------------------------------

WIDE = "\U00020000"
"""A CJK letter outside the BMP: four bytes of UTF-8, and a word character."""
GROWS = "\u0390"
"""Greek ΐ: two bytes, and three characters once case-folded for the word cloud."""


def widest_deck() -> Deck:
    """The largest deck text allows, with a Q&A, a word cloud and a wall."""
    prompt = WIDE * 500
    options = tuple(f"{n:02}" + WIDE * 198 for n in range(26))
    return Deck(
        WIDE * 200,
        (
            Question("choice", "single", prompt, options),
            Question("qa", "qa", prompt, max_length=500),
            Question("cloud", "text", prompt, max_length=500, results="live"),
            Question("wall", "text", prompt, max_length=500, display="wall", results="live"),
        ),
    )


def encoded_size(frame: str | None) -> int:
    assert frame is not None
    return len(frame.encode())


def test_page_command_round_trips_and_refuses_bad_offsets() -> None:
    """page carries the moderation offset; a missing, negative or absurd one is refused."""
    encoded = protocol.encode_command("page", offset=40)
    assert decode_command(encoded) == Command("page", offset=40)
    for offset in (None, -1, True, "2", protocol.MAX_MODERATION_OFFSET + 1):
        error = command_error(frame(type="command", action="page", offset=offset))
        assert error.code == "bad_command"
        assert error.message == 'page needs "offset", an integer from 0 to 1000000'


def test_moderation_pages_start_at_multiples_of_the_page_within_the_board() -> None:
    """An offset past the end gives the last page; any offset its page's start."""
    page = protocol.MODERATION_PAGE
    assert protocol.moderation_offset(0, 60) == 0
    assert protocol.moderation_offset(3 * page + 1, page + 3) == page
    assert protocol.moderation_offset(3 * page + 1, 10**6) == 3 * page


def test_every_frame_stays_under_its_bound_however_many_items_a_board_holds() -> None:
    """3,000 Q&A items of the widest text, all upvoted, and a word cloud and wall of the
    longest words: each presenter page and each phone frame stays under its bound,
    and a presenter page or phone list holds only its share of the items."""
    deck = widest_deck()
    session = Session(deck, max_qa_items=5000)
    session.go_to(1, 0.0)
    session.open_voting(0.0)
    for n in range(3000):
        voter = f"voter-{n}"
        item = session.post_question(voter, "qa", f"{n:04}" + WIDE * 496, 1.0)
        session.upvote(voter, "qa", item.id, True, 1.0)
    sizes = []
    for offset in (0, 1500, 2980, 10**6):
        presenter = protocol.encode_presenter_state(session, phones=0, now=0.0, qa_offset=offset)
        sizes.append(encoded_size(presenter))
        state = decode_presenter_frame(presenter)
        assert isinstance(state, PresenterState)
        assert state.qa is not None
        assert state.qa.total == 3000
        assert len(state.qa.page) == protocol.MODERATION_PAGE
        assert len(state.items) == protocol.ROOM_ITEMS
    phone_state = json.loads(protocol.encode_audience_state(session, now=0.0))
    assert len(phone_state["items"]) == protocol.PHONE_ITEMS
    assert phone_state["items_total"] == 3000
    phone_sizes = [
        encoded_size(protocol.encode_audience_state(session, now=0.0)),
        encoded_size(protocol.encode_audience_results(session)),
    ]
    for index, question in ((2, "cloud"), (3, "wall")):
        session.go_to(index, 2.0)
        session.open_voting(2.0)
        for n in range(60):
            word = GROWS * 497 + f"{n:03}" if question == "cloud" else WIDE * 500
            session.apply_vote(f"voter-{n}", question, word, 3.0)
        sizes.append(encoded_size(protocol.encode_presenter_state(session, phones=0, now=0.0)))
        phone_sizes.append(encoded_size(protocol.encode_audience_state(session, now=0.0)))
        phone_sizes.append(encoded_size(protocol.encode_audience_results(session)))
    session.go_to(0, 4.0)
    sizes.append(encoded_size(protocol.encode_presenter_state(session, phones=0, now=0.0)))
    assert max(sizes) <= protocol.MAX_PRESENTER_FRAME_BYTES
    assert max(phone_sizes) <= protocol.MAX_AUDIENCE_FRAME_BYTES
