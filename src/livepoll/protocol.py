"""The messages of livepoll's two WebSocket channels, decoded and encoded without I/O.

Audience channel (phones, path ``/ws``)::

    → {"type": "hello", "voter": TOKEN, "code": ROOM_CODE?, "ticket": TICKET?}
    → {"type": "vote", "q": QUESTION_ID, "answer": ANSWER, "seq": N}
    → {"type": "ask", "q": QUESTION_ID, "text": TEXT, "seq": N}            (Q&A)
    → {"type": "upvote", "q": QUESTION_ID, "item": ID, "up": BOOL, "seq": N}  (Q&A)
    → {"type": "nickname", "name": TEXT, "seq": N}                         (quiz)
    ← {"type": "state", "title": ..., "question": {...} | null, "status": ..., "index": I,
       "count": N, "time_left": S | null, "results": {...} | null, "correct": [...] | null,
       "items": [...] | null, "your_answer": ... | null}   (your_answer only after hello)
    ← {"type": "results", "q": QUESTION_ID, "results": {...}, "items": [...] | null,
       "items_total": N | null}
      (``items``: at most PHONE_ITEMS open Q&A items, most upvoted first, of
       ``items_total``; the state frame carries the same two keys)
    ← {"type": "ack", "seq": N, "q": QUESTION_ID, "answer": ..., "item": ID}
    ← {"type": "error", "code": CODE, "message": TEXT, "seq": N | null}
    ← {"type": "notice", "code": "storage_problem" | "storage_ok", "message": TEXT}
      (a gateway also sends ``reconnecting`` before it closes its phones, and
       ``room_removed`` when the room left the event: the page loads its address again)

ANSWER by question type: single and quiz, an option index; multi, a list of option
indexes; ranking, every option index, best first; scale, a point of the scale;
number, a number; text, a string. Q&A takes ``ask`` and ``upvote`` instead.

Presenter channel (the TUI, path ``/presenter``, ``Authorization: Bearer TOKEN``)::

    → {"type": "command", "action": ACTION, "index": I (goto only),
       (ACTION: toggle_voting open close next previous goto toggle_results extend
        moderate rotate_code rotate_code_readmit page segment)
       "item": ID, "state": "visible" | "hidden" | "answered" (moderate only),
       "offset": N (page only: the first item of the moderation page to receive)}
    ← {"type": "welcome", "join_url": URL, "database": PATH, "version": V, "notices": [...],
       "screen_url": URL}                      (the AV desk's read-only view, with its token)
    ← {"type": "state", ...}                              (see PresenterState)
    ← {"type": "error", "code": CODE, "message": TEXT}

Screen channel (the AV desk's browser view, path ``/screen-ws``, read-only)::

    → {"type": "screen", "token": SCREEN_TOKEN}           (first frame; nothing after)
    ← {"type": "screen_state", ...}                       (see encode_screen_state)
    ← {"type": "error", "code": "read_only", "message": TEXT}   (any later frame)

Every inbound frame is checked for size, JSON shape and field types here, so the
handlers only ever see well-formed messages, and every refusal carries a stable
code plus a sentence a person can act on.

Every outbound frame is bounded by construction, however many items a Q&A holds:
phones get the top :data:`PHONE_ITEMS` items, the presenter the top
:data:`ROOM_ITEMS` plus one page of :data:`MODERATION_PAGE` items of the moderation
queue (it asks for the page it moderates), with counts per state. Text is bounded
by the deck's limits, so no frame exceeds :data:`MAX_PRESENTER_FRAME_BYTES` (the
presenter's) or :data:`MAX_AUDIENCE_FRAME_BYTES` (a phone's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from livepoll.deck import Question
from livepoll.engine import (
    QA_STATES,
    Answer,
    QaState,
    QuestionState,
    Session,
    Status,
    answer_to_json,
)
from livepoll.words import Guard

MAX_FRAME_BYTES = 2048
"""Inbound frames above this get an error frame; votes are a few dozen bytes."""

PHONE_ITEMS = 50
"""Q&A items in a phone's frame: the most upvoted open ones (then answered ones).
A phone scrolls through fifty; a thousand would cost every phone a megabyte a tick."""
ROOM_ITEMS = 20
"""Q&A items the presenter gets for the room's view (the console lists a dozen)."""
SCREEN_ITEMS = 8
"""Q&A items the AV screen lists: the most upvoted the room may see, in type legible
from the back row (the page shows no more, so the frame carries no more)."""
MODERATION_PAGE = 20
"""Q&A items per page of the chair's moderation queue; the console asks for the page
its cursor is on."""
MAX_MODERATION_OFFSET = 1_000_000
"""The highest page offset a presenter may ask for (far above any board's size)."""

