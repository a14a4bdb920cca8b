"""Failed attempts cost time: room codes, tickets and the presenter token resist guessing.

A phone's message rate limit is per connection, and a script reconnects for free:
without this, one address tried about 9,000 room codes a second. So wrong guesses
are counted per address and, for joining, across the whole room:

* **Per address** (an IPv4 address, or an IPv6 /64, which one machine can hold whole):
  ``free`` wrong attempts cost nothing (people mistype, and a venue's NAT puts the
  whole room behind one address). Each wrong attempt beyond them makes the address
  wait before its next check: 1 s, then 2, 4, 8… up to ``max_delay``. Attempts
  during the wait are refused unchecked and cost nothing more. Wrong attempts are
  forgotten one per ``forget_seconds``, so an address that stops is forgotten
  after as many of those as it has wrong attempts on record, and a steady guesser
  gets one guess per ``forget_seconds`` in the long run.
* **For the room** (joining only): a budget of ``room_burst`` wrong attempts refilled
  at ``room_rate`` a second. While it is empty, every address's join attempt waits,
  so many addresses (a botnet, a phone farm) together guess no faster than
  ``room_rate``. Its price: during such an attack phones not yet admitted wait to
  join; admitted phones are not affected. The presenter channel has no room budget:
  its 128-bit token cannot be guessed at any rate, and a budget anyone can empty
  would let a stranger lock the chair's console out.

The arithmetic for the defaults (JOIN_LIMITS) and a five-character room code from a
31-letter alphabet, 31**5 = 28,629,151 codes:

* one address: each wrong guess adds one to its count and one is forgotten a
  minute, and past 10 the wait doubles with each, so in any T minutes it gets at
  most about 17 + T guesses checked (the wait settles near a minute, where the
  doubling meets the forgetting): sweeping the codes takes 28.6 million minutes,
  54 years; the chance of a hit in an 8-hour day is 497 / 28,629,151, under 0.002 %.
* any number of addresses: 300 guesses at once, then 2 a second: a sweep takes
  14.3 million seconds, 166 days; the chance of a hit in an 8-hour day is
  (300 + 57,600) / 28,629,151 = 0.2 % (a rotated code starts it again). With the
  former four-character codes (923,521) that chance was 6.3 % and a sweep took 5.3
  days, which is why codes now have five characters.
* tickets (8 characters, 31**8 = 852,891,037,441 codes): with 3,000 unused tickets
  a guess hits with probability 3,000 / 852,891,037,441; at 2 a second that is one
  hit in 4.5 years on average.

Bursts are logged once, not per attempt: for joining, one line when an address
starts waiting (a mistyped code is nobody's business, so an address is logged only
then) and one when the room budget runs out; for the presenter, one line at the
first wrong token of a burst. A burst ends when its address is forgotten.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

logger = logging.getLogger("livepoll.server")


@dataclass(frozen=True, slots=True)
class GuardLimits:
    """How many wrong attempts cost what (see the module docstring)."""

    free: int
    """Wrong attempts per address before it has to wait."""
    first_delay: float
    """Seconds an address waits after its first wrong attempt beyond ``free``."""
    max_delay: float
    """The longest wait; the wait doubles with each wrong attempt up to this."""
    forget_seconds: float
    """One wrong attempt of an address is forgotten per this many seconds."""
    room_burst: int = 0
    """Wrong attempts across all addresses before everyone waits; 0: no room budget."""
    room_rate: float = 0.0
    """Wrong attempts a second the room budget refills by."""
    log_first: bool = False
    """Log a burst at its first wrong attempt (else when the address starts waiting)."""


JOIN_LIMITS = GuardLimits(
    free=10, first_delay=1.0, max_delay=300.0, forget_seconds=60.0, room_burst=300, room_rate=2.0
)
"""Room codes and tickets: 10 free per address, then 1 s doubling to 5 min, one forgotten
a minute; 300 free in the room, refilled at 2 a second."""

PRESENTER_LIMITS = GuardLimits(
    free=5, first_delay=1.0, max_delay=300.0, forget_seconds=60.0, log_first=True
)
"""The presenter token: 5 free per address, then 1 s doubling to 5 min, one forgotten a
minute; no room budget."""

MAX_TRACKED_ADDRESSES = 65_536
"""Addresses remembered at most; beyond it the least recently failed are dropped (the
room budget still holds an attacker who cycles through more)."""


@dataclass(slots=True)
class _Record:
    score: float
    """Wrong attempts not yet forgotten."""
    updated: float
    blocked_until: float = 0.0
    failures: int = 0
    """Wrong attempts in this burst (since the address was last forgotten)."""
    refused: int = 0
    """Attempts refused unchecked during this burst."""
    waiting_logged: bool = False


def address_key(address: str) -> str:
    """Who is counted: an IPv4 address, or the /64 network of an IPv6 address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class FailureGuard:
    """Counts wrong attempts per address and in the room, and says how long to wait."""

    def __init__(self, what: str, limits: GuardLimits) -> None:
        """Args:
        what: what is being guessed, for the log ("room codes", "presenter tokens").
        limits: the numbers.
        """
        self.what = what
        self.limits = limits
        self._records: dict[str, _Record] = {}
        self._room_tokens = float(limits.room_burst)
        self._room_updated: float | None = None
        self._room_empty_logged = False
        self.refused = 0
        """Attempts refused unchecked since start (for tests and the log)."""

    def wait(self, address: str, now: float) -> float:
        """Seconds ``address`` must wait before its next attempt is checked; 0: check it.

        A refused attempt is not checked and not counted as wrong.
        """
        record = self._current(address_key(address), now)
        if record is not None and now < record.blocked_until:
            record.refused += 1
            self.refused += 1
            return record.blocked_until - now
        if self.limits.room_burst:
            self._refill(now)
            if self._room_tokens < 1.0:
                self.refused += 1
                return (1.0 - self._room_tokens) / self.limits.room_rate
            if self._room_empty_logged and self._room_tokens >= self.limits.room_burst / 2:
                self._room_empty_logged = False
        return 0.0

    def failed(self, address: str, now: float) -> None:
        """Count a wrong attempt from ``address``."""
        key = address_key(address)
        record = self._current(key, now)
        if record is None:
            if len(self._records) >= MAX_TRACKED_ADDRESSES:
                self._prune(now)
            record = self._records[key] = _Record(0.0, now)
        else:
            # Most recently failed last: pruning drops from the front.
            self._records[key] = self._records.pop(key)
        record.score += 1.0
        record.failures += 1
        limits = self.limits
        if limits.log_first and not record.waiting_logged:
            record.waiting_logged = True
            logger.warning(
                "%s: one from %s; %d are let through, then each waits %g s, doubling up to %g s",
                self.what,
                key,
                limits.free,
                limits.first_delay,
                limits.max_delay,
            )
        beyond = record.score - limits.free
        if beyond > 0:
            delay = min(limits.max_delay, limits.first_delay * 2 ** min(beyond - 1, 62))
            record.blocked_until = now + delay
            if not record.waiting_logged:
                record.waiting_logged = True
                logger.warning(
                    "%s: %d wrong from %s; its further attempts wait %.2g s, doubling up to %g s",
                    self.what,
                    record.failures,
                    key,
                    delay,
                    limits.max_delay,
                )
        if limits.room_burst:
            self._refill(now)
            self._room_tokens = max(0.0, self._room_tokens - 1.0)
            if self._room_tokens < 1.0 and not self._room_empty_logged:
                self._room_empty_logged = True
                logger.warning(
                    "%s: %d wrong in the room within a short time; every address now "
                    "waits, %g attempts a second in all",
                    self.what,
                    limits.room_burst,
                    limits.room_rate,
                )

    def _current(self, key: str, now: float) -> _Record | None:
        """The record of ``key`` with what has been forgotten since taken off."""
        record = self._records.get(key)
        if record is None:
            return None
        forgotten = (now - record.updated) / self.limits.forget_seconds
        record.score = max(0.0, record.score - max(0.0, forgotten))
        record.updated = now
        if record.score <= 0.0 and now >= record.blocked_until:
            if record.waiting_logged:
                logger.info(
                    "%s: %s is quiet again (%d wrong, %d refused while it waited)",
                    self.what,
                    key,
                    record.failures,
                    record.refused,
                )
            del self._records[key]
            return None
        return record

    def _prune(self, now: float) -> None:
        for key in list(self._records):
            self._current(key, now)
        while len(self._records) >= MAX_TRACKED_ADDRESSES:
            del self._records[next(iter(self._records))]

    def _refill(self, now: float) -> None:
        if self._room_updated is not None:
            elapsed = max(0.0, now - self._room_updated)
            self._room_tokens = min(
                float(self.limits.room_burst), self._room_tokens + elapsed * self.limits.room_rate
            )
        self._room_updated = now

    def tracked(self) -> int:
        """Addresses with wrong attempts not yet forgotten."""
        return len(self._records)
