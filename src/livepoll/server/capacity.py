"""A margin of file descriptors, kept free for the store and the chair.

Every connection is a socket, and a process has a limit on open files (its
``RLIMIT_NOFILE`` soft limit; ``livepoll serve`` raises it to the hard limit at
start). A crowd of connections, or a script holding thousands of silent ones, can
reach it: then ``accept()`` fails for everyone, the presenter's console among them,
and the store may find no descriptor for a journal file. So new phone handshakes are
refused with ``503 Service Unavailable`` (and ``Retry-After``) once the open
connections reach the limit minus DESCRIPTOR_MARGIN; the presenter channel is never
refused for this, and the margin also covers the database, its WAL and the log.

Silent connections do not keep the room full for long: a connection must finish its
opening handshake within the handshake timeout (10 s) and say hello within the hello
timeout (``livepoll.server.app.HELLO_TIMEOUT``), or it is closed.
"""

from __future__ import annotations

import logging
import resource

from websockets.datastructures import Headers
from websockets.http11 import Response

DESCRIPTOR_MARGIN = 128
"""Descriptors kept free below the soft limit: the database and its WAL and shared
memory files, the log, the listening sockets, presenters reconnecting, and headroom."""

logger = logging.getLogger("livepoll.server")

RETRY_AFTER_SECONDS = 5
"""What a refused phone is told to wait (the page retries with its own backoff)."""


class Capacity:
    """Decides whether one more phone connection fits under the open-files limit."""

    def __init__(self, margin: int = DESCRIPTOR_MARGIN) -> None:
        self.margin = margin
        self.refused = 0
        """Phone handshakes refused for want of descriptors since start."""
        self._refusing = False

    def limit(self) -> int | None:
        """The open connections phones may reach: the soft limit minus the margin
        (None when there is no limit)."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return None
        return max(1, soft - self.margin)

    def refusal(self, open_connections: int) -> Response | None:
        """A 503 when ``open_connections`` (this new one included) is past the limit."""
        limit = self.limit()
        if limit is None or open_connections <= limit:
            if self._refusing:
                self._refusing = False
                logger.warning("phones are let in again (%d connections open)", open_connections)
            return None
        self.refused += 1
        if not self._refusing:
            # One line per episode, not per refused phone.
            self._refusing = True
            logger.warning(
                "refusing new phones: %d connections open, the limit is %d "
                "(open files %d minus a margin of %d)",
                open_connections,
                limit,
                limit + self.margin,
                self.margin,
            )
        body = b"The server is full right now; try again in a few seconds.\n"
        headers = Headers()
        headers["Content-Type"] = "text/plain; charset=utf-8"
        headers["Content-Length"] = str(len(body))
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        headers["X-Content-Type-Options"] = "nosniff"
        return Response(503, "Service Unavailable", headers, body)
