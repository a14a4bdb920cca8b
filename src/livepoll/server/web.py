"""The server's small HTTP surface, made precise: methods, repeated headers, gzip.

websockets parses any request method and hands the request to ``process_request``;
it refuses every request body itself (a ``Content-Length`` other than 0 or any
``Transfer-Encoding`` closes the connection without an answer). So what reaches
livepoll is a bodiless request with some method, and the rules here decide:

* ``GET`` gets the resource; ``HEAD`` the same status and headers without the body;
  any other method ``405 Method Not Allowed`` with ``Allow``. The WebSocket paths
  allow ``GET`` only (an opening handshake is a GET).
* A header that must appear once (``Host``, ``Origin``, ``Authorization``,
  ``Accept-Encoding``) appearing twice is a malformed request: ``400``, one log line.
  Reading such a header with ``Headers.get`` raises ``MultipleValuesError``, which
  websockets turns into a 500 with a traceback in the log.
* ``Accept-Encoding`` is read with its q-values: ``gzip;q=0`` means "not gzip".
* Every response says ``X-Content-Type-Options: nosniff``, including the plain-text
  errors websockets builds itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from websockets.datastructures import Headers
from websockets.http11 import Response

PAGE_METHODS = ("GET", "HEAD")
"""Methods the page, its files and ``/healthz`` answer."""
WEBSOCKET_METHODS = ("GET",)
"""Methods the WebSocket paths answer: an opening handshake is a GET."""

SINGLE_HEADERS = ("Host", "Origin", "Authorization", "Accept-Encoding")
"""Headers livepoll reads that a well-formed request sends at most once."""

REASONS = {
    200: "OK",
    301: "Moved Permanently",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


def repeated_header(headers: Headers, names: Iterable[str] = SINGLE_HEADERS) -> str | None:
    """The first of ``names`` that ``headers`` carries more than once, or None."""
    for name in names:
        if len(headers.get_all(name)) > 1:
            return name
    return None


def accepts_gzip(value: str) -> bool:
    """Whether an ``Accept-Encoding`` value accepts gzip (RFC 9110, section 12.5.3).

    ``gzip`` or ``x-gzip`` with a q-value above 0 accepts it; so does ``*`` above 0
    when gzip is not named. ``gzip;q=0`` refuses it, and so does a malformed q-value
    (when in doubt, the plain body is always acceptable).
    """
    named: float | None = None
    wildcard: float | None = None
    for item in value.split(","):
        coding, _, parameters = item.partition(";")
        coding = coding.strip().lower()
        quality = _quality(parameters)
        if coding in ("gzip", "x-gzip"):
            named = quality if named is None else max(named, quality)
        elif coding == "*":
            wildcard = quality
    if named is not None:
        return named > 0
    return wildcard is not None and wildcard > 0


def _quality(parameters: str) -> float:
    """The q-value in an Accept-Encoding item's parameters (1 when absent, 0 if bad)."""
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0


def method_not_allowed(allowed: tuple[str, ...]) -> Response:
    """A 405 naming the methods this path answers."""
    body = f"Method not allowed here; use {' or '.join(allowed)}.\n".encode()
    headers = Headers()
    headers["Allow"] = ", ".join(allowed)
    headers["Content-Type"] = "text/plain; charset=utf-8"
    headers["Content-Length"] = str(len(body))
    headers["X-Content-Type-Options"] = "nosniff"
    return Response(405, REASONS[405], headers, body)


def without_body(response: Response) -> Response:
    """The answer to a HEAD: the GET's status and headers (Content-Length included)."""
    return Response(response.status_code, response.reason_phrase, response.headers, b"")


def add_nosniff(response: Response) -> Response:
    """Mark a response ``nosniff`` (once), so no browser guesses its content type."""
    if "X-Content-Type-Options" not in response.headers:
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response
