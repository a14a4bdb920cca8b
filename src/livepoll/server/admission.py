"""Who may vote: the session's join mode, as strong as the chair needs.

* ``open``: any phone; one answer per device token per question. A script can mint
  new tokens, so this trusts the room.
* ``code``: a short room code shown only on the projector (and in its QR code); a
  phone must present a current one once, and then stays admitted. The chair can
  rotate the code, so a code passed outside the room soon stops working.
* ``tickets``: single-use codes printed for badges (``livepoll tickets``); each binds
  to the first device that presents it, and that device alone.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Literal

from livepoll.engine import Rejection
from livepoll.store import Store, keyed_hash, normalise_code

JoinMode = Literal["open", "code", "tickets"]
JOIN_MODES: tuple[JoinMode, ...] = ("open", "code", "tickets")
ROOM_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
ROOM_CODE_LENGTH = 4
CODE_GRACE_SECONDS = 30.0
"""After a rotation the previous code still works this long, for phones mid-scan."""


def new_room_code() -> str:
    """A short code people can read off the projector and type."""
    return "".join(secrets.choice(ROOM_CODE_ALPHABET) for _ in range(ROOM_CODE_LENGTH))


class Gate:
    """Admits phones according to the join mode, durably."""

    def __init__(
        self,
        mode: JoinMode,
        store: Store,
        session_id: int,
        secret: bytes,
        admitted: set[str],
        tickets: dict[str, str | None],
    ) -> None:
        self.mode = mode
        self._store = store
        self._session_id = session_id
        self._secret = secret
        self._admitted = admitted
        """Voter keys admitted by room code in this session."""
        self._tickets = tickets
        """Ticket code hash → the device (keyed hash of its token) it is bound to."""
        self._devices = {device for device in tickets.values() if device}
        self.room_code = new_room_code() if mode == "code" else None
        self._previous_code: tuple[str, float] | None = None

    @classmethod
    async def open(cls, mode: JoinMode, store: Store, session_id: int) -> Gate:
        """Load what the mode needs from the store."""
        secret = await store.secret()
        admitted = await store.admitted(session_id) if mode == "code" else set()
        tickets = await store.tickets() if mode == "tickets" else {}
        return cls(mode, store, session_id, secret, admitted, tickets)

    def rotate(self, now: float) -> str | None:
        """A new room code; the old one keeps working for CODE_GRACE_SECONDS."""
        if self.room_code is None:
            return None
        self._previous_code = (self.room_code, now + CODE_GRACE_SECONDS)
        self.room_code = new_room_code()
        return self.room_code

    async def admit(
        self, voter: str, token: str, code: str | None, ticket: str | None, now: float
    ) -> None:
        """Let a phone in, or say why not; what it proves is stored before it votes.

        Raises:
            Rejection: a wrong or missing room code or ticket.
        """
        if self.mode == "code":
            if voter in self._admitted:
                return
            valid = {self.room_code}
            if self._previous_code is not None and now <= self._previous_code[1]:
                valid.add(self._previous_code[0])
            if code is None:
                raise Rejection("code_needed", "enter the room code shown on the screen")
            if normalise_code(code) not in valid:
                raise Rejection("bad_code", "that room code is not the one on the screen")
            self._admitted.add(voter)
            await self._store.save_admission(self._session_id, voter)
        elif self.mode == "tickets":
            device = keyed_hash(self._secret, token)
            if device in self._devices:
                return
            if ticket is None:
                raise Rejection("ticket_needed", "enter the ticket code from your badge")
            code_hash = keyed_hash(self._secret, normalise_code(ticket))
            if code_hash not in self._tickets:
                raise Rejection("bad_ticket", "that ticket code does not exist")
            bound = self._tickets[code_hash]
            if bound == device:
                return
            if bound is not None:
                raise Rejection("ticket_used", "that ticket is already used on another phone")
            self._tickets[code_hash] = device
            self._devices.add(device)
            await asyncio.shield(self._store.save_ticket_binding(code_hash, device, now))
