"""The voting page's files, shipped inside the package and served from memory.

The server never reads a file named by a client: the page is a fixed set of files
loaded once at start-up, looked up by exact path.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from importlib import resources

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The page may talk only to the server it came from. ``connect-src 'self'`` covers
``ws:``/``wss:`` to the same host and port in browsers that follow CSP Level 3
(Chromium 58 era onwards, Firefox, Safari 15.4); older ones (the page runs on ES2017
browsers, back to Safari 10.3) need the WebSocket origin named, so when the request
names its host, ``content_security_policy`` adds ``ws://HOST wss://HOST`` for exactly
that host. Never ``ws: wss:``, which would let a script injected into the page
send votes or tokens to any host."""

_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?\Z")
"""A Host header fit to go into the policy: a name or address, and a port."""


def content_security_policy(host: str | None) -> str:
    """The page's policy for a request that asked for ``host`` (its Host header)."""
    if host is None or not _HOST.match(host):
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self';", f"connect-src 'self' ws://{host} wss://{host};"
    )


_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/boot.js": ("boot.js", "text/javascript; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
    "/screen": ("screen.html", "text/html; charset=utf-8"),
    "/screen.js": ("screen.js", "text/javascript; charset=utf-8"),
    "/screen.css": ("screen.css", "text/css; charset=utf-8"),
}
CATALOGUE_TYPE = "application/json; charset=utf-8"
"""Each ``LANG.json`` beside the page is a message catalogue, served as /LANG.json."""


@dataclass(frozen=True, slots=True)
class Asset:
    """One file of the page, ready to send, plain and gzip-compressed.

    Compressed once at start-up: phones on a crowded venue Wi-Fi download a
    third of the bytes, and the server spends nothing per request. Each form has
    a validator (an ETag from the content's hash): the page is sent ``no-cache``,
    so a phone always asks, and a repeat visit costs a 304 instead of the file.
    """

    body: bytes
    content_type: str
    gzipped: bytes = b""
    etag: str = ""
    """The plain body's entity tag, quoted; the gzip form's is ``etag_for(True)``."""

    def etag_for(self, gzipped: bool) -> str:
        """The entity tag of the plain or the gzip-compressed form (they differ)."""
        return self.etag[:-1] + '-gz"' if gzipped else self.etag

    def not_modified(self, if_none_match: str | None, gzipped: bool) -> bool:
        """Whether a request's If-None-Match names the form it would get (RFC 9110 13.1.2).

        The comparison is weak, as the RFC asks for If-None-Match: ``W/"x"`` matches
        ``"x"``; ``*`` matches any.
        """
        if not if_none_match:
            return False
        ours = self.etag_for(gzipped)
        for tag in if_none_match.split(","):
            tag = tag.strip()
            if tag == "*" or tag.removeprefix("W/") == ours:
                return True
        return False


@dataclass(frozen=True, slots=True)
class StaticFiles:
    """The page's files by URL path."""

    files: dict[str, Asset]

    @classmethod
    def load(cls) -> StaticFiles:
        """Read the page's files from the installed package."""
        folder = resources.files("livepoll.server").joinpath("static")
        files = {}
        catalogues = {
            f"/{entry.name}": (entry.name, CATALOGUE_TYPE)
            for entry in folder.iterdir()
            if entry.name.endswith(".json")
        }
        for path, (name, content_type) in {**_FILES, **catalogues}.items():
            body = folder.joinpath(name).read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:20]
            files[path] = Asset(body, content_type, gzip.compress(body, 9, mtime=0), f'"{digest}"')
        return cls(files)

    def get(self, path: str) -> Asset | None:
        """The file served at ``path``, or None."""
        if path == "/index.html":
            path = "/"
        return self.files.get(path)