MAX_PRESENTER_FRAME_BYTES = 512 * 1024
"""No presenter frame is larger, whatever phones send: items are capped in number and
text in length (``tests/test_protocol.py`` builds the worst case). The console's link
accepts frames several times larger."""
MAX_AUDIENCE_FRAME_BYTES = 256 * 1024
"""No frame to a phone is larger (the worst case is tested as for the presenter)."""

VOTER_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,64}\Z")
"""A phone's voter token: at least 22 base64url characters, i.e. at least 128 bits.

``\\Z`` rather than ``$``, which would also accept a trailing newline.
"""

PRESENTER_ACTIONS = frozenset(
    {
        "toggle_voting",
        "open",
        "close",
        "next",
        "previous",
        "goto",
        "toggle_results",
        "extend",
        "moderate",
        "rotate_code",
        "page",
        "segment",
        "rotate_code_readmit",
        "next_session",
    }
)
"""What a chair's console may ask. ``next_session`` ends the room's session and starts
the next deck of its programme (an event server's room; a one-room server refuses)."""


class ProtocolError(Exception):
    """An inbound frame that cannot be used; answered with an error frame."""

    def __init__(self, code: str, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.seq = seq


@dataclass(frozen=True, slots=True)
class Hello:
    """A phone introduces itself with its voter token (kept in its localStorage),
    plus the room code or ticket the session's join mode asks for."""

    voter: str
    code: str | None = None
    ticket: str | None = None


@dataclass(frozen=True, slots=True)
class Vote:
    """A phone's answer to a question; ``seq`` lets it match the ack and resend safely."""

    question_id: str
    answer: Any
    seq: int


@dataclass(frozen=True, slots=True)
class Ask:
    """A phone posts a question to a Q&A."""

    question_id: str
    text: Any
    seq: int


@dataclass(frozen=True, slots=True)
class Upvote:
    """A phone upvotes a Q&A item (or, with ``up`` false, takes its upvote back)."""

    question_id: str
    item: Any
    up: bool
    seq: int


@dataclass(frozen=True, slots=True)
class Nickname:
    """A phone's name on the quiz leaderboard."""

    name: Any
    seq: int


@dataclass(frozen=True, slots=True)
class Command:
    """A presenter command; ``index`` is set for ``goto``, ``item`` and ``state`` for
    ``moderate``, ``offset`` for ``page``."""

    action: str
    index: int | None = None
    item: int | None = None
    state: str | None = None
    offset: int | None = None


AudienceMessage = Hello | Vote | Ask | Upvote | Nickname


def _load_object(frame: str | bytes) -> dict[str, Any]:
    if isinstance(frame, bytes):
        raise ProtocolError("binary_frame", "binary frames are not accepted; send JSON text")
    if (
        len(frame) > MAX_FRAME_BYTES
        or len(frame.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES
    ):
        raise ProtocolError("frame_too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        data = json.loads(frame)
    except RecursionError:
        raise ProtocolError("bad_json", "JSON nested too deeply") from None
    except json.JSONDecodeError as error:
        raise ProtocolError("bad_json", f"not valid JSON: {error.msg}") from None
    except ValueError:
        raise ProtocolError("bad_json", "not valid JSON") from None
    # A text frame is valid UTF-8 (the WebSocket layer checks), but a JSON escape such
    # as "\ud800" still decodes to a lone surrogate, which no UTF-8 encoder accepts:
    # it would fail later, when the text is stored or sent back to phones.
    if "\\u" in frame and _has_lone_surrogate(data):
        raise ProtocolError(
            "bad_json",
            "not valid JSON: a \\u escape is a lone surrogate, which is not Unicode text",
            _seq_of(data) if isinstance(data, dict) else None,
        )
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "a message must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", 'a message needs a "type" string')
    return data


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    """True if any string in a decoded JSON value (keys included) holds a surrogate.

    Iterative, so a value nested as deeply as the decoder allows cannot overflow it.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
    return False


def _seq_of(data: dict[str, Any]) -> int | None:
    seq = data.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**53:
        return None
    return seq


def decode_audience(frame: str | bytes) -> AudienceMessage:
    """Decode one frame from a phone.

    Raises:
        ProtocolError: the frame is not a well-formed audience message.
    """
    data = _load_object(frame)
    kind = data["type"]
    if kind == "hello":
        voter = data.get("voter")
        if not isinstance(voter, str) or not VOTER_TOKEN.match(voter):
            raise ProtocolError("bad_voter", "the voter token must be 22-64 base64url characters")
        admission: dict[str, str | None] = {}
        for key in ("code", "ticket"):
            value = data.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > 32):
                raise ProtocolError("bad_message", f'"{key}" must be a short string')
            admission[key] = value.strip().upper() if value else None
        return Hello(voter, admission["code"], admission["ticket"])
    if kind not in _AUDIENCE_FIELDS:
        raise ProtocolError(
            "unknown_type",
            f"unknown message type {kind[:40]!r} (expected {', '.join(_AUDIENCE_TYPES)})",
            _seq_of(data),
        )
    seq = _seq_of(data)
    if seq is None:
        raise ProtocolError("bad_message", f'a {kind} needs "seq", a non-negative integer')
    for field_name, meaning in _AUDIENCE_FIELDS[kind]:
        if field_name not in data:
            raise ProtocolError("bad_message", f'a {kind} needs "{field_name}", {meaning}', seq)
    if kind == "nickname":
        return Nickname(data["name"], seq)
    question_id = data["q"]
    if not isinstance(question_id, str) or not question_id:
        raise ProtocolError("bad_message", f'a {kind} needs "q", the question id', seq)
    if kind == "vote":
        return Vote(question_id, data["answer"], seq)
    if kind == "ask":
        return Ask(question_id, data["text"], seq)
    up = data.get("up", True)
    if not isinstance(up, bool):
        raise ProtocolError("bad_message", '"up" is true or false', seq)
    return Upvote(question_id, data["item"], up, seq)


_AUDIENCE_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "vote": (("q", "the question id"), ("answer", "the answer")),
    "ask": (("q", "the question id"), ("text", "the question to post")),
    "upvote": (("q", "the question id"), ("item", "the number of the item")),
    "nickname": (("name", "the nickname"),),
}
_AUDIENCE_TYPES = ("hello", *_AUDIENCE_FIELDS)


def decode_command(frame: str | bytes) -> Command:
    """Decode one frame from the presenter.

    Raises:
        ProtocolError: the frame is not a well-formed presenter command.
    """
    data = _load_object(frame)
    if data["type"] != "command":
        raise ProtocolError("unknown_type", "the presenter channel takes only commands")
    action = data.get("action")
    # The type check comes first: a list or object is unhashable, and "in" on the
    # frozenset would raise TypeError instead of answering with an error frame.
    if not isinstance(action, str) or action not in PRESENTER_ACTIONS:
        expected = ", ".join(sorted(PRESENTER_ACTIONS))
        raise ProtocolError("bad_command", f"unknown action {action!r} (expected: {expected})")
    if action == "goto":
        index = data.get("index")
        if isinstance(index, bool) or not isinstance(index, int):
            raise ProtocolError("bad_command", 'goto needs "index", an integer')
        return Command(action, index=index)
    if action == "moderate":
        item, state = data.get("item"), data.get("state")
        if isinstance(item, bool) or not isinstance(item, int):
            raise ProtocolError("bad_command", 'moderate needs "item", an integer')
        if state not in ("visible", "hidden", "answered"):
            raise ProtocolError(
                "bad_command", 'moderate needs "state": visible, hidden or answered'
            )
        return Command(action, item=item, state=state)
    if action == "page":
        offset = data.get("offset")
        if (
            isinstance(offset, bool)
            or not isinstance(offset, int)
            or not 0 <= offset <= MAX_MODERATION_OFFSET
        ):
            raise ProtocolError(
                "bad_command", f'page needs "offset", an integer from 0 to {MAX_MODERATION_OFFSET}'
            )
        return Command(action, offset=offset)
    return Command(action)


def decode_screen_hello(frame: str | bytes) -> str:
    """The token in a screen's first frame, ``{"type": "screen", "token": TOKEN}``.

    Raises:
        ProtocolError: the frame is not a screen hello.
    """
    data = _load_object(frame)
    token = data.get("token")
    if data["type"] != "screen" or not isinstance(token, str):
        raise ProtocolError("bad_message", 'a screen first sends {"type": "screen", "token": …}')
    return token


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""One encoder for every frame: ``json.dumps`` with options builds a new one each call."""


def _dumps(message: dict[str, Any]) -> str:
    return _ENCODER.encode(message)


def encode_error(code: str, message: str, seq: int | None = None) -> str:
    """An error frame: a stable code for the page, a sentence for the person."""
    return _dumps({"type": "error", "code": code, "message": message, "seq": seq})


def encode_notice(code: str, message: str) -> str:
    """Something every phone should know that is not about its own message
    (``storage_problem`` while votes cannot be saved, ``storage_ok`` once they can)."""
    return _dumps({"type": "notice", "code": code, "message": message})


def encode_ack(
    seq: int, question_id: str | None, answer: Answer | None = None, item: int | None = None
) -> str:
    """Sent to a phone once what it sent is durably stored."""
    message: dict[str, Any] = {"type": "ack", "seq": seq, "q": question_id}
    if answer is not None:
        message["answer"] = answer_to_json(answer)
    if item is not None:
        message["item"] = item
    return _dumps(message)


def results_visible_to_phones(state: QuestionState) -> bool:
    """Phones see results live while voting if the deck says so, else once revealed.

    A quiz's results always wait for the close, so nobody copies the room.
    """
    if state.status is Status.PENDING:
        return False
    if state.question.type == "quiz" and state.status is Status.OPEN:
        return False
    return state.results_shown or state.question.results == "live"


_PUBLIC: tuple[QaState, ...] = ("visible", "answered")


def _guard(session: Session, state: QuestionState) -> Guard | None:
    """Blocked words are masked in an unmoderated Q&A; the chair vets a moderated one."""
    return None if state.qa is None or state.qa.moderated else session.guard


def _public_items(session: Session, state: QuestionState, limit: int) -> list[Any] | None:
    """The ``limit`` most upvoted items the room may see (open, then answered)."""
    board = state.qa
    if board is None:
        return None
    guard = _guard(session, state)
    return [item.public(guard) for item in board.top(_PUBLIC, limit)]


def _public_total(state: QuestionState) -> int | None:
    board = state.qa
    if board is None:
        return None
    return sum(1 for item in board.items.values() if item.state in _PUBLIC)


def moderation_offset(total: int, requested: int) -> int:
    """The first item of the moderation page that holds item ``requested`` (pages start
    at multiples of :data:`MODERATION_PAGE`), within the ``total`` items there are."""
    last = max(0, total - 1)
    return min(max(0, requested), last) // MODERATION_PAGE * MODERATION_PAGE


def _moderation(session: Session, state: QuestionState, offset: int) -> dict[str, Any] | None:
    """The chair's view of a Q&A board: counts per state and one page of the queue."""
    board = state.qa
    if board is None:
        return None
    total = len(board.items)
    start = moderation_offset(total, offset)
    guard = _guard(session, state)
    page = board.ranked(QA_STATES)[start : start + MODERATION_PAGE]
    return {
        "counts": board.counts(),
        "total": total,
        "offset": start,
        "size": MODERATION_PAGE,
        "page": [item.public(guard) for item in page],
    }


def audience_results(session: Session) -> dict[str, Any] | None:
    """The results phones may see now, or None."""
    state = session.current
    if not results_visible_to_phones(state):
        return None
    results = session.summary(state)
    if state.question.type == "quiz" and state.status is Status.CLOSED:
        results["leaderboard"] = session.leaderboard()
    return results


def audience_state(
    session: Session, your_answer: Answer | None = None, *, now: float
) -> dict[str, Any]:
    """What phones see: the current question once voting on it has opened.

    A pending question stays hidden from phones so the chair can talk it through
    first; ``your_answer`` is added per phone on (re)connect only, so the common
    broadcast is encoded once for everyone. A quiz's right answer is sent only
    once voting on it has closed.
    """
    state = session.current
    visible = state.status is not Status.PENDING
    question = state.question
    message: dict[str, Any] = {
        "type": "state",
        "title": session.deck.title,
        "language": session.deck.language,
        "index": session.current_index,
        "count": len(session.deck.questions),
        "question": question.to_dict(for_audience=True) if visible else None,
        "status": state.status.value,
        "time_left": state.time_left(now),
        "results": audience_results(session) if visible else None,
        "correct": (
            list(question.correct)
            if question.type == "quiz" and state.status is Status.CLOSED
            else None
        ),
        "items": _public_items(session, state, PHONE_ITEMS) if visible else None,
        "items_total": _public_total(state) if visible else None,
    }
    if your_answer is not None and visible:
        message["your_answer"] = answer_to_json(your_answer)
    return message


def encode_audience_state(
    session: Session, your_answer: Answer | None = None, *, now: float
) -> str:
    """:func:`audience_state`, encoded."""
    return _dumps(audience_state(session, your_answer, now=now))


def encode_audience_results(session: Session) -> str | None:
    """Live results (or Q&A items) for phones, or None when they may not see any yet."""
    state = session.current
    results = audience_results(session)
    items = _public_items(session, state, PHONE_ITEMS)
    if state.status is Status.PENDING or (results is None and items is None):
        return None
    return _dumps(
        {
            "type": "results",
            "q": state.question.id,
            "results": results,
            "items": items,
            "items_total": _public_total(state),
        }
    )


def encode_welcome(
    join_url: str,
    database: str,
    version: str,
    notices: Sequence[str] = (),
    screen_url: str = "",
    *,
    read_only: bool = False,
) -> str:
    """First frame to a presenter: what it needs to show that never changes.

    ``notices`` are things the chair should read once (a port that was taken, a
    session resumed from the database, a join URL phones may not reach);
    ``screen_url`` is the AV desk's read-only screen view, with its token;
    ``read_only`` marks a console that watches (the organiser's look at a room): the
    server refuses its commands, and the console says so.
    """
    return _dumps(
        {
            "type": "welcome",
            "join_url": join_url,
            "database": database,
            "version": version,
            "notices": list(notices),
            "screen_url": screen_url,
            "read_only": read_only,
        }
    )


@dataclass(frozen=True, slots=True)
class JoinInfo:
    """How phones join right now: the URL for the QR code (with the room code in
    ``code`` mode), the join mode, and the room code to show on the projector."""

    url: str
    mode: str = "open"
    room_code: str | None = None


@dataclass(frozen=True, slots=True)
class Programme:
    """Where an event's room is in its programme: the console shows it, and the key
    that moves on names the next deck."""

    room: str
    """The room's name, as the event file gives it."""
    position: int
    """The current session's place in the programme, from 1."""
    length: int
    next_title: str | None
    """The next deck's title; None when this is the room's last session."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the presenter state's ``programme``."""
        return {
            "room": self.room,
            "position": self.position,
            "length": self.length,
            "next_title": self.next_title,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Programme:
        """Read the JSON form back (the console's side).

        Raises:
            KeyError, TypeError, ValueError: the data is not a programme.
        """
        next_title = data["next_title"]
        return cls(
            str(data["room"]),
            int(data["position"]),
            int(data["length"]),
            None if next_title is None else str(next_title),
        )


def encode_presenter_state(
    session: Session,
    *,
    phones: int,
    now: float,
    storage_problem: str | None = None,
    gateway_problem: str | None = None,
    join: JoinInfo | None = None,
    qa_offset: int = 0,
    programme: Programme | None = None,
) -> str:
    """The full state the TUI renders; sent at most ~10 times a second, when changed.

    The presenter always gets the results (even hidden ones, which the TUI keeps
    off the projector) and the quiz's right answer. Of a Q&A it gets the top
    :data:`ROOM_ITEMS` items the room sees, the count of items in each state, and the
    page of the moderation queue (pending and hidden items included) that starts at
    ``qa_offset``, so a board of any size makes a frame of bounded size.
    """
    state = session.current
    question = state.question
    limit = session.limit_of(state)
    taken = len(state.qa.items) if state.qa is not None else state.respondents
    return _dumps(
        {
            "type": "state",
            "title": session.deck.title,
            "index": session.current_index,
            "count": len(session.deck.questions),
            "question": question.to_dict(),
            "status": state.status.value,
            "results_shown": state.results_shown,
            "counts": state.counts if question.is_choice else [],
            "respondents": state.respondents,
            "results": session.summary(state),
            "time_left": state.time_left(now),
            "items": _public_items(session, state, ROOM_ITEMS),
            "qa": _moderation(session, state, qa_offset),
            "limit": limit,
            "full": limit is not None and taken >= limit,
            "leaderboard": (
                session.leaderboard(movement=True) if question.type == "quiz" else None
            ),
            "phones": phones,
            "storage_problem": storage_problem,
            "gateway_problem": gateway_problem,
            "join": (
                {"url": join.url, "mode": join.mode, "room_code": join.room_code} if join else None
            ),
            # At most 26 segments by 26 options, built once per state sent.
            "crosstab": session.segment_view_summary(),
            "can_segment": bool(session.segment_choices()),
            "programme": None if programme is None else programme.to_dict(),
        }
    )


SCREEN_STATUS = {"pending": "waiting", "open": "voting open", "closed": "voting closed"}
"""The status words the room reads on the AV screen (colour never says it alone)."""


def encode_screen_state(
    session: Session,
    *,
    phones: int,
    now: float,
    join: JoinInfo,
    qr: dict[str, Any] | None = None,
) -> str:
    """What the AV desk's screen shows: the room's view of the session, nothing more.

    Built from the same pieces as :func:`encode_presenter_state`, less what only the
    chair may see: no moderation queue (pending and hidden Q&A items), no database
    path, no notices, no storage problems, no tokens. Results come only while the
    chair shows them; a quiz's right answer and the leaderboard only once it has closed
    and its results are shown (points gained would give the answer away before).
    ``qr`` is the join URL's code as SVG path data (made by the server, which may use
    a QR library).
    """
    state = session.current
    question = state.question
    shown = state.results_shown
    quiz_closed = question.type == "quiz" and state.status is Status.CLOSED
    return _dumps(
        {
            "type": "screen_state",
            "title": session.deck.title,
            "index": session.current_index,
            "count": len(session.deck.questions),
            "question": question.to_dict(for_audience=True),
            "status": state.status.value,
            "status_words": SCREEN_STATUS[state.status.value],
            "time_left": state.time_left(now),
            "results_shown": shown,
            "respondents": state.respondents,
            "results": session.summary(state) if shown else None,
            "correct": list(question.correct) if quiz_closed and shown else None,
            "items": _public_items(session, state, SCREEN_ITEMS),
            "leaderboard": session.leaderboard(movement=True) if quiz_closed and shown else None,
            "phones": phones,
            "join": {"url": join.url, "mode": join.mode, "room_code": join.room_code},
            "qr": qr,
        }
    )


def encode_command(
    action: str,
    index: int | None = None,
    *,
    item: int | None = None,
    state: str | None = None,
    offset: int | None = None,
) -> str:
    """A presenter command, as the TUI sends it."""
    message: dict[str, Any] = {"type": "command", "action": action}
    if offset is not None:
        message["offset"] = offset
    if index is not None:
        message["index"] = index
    if item is not None:
        message["item"] = item
    if state is not None:
        message["state"] = state
    return _dumps(message)


@dataclass(frozen=True, slots=True)
class QaModeration:
    """The chair's view of a Q&A board, decoded from a presenter state frame."""

    counts: dict[str, int]
    """Items per state: pending, visible, answered, hidden."""
    total: int
    offset: int
    """The position of the page's first item in the whole queue."""
    size: int
    """Items in a full page; the page is shorter at the end of the queue."""
    page: tuple[dict[str, Any], ...]
    """Items in the queue's order: waiting first, then open by upvotes, answered, hidden."""


@dataclass(frozen=True, slots=True)
class PresenterState:
    """The presenter's view of the session, decoded from a state frame."""

    title: str
    index: int
    count: int
    question: Question
    status: Literal["pending", "open", "closed"]
    results_shown: bool
    counts: tuple[int, ...]
    """Votes per option for single, multi and quiz; empty for other types."""
    respondents: int
    phones: int
    storage_problem: str | None = None
    gateway_problem: str | None = None
    """Why the phones on gateways cannot reach the room (a room owned on Redis that
    cannot reach it); None on a server alone and while they can."""
    results: dict[str, Any] = field(default_factory=dict)
    """The type's summary: see the ``summary`` of each tally in :mod:`livepoll.engine`."""
    time_left: float | None = None
    """Seconds until a timed question closes, as of when the frame was sent."""
    items: tuple[dict[str, Any], ...] = ()
    """The Q&A items the room sees (id, text, votes, state), most upvoted first: at
    most :data:`ROOM_ITEMS`."""
    qa: QaModeration | None = None
    """A Q&A's counts per state and the page of the moderation queue; None otherwise."""
    limit: int | None = None
    """Answers (text) or items (Q&A) the question takes; None when unbounded."""
    full: bool = False
    """The question has reached :attr:`limit`: phones are told no more are taken."""
    leaderboard: tuple[dict[str, Any], ...] = ()
    """Quiz: players (name, points, right, previous_rank, gained) by points."""
    join: JoinInfo | None = None
    """The join URL, mode and room code as of now (the code can rotate)."""
    crosstab: dict[str, Any] | None = None
    """The current question split by another's answers (the chair's ``s``), or None:
    see :meth:`livepoll.engine.CrossTab.summary`; small segments come without figures."""
    can_segment: bool = False
    """Whether the current question can be split by an earlier one."""
    programme: Programme | None = None
    """Where the room is in its programme of decks; None on a one-room server."""

    @property
    def total_choices(self) -> int:
        """All options picked, summed (equals respondents for single choice)."""
        return sum(self.counts)

    def percent(self, option: int) -> float:
        """Share of respondents who picked ``option``, 0-100."""
        if self.respondents == 0:
            return 0.0
        return 100.0 * self.counts[option] / self.respondents


@dataclass(frozen=True, slots=True)
class Welcome:
    """The presenter's first frame: the join URL and the database in use."""

    join_url: str
    database: str
    version: str
    notices: tuple[str, ...] = ()
    screen_url: str = ""
    """The AV desk's read-only screen view (``/screen?token=…``); empty from an older
    server or a past session."""
    read_only: bool = False
    """The server refuses this console's commands: it watches a room it does not run."""


def decode_presenter_frame(frame: str | bytes) -> PresenterState | Welcome | ProtocolError:
    """Decode a frame the server sends to the presenter (the TUI's side).

    An error frame from the server comes back as a :class:`ProtocolError` value.

    Raises:
        ProtocolError: the frame is not one the server sends (a version mismatch).
    """
    if isinstance(frame, bytes):
        raise ProtocolError("binary_frame", "the server sent a binary frame")
    try:
        data = json.loads(frame)
        kind = data["type"]
        if kind == "welcome":
            return Welcome(
                str(data["join_url"]),
                str(data["database"]),
                str(data["version"]),
                tuple(str(notice) for notice in data.get("notices", ())),
                str(data.get("screen_url") or ""),
                bool(data.get("read_only", False)),
            )
        if kind == "error":
            return ProtocolError(str(data["code"]), str(data["message"]))
        if kind == "state":
            status = data["status"]
            if status not in ("pending", "open", "closed"):
                raise ValueError(status)
            return PresenterState(
                title=str(data["title"]),
                index=int(data["index"]),
                count=int(data["count"]),
                question=Question.from_dict(data["question"]),
                status=status,
                results_shown=bool(data["results_shown"]),
                counts=tuple(int(c) for c in data["counts"]),
                respondents=int(data["respondents"]),
                phones=int(data["phones"]),
                storage_problem=data.get("storage_problem"),
                gateway_problem=data.get("gateway_problem"),
                results=dict(data.get("results") or {}),
                time_left=data.get("time_left"),
                items=tuple(data.get("items") or ()),
                qa=_decode_moderation(data.get("qa")),
                limit=int(data["limit"]) if data.get("limit") is not None else None,
                full=bool(data.get("full", False)),
                leaderboard=tuple(data.get("leaderboard") or ()),
                join=JoinInfo(**data["join"]) if data.get("join") else None,
                crosstab=dict(data["crosstab"]) if data.get("crosstab") else None,
                can_segment=bool(data.get("can_segment", False)),
                programme=Programme.from_dict(data["programme"]) if data.get("programme") else None,
            )
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise ProtocolError("bad_frame", f"unexpected frame from the server: {error}") from None
    raise ProtocolError("unknown_type", f"unexpected frame type {kind!r} from the server")


def _decode_moderation(data: Any) -> QaModeration | None:
    if data is None:
        return None
    return QaModeration(
        counts={str(state): int(count) for state, count in dict(data["counts"]).items()},
        total=int(data["total"]),
        offset=int(data["offset"]),
        size=int(data["size"]),
        page=tuple(item for item in data["page"] if isinstance(item, dict)),
    )


# The organiser's control channel (an event server's ``/control``): one summary of
# every room, pushed about once a second, and the organiser's few commands.

CONTROL_ACTIONS = frozenset({"next_session"})
"""What the control room may ask of a room (it opens a room's console itself, through
the room's presenter channel, with the organiser's token)."""


@dataclass(frozen=True, slots=True)
class RoomSummary:
    """One live row of the control room: what a room shows and how it is doing."""

    id: str
    name: str
    url: str
    """The room's join URL (its page; the presenter channel is below it)."""
    deck: str
    position: int
    """The session's place in the room's programme, from 1."""
    length: int
    next_title: str | None
    question: str
    """The prompt on screen now."""
    index: int
    count: int
    status: str
    """pending, open or closed."""
    phones: int
    answers_last_minute: int
    chair_attached: bool
    """A console in control (not a watching one) is connected to the room."""
    session: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of one row."""
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "deck": self.deck,
            "position": self.position,
            "length": self.length,
            "next_title": self.next_title,
            "question": self.question,
            "index": self.index,
            "count": self.count,
            "status": self.status,
            "phones": self.phones,
            "answers_last_minute": self.answers_last_minute,
            "chair_attached": self.chair_attached,
            "session": self.session,
        }


@dataclass(frozen=True, slots=True)
class EventSummary:
    """The control room's frame: the event, its rooms, the storage's health and, for an
    event owned on Redis, whether its gateways' phones reach it."""

    title: str
    rooms: tuple[RoomSummary, ...]
    storage_problem: str | None = None
    gateway_problem: str | None = None


@dataclass(frozen=True, slots=True)
class ControlCommand:
    """An organiser's command to one room."""

    action: str
    room: str


def encode_event_summary(
    title: str,
    rooms: Sequence[RoomSummary],
    storage_problem: str | None = None,
    gateway_problem: str | None = None,
) -> str:
    """The control room's frame; a handful of rooms, so always small."""
    return _dumps(
        {
            "type": "event",
            "title": title,
            "rooms": [room.to_dict() for room in rooms],
            "storage_problem": storage_problem,
            "gateway_problem": gateway_problem,
        }
    )


def decode_event_frame(frame: str | bytes) -> EventSummary | ProtocolError:
    """Decode a frame the server sends to the control room (an error comes back as a
    :class:`ProtocolError` value).

    Raises:
        ProtocolError: the frame is not one the server sends.
    """
    if isinstance(frame, bytes):
        raise ProtocolError("binary_frame", "the server sent a binary frame")
    try:
        data = json.loads(frame)
        kind = data["type"]
        if kind == "error":
            return ProtocolError(str(data["code"]), str(data["message"]))
        if kind == "event":
            rooms = []
            for row in data["rooms"]:
                next_title = row["next_title"]
                rooms.append(
                    RoomSummary(
                        id=str(row["id"]),
                        name=str(row["name"]),
                        url=str(row["url"]),
                        deck=str(row["deck"]),
                        position=int(row["position"]),
                        length=int(row["length"]),
                        next_title=None if next_title is None else str(next_title),
                        question=str(row["question"]),
                        index=int(row["index"]),
                        count=int(row["count"]),
                        status=str(row["status"]),
                        phones=int(row["phones"]),
                        answers_last_minute=int(row["answers_last_minute"]),
                        chair_attached=bool(row["chair_attached"]),
                        session=int(row["session"]),
                    )
                )
            problem = data.get("storage_problem")
            cut_off = data.get("gateway_problem")
            return EventSummary(
                str(data["title"]),
                tuple(rooms),
                None if problem is None else str(problem),
                None if cut_off is None else str(cut_off),
            )
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise ProtocolError("bad_frame", f"unexpected frame from the server: {error}") from None
    raise ProtocolError("unknown_type", f"unexpected frame type {kind!r} from the server")


def encode_control_command(action: str, room: str) -> str:
    """An organiser's command, as the control room sends it."""
    return _dumps({"type": "control", "action": action, "room": room})


def decode_control_command(frame: str | bytes) -> ControlCommand:
    """Decode one frame from the control room.

    Raises:
        ProtocolError: the frame is not a well-formed control command.
    """
    data = _load_object(frame)
    if data["type"] != "control":
        raise ProtocolError("unknown_type", "the control channel takes only control commands")
    action = data.get("action")
    if not isinstance(action, str) or action not in CONTROL_ACTIONS:
        expected = ", ".join(sorted(CONTROL_ACTIONS))
        raise ProtocolError("bad_command", f"unknown action {action!r} (expected: {expected})")
    room = data.get("room")
    if not isinstance(room, str) or not room:
        raise ProtocolError("bad_command", f'{action} needs "room", a room id')
    return ControlCommand(action, room)
