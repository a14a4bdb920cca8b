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
    ← {"type": "results", "q": QUESTION_ID, "results": {...}, "items": [...] | null}
    ← {"type": "ack", "seq": N, "q": QUESTION_ID, "answer": ..., "item": ID}
    ← {"type": "error", "code": CODE, "message": TEXT, "seq": N | null}
    ← {"type": "notice", "code": "storage_problem" | "storage_ok", "message": TEXT}

ANSWER by question type: single and quiz, an option index; multi, a list of option
indexes; ranking, every option index, best first; scale, a point of the scale;
number, a number; text, a string. Q&A takes ``ask`` and ``upvote`` instead.

Presenter channel (the TUI, path ``/presenter``, ``Authorization: Bearer TOKEN``)::

    → {"type": "command", "action": ACTION, "index": I (goto only),
       (ACTION: toggle_voting open close next previous goto toggle_results extend
        moderate rotate_code rotate_code_readmit)
       "item": ID, "state": "visible" | "hidden" | "answered" (moderate only)}
    ← {"type": "welcome", "join_url": URL, "database": PATH, "version": V, "notices": [...]}
    ← {"type": "state", ...}                              (see PresenterState)
    ← {"type": "error", "code": CODE, "message": TEXT}

Every inbound frame is checked for size, JSON shape and field types here, so the
handlers only ever see well-formed messages, and every refusal carries a stable
code plus a sentence a person can act on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from livepoll.deck import Question
from livepoll.engine import Answer, QaState, QuestionState, Session, Status, answer_to_json

MAX_FRAME_BYTES = 2048
"""Inbound frames above this get an error frame; votes are a few dozen bytes."""

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
        "rotate_code_readmit",
    }
)


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
    ``moderate``."""

    action: str
    index: int | None = None
    item: int | None = None
    state: str | None = None


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
    return Command(action)


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


def _qa_items(session: Session, state: QuestionState, *, everything: bool) -> list[Any] | None:
    board = state.qa
    if board is None:
        return None
    guard = None if board.moderated else session.guard
    states: tuple[QaState, ...] = (
        ("pending", "visible", "answered", "hidden") if everything else ("visible", "answered")
    )
    return [item.public(guard) for item in board.ranked(states)]


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
        "items": _qa_items(session, state, everything=False) if visible else None,
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
    items = _qa_items(session, state, everything=False)
    if state.status is Status.PENDING or (results is None and items is None):
        return None
    return _dumps({"type": "results", "q": state.question.id, "results": results, "items": items})


def encode_welcome(join_url: str, database: str, version: str, notices: Sequence[str] = ()) -> str:
    """First frame to a presenter: what it needs to show that never changes.

    ``notices`` are things the chair should read once (a port that was taken, a
    session resumed from the database, a join URL phones may not reach).
    """
    return _dumps(
        {
            "type": "welcome",
            "join_url": join_url,
            "database": database,
            "version": version,
            "notices": list(notices),
        }
    )


@dataclass(frozen=True, slots=True)
class JoinInfo:
    """How phones join right now: the URL for the QR code (with the room code in
    ``code`` mode), the join mode, and the room code to show on the projector."""

    url: str
    mode: str = "open"
    room_code: str | None = None


def encode_presenter_state(
    session: Session,
    *,
    phones: int,
    now: float,
    storage_problem: str | None = None,
    join: JoinInfo | None = None,
) -> str:
    """The full state the TUI renders; sent at most ~10 times a second, when changed.

    The presenter always gets the results (even hidden ones, which the TUI keeps
    off the projector), the quiz's right answer and every Q&A item, pending and
    hidden ones included, so the chair can moderate.
    """
    state = session.current
    question = state.question
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
            "items": _qa_items(session, state, everything=True),
            "leaderboard": session.leaderboard() if question.type == "quiz" else None,
            "phones": phones,
            "storage_problem": storage_problem,
            "join": (
                {"url": join.url, "mode": join.mode, "room_code": join.room_code} if join else None
            ),
        }
    )


def encode_command(
    action: str, index: int | None = None, *, item: int | None = None, state: str | None = None
) -> str:
    """A presenter command, as the TUI sends it."""
    message: dict[str, Any] = {"type": "command", "action": action}
    if index is not None:
        message["index"] = index
    if item is not None:
        message["item"] = item
    if state is not None:
        message["state"] = state
    return _dumps(message)


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
    results: dict[str, Any] = field(default_factory=dict)
    """The type's summary: see the ``summary`` of each tally in :mod:`livepoll.engine`."""
    time_left: float | None = None
    """Seconds until a timed question closes, as of when the frame was sent."""
    items: tuple[dict[str, Any], ...] = ()
    """Q&A items (id, text, votes, state), most upvoted first."""
    leaderboard: tuple[dict[str, Any], ...] = ()
    """Quiz: players (name, points, right) by points."""
    join: JoinInfo | None = None
    """The join URL, mode and room code as of now (the code can rotate)."""

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
                results=dict(data.get("results") or {}),
                time_left=data.get("time_left"),
                items=tuple(data.get("items") or ()),
                leaderboard=tuple(data.get("leaderboard") or ()),
                join=JoinInfo(**data["join"]) if data.get("join") else None,
            )
    except (ValueError, KeyError, TypeError) as error:
        raise ProtocolError("bad_frame", f"unexpected frame from the server: {error}") from None
    raise ProtocolError("unknown_type", f"unexpected frame type {kind!r} from the server")
