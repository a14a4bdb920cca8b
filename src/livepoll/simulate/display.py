"""The simulator's progress display and final summary, as plain text.

On a terminal one line is redrawn in place a few times a second; into a file or
a pipe a line is written every few seconds instead, so a log stays readable.
"""

from __future__ import annotations

import time
from typing import TextIO

from livepoll.simulate.stats import Stats, milliseconds, percentile

PIPE_INTERVAL = 5.0
"""Seconds between progress lines when the output is not a terminal."""


class Progress:
    """Shows a running simulation's counters; call :meth:`update` often."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self._last_line = 0.0
        self._sorted_for = -1
        self._p50: float | None = None
        self._p99: float | None = None

    def line(self, stats: Stats, elapsed: float) -> str:
        """One line: connected, answered, acked, errors, ack p50/p99, the question."""
        counts = stats.counts
        latencies = stats.samples.latencies
        if len(latencies) != self._sorted_for:
            self._sorted_for = len(latencies)
            self._p50 = percentile(latencies, 0.50)
            self._p99 = percentile(latencies, 0.99)
        question = counts.last_state[1] or "no state yet"
        return (
            f"{elapsed:6.1f}s  connected {counts.connected}/{counts.phones}"
            f"  answered {counts.answered}  acked {counts.acked}  errors {counts.errors}"
            f"  ack p50 {milliseconds(self._p50)} p99 {milliseconds(self._p99)}  [{question}]"
        )

    def update(self, stats: Stats, elapsed: float) -> None:
        """Redraw the line (terminal) or write one every few seconds (file, pipe)."""
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line(stats, elapsed) + "\x1b[K")
            self.stream.flush()
        elif now - self._last_line >= PIPE_INTERVAL:
            self._last_line = now
            self.stream.write(self.line(stats, elapsed) + "\n")
            self.stream.flush()

    def finish(self, stats: Stats, elapsed: float, url: str) -> None:
        """End the live line and write the summary."""
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.stream.write(summary(stats, elapsed, url) + "\n")
        self.stream.flush()


def summary(stats: Stats, elapsed: float, url: str) -> str:
    """What happened, for the chair: connections, answers, latency, errors."""
    counts = stats.counts
    latencies = stats.samples.latencies
    waiting = counts.answered - counts.acked - counts.rejected
    lines = [
        f"livepoll simulate: {counts.phones} phones for {elapsed:.1f} s against {url}",
        f"  connections  {counts.connects} made, {counts.refused} failed attempts, "
        f"{counts.dropped} dropped (reconnected)",
        f"  answers      {counts.answered} sent, {counts.acked} acknowledged, "
        f"{counts.rejected} refused by the server, {max(0, waiting)} unacknowledged at the end"
        + (f", {counts.skipped} questions skipped" if counts.skipped else ""),
        "  ack latency  "
        + ", ".join(
            f"{name} {milliseconds(percentile(latencies, q))}"
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        ),
    ]
    if counts.questions:
        parts = [
            f"{qid}: {c.phones} phones, {c.answered} sent, {c.acked} acked"
            + (f", {c.rejected} refused" if c.rejected else "")
            for qid, c in counts.questions.items()
        ]
        lines.append("  questions    " + "; ".join(parts))
    if counts.results:
        lines.append(f"  results      {counts.results} live results frames received")
    if counts.failures:
        worst = counts.failures.most_common(6)
        lines.append("  errors       " + "; ".join(f"{kind} ×{n}" for kind, n in worst))
    return "\n".join(lines)
