"""Who may vote: the session's join mode, as strong as the chair needs.

* ``open``: any phone; one answer per device token per question. A script can mint
  new tokens, so this trusts the room.
* ``code``: a short room code shown only on the projector (and in its QR code); a
  phone must present a current one once, and then stays admitted. The chair can
  rotate the code, so a code passed outside the room soon stops working, and can
  rotate it revoking every admission, so phones admitted with a leaked code are
  out too (every phone in the room then enters the new code).
* ``tickets``: single-use codes printed for badges (``livepoll tickets``); each binds
  to the first device that presents it, and that device alone.

Wrong codes and tickets are limited per address and across the room (see
``livepoll.server.guard``, which also gives the arithmetic behind the code length).
A phone showing a code this session used before (rotated away) is told the code
changed without it counting as a guess: after a rotation that revokes admissions,
every phone in the room comes back with the old code at once.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from typing import Literal

from livepoll.engine import Rejection
from livepoll.server.guard import JOIN_LIMITS, FailureGuard
from livepoll.store import Store, keyed_hash, normalise_code

JoinMode = Literal["open", "code", "tickets"]
JOIN_MODES: tuple[JoinMode, ...] = ("open", "code", "tickets")
ROOM_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
ROOM_CODE_LENGTH = 5
"""31**5 = 28,629,151 codes: with the join limits, many addresses together have a 0.2 %
chance of a hit in an 8-hour day; with four characters it was 6.3 % (livepoll.server.guard)."""
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
        self._past_codes: set[str] = set()
        """Codes rotated away in this run: showing one is stale, not a guess."""
        self.guard = FailureGuard(
            "wrong room codes" if mode == "code" else "wrong tickets", JOIN_LIMITS
        )

    @classmethod
    async def open(cls, mode: JoinMode, store: Store, session_id: int) -> Gate:
        """Load what the mode needs from the store."""
        secret = await store.secret()
        admitted = await store.admitted(session_id) if mode == "code" else set()
        tickets = await store.tickets() if mode == "tickets" else {}
        return cls(mode, store, session_id, secret, admitted, tickets)

    def continue_from(self, earlier: Gate) -> None:
        """Take over the room code and the guessing record of the room's previous
        session: the next deck of a programme keeps the code on the door, so phones
        that joined with it get in again without asking anyone."""
        if self.mode == earlier.mode == "code":
            self.room_code = earlier.room_code
            self._previous_code = earlier._previous_code
            self._past_codes = earlier._past_codes
        self.guard = earlier.guard

    def rotate(self, now: float, *, readmit: bool = False) -> str | None:
        """A new room code; the old one keeps working for CODE_GRACE_SECONDS.

        With ``readmit``, the old code stops at once and every admission so far is
        revoked (in the store too): each phone must enter the new code. The caller
        disconnects the phones already in, since their connections were admitted.
        """
        if self.room_code is None:
            return None
        self._past_codes.add(self.room_code)
        if readmit:
            self._previous_code = None
            self._admitted.clear()
            self._store.revoke_admissions(self._session_id)
        else:
            self._previous_code = (self.room_code, now + CODE_GRACE_SECONDS)
        code = new_room_code()
        while code in self._past_codes:
            code = new_room_code()
        self.room_code = code
        return self.room_code

    def is_admitted(self, voter: str) -> bool:
        """Whether a voter key is admitted by room code now."""
        return voter in self._admitted

    async def admit(
        self,
        voter: str,
        token: str,
        code: str | None,
        ticket: str | None,
        now: float,
        address: str = "?",
    ) -> None:
        """Let a phone in, or say why not; what it proves is stored before it votes.

        Args:
            voter: the phone's voter key in this session.
            token: the phone's own token (tickets bind to a keyed hash of it).
            code: the room code it shows, if any.
            ticket: the ticket code it shows, if any.
            now: the time (seconds since the epoch).
            address: the phone's IP address, for the limits on wrong attempts.

        Raises:
            Rejection: a wrong or missing room code or ticket, or an address that
                must wait after too many wrong ones (``join_wait``).
        """
        if self.mode == "code":
            if voter in self._admitted:
                return
            valid = {self.room_code}
            if self._previous_code is not None and now <= self._previous_code[1]:
                valid.add(self._previous_code[0])
            if code is None:
                raise Rejection("code_needed", "enter the room code shown on the screen")
            self._check_wait(address, now)
            shown = normalise_code(code)
            if shown in self._past_codes and shown not in valid:
                raise Rejection("code_expired", "the room code has changed: enter the new one")
            if shown not in valid:
                self.guard.failed(address, now)
                raise Rejection("bad_code", "that room code is not the one on the screen")
            self._admitted.add(voter)
            await self._store.save_admission(self._session_id, voter)
            if voter not in self._admitted:
                # Re-admitting everyone while this admission was being saved revoked
                # it too (the revocation was queued after it, so the store agrees).
                raise Rejection("code_expired", "the room code has changed: enter the new one")
        elif self.mode == "tickets":
            device = keyed_hash(self._secret, token)
            if device in self._devices:
                return
            if ticket is None:
                raise Rejection("ticket_needed", "enter the ticket code from your badge")
            self._check_wait(address, now)
            code_hash = keyed_hash(self._secret, normalise_code(ticket))
            if code_hash not in self._tickets:
                self.guard.failed(address, now)
                raise Rejection("bad_ticket", "that ticket code does not exist")
            bound = self._tickets[code_hash]
            if bound == device:
                return
            if bound is not None:
                self.guard.failed(address, now)
                raise Rejection("ticket_used", "that ticket is already used on another phone")
            self._tickets[code_hash] = device
            self._devices.add(device)
            await asyncio.shield(self._store.save_ticket_binding(code_hash, device, now))

    def _check_wait(self, address: str, now: float) -> None:
        """Refuse, unchecked, an attempt from an address that must wait.

        Raises:
            Rejection: ``join_wait``, saying for how long.
        """
        wait = self.guard.wait(address, now)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise Rejection(
                "join_wait",
                f"too many wrong codes were tried from here: try again in {seconds} s",
            )
