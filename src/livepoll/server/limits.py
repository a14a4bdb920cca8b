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
