"""The messages of livepoll's two WebSocket channels, decoded and encoded without I/O.

Audience channel (phones, path ``/ws``)::

    → {"type": "hello", "voter": TOKEN}
    → {"type": "vote", "q": QUESTION_ID, "answer": ANSWER, "seq": N}
    ← {"type": "state", "title": ..., "question": {...} | null, "status": ..., "index": I,
       "count": N, "your_answer": [...] | null}          (your_answer only after hello)
    ← {"type": "ack", "seq": N, "q": QUESTION_ID, "answer": [...]}
    ← {"type": "error", "code": CODE, "message": TEXT, "seq": N | null}

Presenter channel (the TUI, path ``/presenter``, ``Authorization: Bearer TOKEN``)::

    → {"type": "command", "action": ACTION, "index": I (goto only)}
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
from dataclasses import dataclass
from typing import Any, Literal

from livepoll.deck import Question
from livepoll.engine import Answer, Session, Status

MAX_FRAME_BYTES = 2048
"""Inbound frames above this get an error frame; votes are a few dozen bytes."""

VOTER_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,64}\Z")
"""A phone's voter token: at least 22 base64url characters, i.e. at least 128 bits.

``\\Z`` rather than ``$``, which would also accept a trailing newline.
"""

PRESENTER_ACTIONS = frozenset(
    {"toggle_voting", "open", "close", "next", "previous", "goto", "toggle_results"}
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
    """A phone introduces itself with its voter token (kept in its localStorage)."""

    voter: str


@dataclass(frozen=True, slots=True)
class Vote:
    """A phone's answer to a question; ``seq`` lets it match the ack and resend safely."""

    question_id: str
    answer: Any
    seq: int


@dataclass(frozen=True, slots=True)
class Command:
    """A presenter command; ``index`` is set for ``goto`` only."""

    action: str
    index: int | None = None


AudienceMessage = Hello | Vote


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
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "a message must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", 'a message needs a "type" string')
    return data


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
        return Hello(voter)
    if kind == "vote":
        seq = _seq_of(data)
        if seq is None:
            raise ProtocolError("bad_message", 'a vote needs "seq", a non-negative integer')
        question_id = data.get("q")
        if not isinstance(question_id, str) or not question_id:
            raise ProtocolError("bad_message", 'a vote needs "q", the question id', seq)
        if "answer" not in data:
            raise ProtocolError("bad_message", 'a vote needs an "answer"', seq)
        return Vote(question_id, data["answer"], seq)
    raise ProtocolError(
        "unknown_type",
        f"unknown message type {kind[:40]!r} (expected hello or vote)",
        _seq_of(data),
    )


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
    index = None
    if action == "goto":
        index = data.get("index")
        if isinstance(index, bool) or not isinstance(index, int):
            raise ProtocolError("bad_command", 'goto needs "index", an integer')
    return Command(action, index)


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def encode_error(code: str, message: str, seq: int | None = None) -> str:
    """An error frame: a stable code for the page, a sentence for the person."""
    return _dumps({"type": "error", "code": code, "message": message, "seq": seq})


def encode_ack(seq: int, question_id: str, answer: Answer) -> str:
    """Sent to a phone once its vote is durably stored."""
    return _dumps({"type": "ack", "seq": seq, "q": question_id, "answer": list(answer)})


def _question_payload(question: Question) -> dict[str, Any]:
    return question.to_dict()


def audience_state(session: Session, your_answer: Answer | None = None) -> dict[str, Any]:
    """What phones see: the current question once voting on it has opened.

    A pending question stays hidden from phones so the chair can talk it through
    first; ``your_answer`` is added per phone on (re)connect only, so the common
    broadcast is encoded once for everyone.
    """
    state = session.current
    visible = state.status is not Status.PENDING
    message: dict[str, Any] = {
        "type": "state",
        "title": session.deck.title,
        "index": session.current_index,
        "count": len(session.deck.questions),
        "question": _question_payload(state.question) if visible else None,
        "status": state.status.value,
    }
    if your_answer is not None and visible:
        message["your_answer"] = list(your_answer)
    return message


def encode_audience_state(session: Session, your_answer: Answer | None = None) -> str:
    """:func:`audience_state`, encoded."""
    return _dumps(audience_state(session, your_answer))


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


def encode_presenter_state(
    session: Session, *, phones: int, storage_problem: str | None = None
) -> str:
    """The full state the TUI renders; sent at most ~10 times a second, when changed."""
    state = session.current
    return _dumps(
        {
            "type": "state",
            "title": session.deck.title,
            "index": session.current_index,
            "count": len(session.deck.questions),
            "question": _question_payload(state.question),
            "status": state.status.value,
            "results_shown": state.results_shown,
            "counts": state.counts,
            "respondents": state.respondents,
            "phones": phones,
            "storage_problem": storage_problem,
        }
    )


def encode_command(action: str, index: int | None = None) -> str:
    """A presenter command, as the TUI sends it."""
    message: dict[str, Any] = {"type": "command", "action": action}
    if index is not None:
        message["index"] = index
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
    respondents: int
    phones: int
    storage_problem: str | None = None

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
            )
    except (ValueError, KeyError, TypeError) as error:
        raise ProtocolError("bad_frame", f"unexpected frame from the server: {error}") from None
    raise ProtocolError("unknown_type", f"unexpected frame type {kind!r} from the server")
