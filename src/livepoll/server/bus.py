"""The port between a room's owner and the phones it does not hold itself.

A server alone holds every phone of its room: it hears their messages on its own
audience channel and broadcasts to them itself, and this port is unused (nothing of
Redis is imported). A room owner on Redis (``livepoll serve DECK --redis URL``) also
has phones on gateways, other processes that may be on other machines; the owner
reaches them through a :class:`PhoneRelay`, so ``server.app`` stays unaware of how.
One adapter exists today, :class:`livepoll.server.owner.RedisRelay`; another
transport would be another class here, chosen at start-up, as harlequin chooses a
database adapter.

Names for the Redis keys of a room live here too, so gateways and owners agree on
them without importing each other.
"""

from __future__ import annotations

from typing import Protocol

CLOSE_PREFIX = "!close "
"""A broadcast starting with this is an order to gateways (close every phone, for the
reason after it), not a frame for phones: frames are JSON and start with ``{``."""
RESEND_PREFIX = "!resend "
"""A broadcast starting with this tells gateways that an owner (re)started: phones with
messages still unanswered reconnect, so that they resend them. A restarted owner may
have committed them and died before publishing their acks; it does not read them
again, so without the resend those phones would wait for acks forever."""
DEFAULT_ROOM = "default"
"""The room id of a plain ``livepoll serve DECK`` (an event server names its rooms)."""


class PhoneRelay(Protocol):
    """What the room's server needs from phones held elsewhere."""

    @property
    def phones(self) -> int:
        """Phones that said hello on every gateway, as last reported."""
        ...

    def send_to_phones(self, message: str) -> None:
        """Broadcast an encoded frame (state, results, a notice) to every phone."""
        ...

    def close_phones(self, reason: str) -> None:
        """Close every phone's connection (they reconnect and say hello anew)."""
        ...


class RoomKeys:
    """The Redis keys of one room: every key carries the room id, so rooms never mix.

    * ``inbound``: a stream of phone messages, written by gateways, read by the owner.
    * ``replies(gateway)``: a pub/sub channel of acks and per-phone frames for one
      gateway's phones, published by the owner after the commit.
    * ``broadcast``: a pub/sub channel of frames for every phone of the room.
    * ``lease``: the owner's lease (one owner per room).
    * ``phones``: a hash of phone counts per gateway, for the chair's turnout.
    """

    def __init__(self, room: str, prefix: str = "livepoll") -> None:
        self.room = room
        base = f"{prefix}:{room}:"
        self.inbound = base + "in"
        self.broadcast = base + "all"
        self.lease = base + "owner"
        self.phones = base + "phones"
        self._replies = base + "to:"

    def replies(self, gateway: str) -> str:
        """The reply channel of one gateway."""
        return self._replies + gateway
