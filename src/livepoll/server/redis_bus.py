"""Reaching Redis: where it is, how to log in, and what to say when it cannot be done.

Only the gateways and a room owner started with ``--redis`` import this module (and
with it the ``redis`` package, the optional extra ``livepoll[redis]``); a server
alone never does.

The password (or an ACL user's password) comes from ``$LIVEPOLL_REDIS_PASSWORD`` or
a file, never from the command line, which every user of the machine can read in
``ps``: a URL with a password in it is refused. The user name is not a secret and may
be in the URL (``redis://livepoll@10.0.0.5:6379/0``) or in
``$LIVEPOLL_REDIS_USERNAME``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, RedisError, ResponseError

PASSWORD_ENV = "LIVEPOLL_REDIS_PASSWORD"
USERNAME_ENV = "LIVEPOLL_REDIS_USERNAME"
CONNECT_TIMEOUT = 3.0
"""Seconds to wait for Redis to answer a connection: an unreachable Redis is reported
at start-up rather than after the kernel's much longer TCP timeout."""


class RedisSetupError(Exception):
    """Redis cannot be used as configured; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Where Redis is and who to log in as; the password is never in ``url``."""

    url: str
    username: str | None = None
    password: str | None = None

    @property
    def where(self) -> str:
        """The server named in messages (host and port, never credentials)."""
        parts = urlsplit(self.url)
        if parts.scheme == "unix":
            return parts.path
        return f"{parts.hostname}:{parts.port or 6379}"

    @classmethod
    def from_options(
        cls,
        url: str,
        password_file: Path | None = None,
        environment: dict[str, str] | None = None,
    ) -> RedisSettings:
        """Settings from ``--redis URL``, ``--redis-password-file`` and the environment.

        Raises:
            RedisSetupError: a password in the URL, an unknown scheme, or a password
                file that cannot be read.
        """
        env = os.environ if environment is None else environment
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise RedisSetupError(
                f"--redis takes a redis://, rediss:// or unix:// URL, not {url!r}"
            )
        if parts.password is not None:
            raise RedisSetupError(
                "the Redis URL has a password in it, which every user of this machine can "
                f"read in 'ps': put it in ${PASSWORD_ENV} or a file (--redis-password-file)"
            )
        username = parts.username or env.get(USERNAME_ENV) or None
        clean = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        password = env.get(PASSWORD_ENV) or None
        if password_file is not None:
            try:
                password = password_file.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as error:
                raise RedisSetupError(
                    f"cannot read the Redis password file {password_file}: {error}"
                ) from None
            if not password:
                raise RedisSetupError(f"the Redis password file {password_file} is empty")
        return cls(clean, username, password)

    def client(self, *, retry: bool = True) -> aioredis.Redis:
        """A client (a pool of connections) answering text, logging in on each.

        Without ``retry`` a dropped connection is an error at once: the client would
        otherwise reconnect and resubscribe by itself, and a gateway would never learn
        that the replies published meanwhile were lost (see ``server.gateway``).
        """
        extra: dict[str, Any] = {} if retry else {"retry": Retry(NoBackoff(), 0)}
        return aioredis.Redis.from_url(
            self.url,
            username=self.username,
            password=self.password,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT,
            health_check_interval=5,
            **extra,
        )


def explain(error: RedisError, settings: RedisSettings) -> str:
    """One clear sentence for a Redis failure, naming the server, never the password."""
    where = settings.where
    text = str(error)
    if isinstance(error, AuthenticationError) or text.startswith(("WRONGPASS", "NOAUTH")):
        who = f"user {settings.username!r}" if settings.username else "the default user"
        if settings.password is None:
            return (
                f"Redis at {where} needs a password for {who}: set ${PASSWORD_ENV} or "
                "give --redis-password-file"
            )
        return (
            f"Redis at {where} refused the password for {who}: check ${PASSWORD_ENV} "
            "or the password file"
        )
    if isinstance(error, ResponseError) and text.startswith("NOPERM"):
        return f"Redis at {where} does not let this user do what livepoll needs: {text}"
    return f"cannot reach Redis at {where}: {text or type(error).__name__}"


async def connect(settings: RedisSettings, *, retry: bool = True) -> aioredis.Redis:
    """A client that has logged in and answered a PING (see :meth:`RedisSettings.client`
    for ``retry``).

    Raises:
        RedisSetupError: Redis is unreachable or refused the login (said plainly).
    """
    client = settings.client(retry=retry)
    try:
        await client.ping()
    except RedisError as error:
        await client.aclose()
        raise RedisSetupError(explain(error, settings)) from None
    except OSError as error:
        await client.aclose()
        raise RedisSetupError(f"cannot reach Redis at {settings.where}: {error}") from None
    return client
