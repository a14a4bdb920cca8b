"""Per-connection limits that keep one phone from crowding out the rest of the room."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    """Allows ``rate`` messages a second on average, in bursts of up to ``burst``.

    A phone tapping through a vote, a change of mind and a Q&A upvote stays well
    inside it; a script hammering the server does not.
    """

    rate: float
    burst: float
    tokens: float = field(init=False)
    updated: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self, now: float) -> bool:
        """Spend one token if there is one; False means over the limit."""
        if self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


FLOOD_DROPS = 200
"""Messages dropped over the rate limit before the connection is closed as a flood."""


@dataclass(slots=True)
class FrameLimiter:
    """One phone connection's rate limit and flood rule, shared by the server alone and
    the gateways so a phone meets the same limits wherever it connects.

    :meth:`check` says what to do with each frame: ``"pass"`` it on; ``"warn"`` (the
    first dropped, so the phone is told why); ``"drop"`` silently; ``"flood"``: close.
    """

    rate: float
    burst_seconds: float
    bucket: TokenBucket = field(init=False)
    dropped: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.bucket = TokenBucket(self.rate, max(1.0, self.rate * self.burst_seconds))

    def check(self, now: float) -> str:
        """The fate of a frame arriving at ``now`` (monotonic seconds)."""
        bucket = self.bucket
        if not bucket.take(now):
            self.dropped += 1
            if self.dropped == 1:
                return "warn"
            return "flood" if self.dropped >= FLOOD_DROPS else "drop"
        if bucket.tokens >= bucket.burst - 1:
            # The bucket was full before this message: the phone has been calm for a
            # whole burst's worth of time, so a later flood is told anew. Not on any
            # message let through: a flooder gets one every 1/rate seconds as tokens
            # refill, and resetting then kept a steady flood (say 100 a second) from
            # ever adding up to FLOOD_DROPS.
            self.dropped = 0
        return "pass"

    def warning(self) -> str:
        """The error frame's message for a phone over the limit."""
        return f"too many messages: at most {self.rate:g} a second; wait a moment and try again"


class RecentCounter:
    """Events counted in the last ``seconds`` seconds, one bucket per second.

    Adding is O(1) and allocates nothing (the control room's "answers in the last
    minute" is bumped on every vote); the total sums the buckets still in the window.
    """

    def __init__(self, seconds: int) -> None:
        self._seconds = seconds
        self._counts = [0] * seconds
        self._stamps = [-1] * seconds

    def add(self, now: float) -> None:
        """Count one event at ``now`` (seconds since the epoch)."""
        second = int(now)
        slot = second % self._seconds
        if self._stamps[slot] != second:
            self._stamps[slot] = second
            self._counts[slot] = 0
        self._counts[slot] += 1

    def total(self, now: float) -> int:
        """Events in the window that ends at ``now``."""
        oldest = int(now) - self._seconds
        return sum(
            count for count, stamp in zip(self._counts, self._stamps, strict=True) if stamp > oldest
        )
