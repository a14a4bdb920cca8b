"""The presenter link's pure parts: where to connect and how long to wait between tries.

Kept apart from the app so the URL rules and the backoff curve are unit-tested
without a terminal or a socket.
"""

from __future__ import annotations

import random
from urllib.parse import urlsplit, urlunsplit

PRESENTER_PATH = "presenter"
"""The presenter channel's path, below the server's base URL."""

BACKOFF_FIRST = 0.2
"""Seconds before the first retry: a restarting server is usually back at once."""

BACKOFF_CAP = 5.0
"""Longest wait between tries, so the console is back within seconds of the server."""

_SCHEMES = {"http": "ws", "ws": "ws", "https": "wss", "wss": "wss"}


def presenter_url(base_url: str) -> str:
    """The presenter WebSocket URL for a server's base URL.

    Accepts what a chair may type or the server may print: ``http://host:port/``,
    ``https://poll.example.org/sub/``, ``ws://host:port``, a URL that already ends
    in ``/presenter``, or a bare ``host:port``. A path prefix is kept (a server
    behind a reverse proxy); query and fragment are dropped.

    Raises:
        ValueError: the scheme is not http, https, ws or wss, or there is no host.
    """
    text = base_url.strip()
    if "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(f"unsupported scheme {parts.scheme!r} in {base_url!r}")
    if not parts.hostname:
        raise ValueError(f"no host in {base_url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith(f"/{PRESENTER_PATH}"):
        path = f"{path}/{PRESENTER_PATH}"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def reconnect_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before reconnect ``attempt`` (0 for the first retry).

    Exponential from :data:`BACKOFF_FIRST`, capped at :data:`BACKOFF_CAP`, with
    "equal jitter" (a random point in the upper half of the step) so that several
    consoles, or a console and its phones, do not hammer a restarting server in step.
    """
    step = min(BACKOFF_CAP, BACKOFF_FIRST * 2.0 ** min(attempt, 16))
    draw = rng.random() if rng is not None else random.random()
    return step / 2 + draw * step / 2
