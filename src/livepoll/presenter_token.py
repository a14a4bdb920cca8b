"""The presenter token: strong enough not to be guessed, and kept out of ``ps``.

The token controls the session, so it must not be guessable at any rate: at least
128 bits. A token's strength is judged by its length and the smallest usual alphabet
its characters fit (digits, hexadecimal, base64url, printable ASCII): a chair's
"042" is 10 bits and is refused, 22 base64url characters (what ``livepoll serve``
makes itself) are 132. This is a floor, not a measure: "aaaa…" passes it, which is
why livepoll's own tokens are random.

A token on a command line is visible to every user of the machine in ``ps``. So
``serve`` and ``present`` also read it from the environment (LIVEPOLL_PRESENTER_TOKEN,
readable only by the same user) or from a file (``--token-file``), and ``livepoll
run`` hands it to its server through the environment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import os
import string
from pathlib import Path

TOKEN_ENV = "LIVEPOLL_PRESENTER_TOKEN"
"""The environment variable that carries the presenter token."""
ORGANISER_TOKEN_ENV = "LIVEPOLL_ORGANISER_TOKEN"
"""The environment variable that carries an event's organiser token (the control room)."""
MIN_TOKEN_BITS = 128
"""Tokens weaker than this are refused."""
MAX_TOKEN_FILE_BYTES = 4096
"""A token file is a token, not a document."""

_BASE64URL = string.ascii_letters + string.digits + "-_"
_ALPHABETS = tuple(
    (name, frozenset(characters))
    for name, characters in (
        ("digits", string.digits),
        ("hexadecimal digits", "0123456789abcdef"),
        ("hexadecimal digits", "0123456789ABCDEF"),
        ("base64url characters", _BASE64URL),
        ("printable ASCII characters", "".join(chr(c) for c in range(0x21, 0x7F))),
    )
)
"""Smallest first: a token is judged by the first one that holds all its characters."""


class TokenError(Exception):
    """A presenter token that cannot be used; the message says why and what to do."""


def token_bits(token: str) -> float:
    """The strength a token's length can give at most, by the smallest alphabet it fits.

    Raises:
        TokenError: it holds characters an HTTP header cannot carry (spaces, controls,
            non-ASCII).
    """
    for _, alphabet in _ALPHABETS:
        if set(token) <= alphabet:
            return len(token) * math.log2(len(alphabet))
    raise TokenError(
        "the presenter token may hold only printable ASCII characters "
        "(no spaces, no control characters)"
    )


def check_token(token: str) -> str:
    """``token`` if it is strong enough.

    Raises:
        TokenError: it is under MIN_TOKEN_BITS or holds unusable characters.
    """
    bits = token_bits(token)
    if bits < MIN_TOKEN_BITS:
        kind = next(name for name, alphabet in _ALPHABETS if set(token) <= alphabet)
        raise TokenError(
            f"the presenter token is too weak: {len(token)} {kind} give at most "
            f"{bits:.0f} bits, and at least {MIN_TOKEN_BITS} are needed (for example 22 "
            "base64url characters: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(16))'); or leave it out and livepoll makes one"
        )
    return token


def read_token_file(path: Path) -> str:
    """The token in a file (surrounding whitespace and a final newline ignored).

    Raises:
        TokenError: the file cannot be read, is empty or is too large to be a token.
    """
    try:
        with path.open("rb") as file:
            data = file.read(MAX_TOKEN_FILE_BYTES + 1)
    except OSError as error:
        raise TokenError(f"cannot read the token file {path}: {error.strerror}") from error
    if len(data) > MAX_TOKEN_FILE_BYTES:
        raise TokenError(f"{path} is too large to be a token file")
    try:
        token = data.decode("ascii").strip()
    except UnicodeDecodeError as error:
        raise TokenError(f"{path}: a token file holds ASCII characters only") from error
    if not token:
        raise TokenError(f"the token file {path} is empty")
    return token


def chosen_token(
    option: str | None, file: Path | None, environment: str = TOKEN_ENV
) -> tuple[str, str] | None:
    """The token the chair gave, and where from (``--token``, the file, or the
    ``environment`` variable), checked; None when none was given.

    Raises:
        TokenError: the token given is unusable or too weak.
    """
    if option is not None:
        return check_token(option), "--token"
    if file is not None:
        return check_token(read_token_file(file)), "file"
    from_environment = os.environ.get(environment)
    if from_environment:
        return check_token(from_environment.strip()), "environment"
    return None


def derived_token(secret: bytes, purpose: str) -> str:
    """A token for ``purpose`` (a room's presenter, a room's screen, the organiser),
    derived from the database's secret.

    An event server's tokens are not stored anywhere: the same database always gives
    the same tokens, so ``livepoll tokens`` can print them again (the day before, or
    after a restart) and a restarted server keeps every console's token valid. 192 bits
    of HMAC-SHA256 output, in base64url; whoever can read the database file (0600, the
    organiser's) can derive them, as they can read every answer in it.
    """
    digest = hmac.new(secret, b"livepoll token\0" + purpose.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()
