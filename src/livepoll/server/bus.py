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

import json
from typing import Protocol

CLOSE_PREFIX = "!close "
"""A broadcast starting with this is an order to gateways (close every phone, for the
reason after it), not a frame for phones: frames are JSON and start with ``{``."""
RESTART_PREFIX = "!restart "
"""A broadcast starting with this tells gateways to close every phone with "service
restart" (1012), as the server closes its own when the room moves to its next session:
the page reconnects at once and says hello to the new session."""
RESEND_PREFIX = "!resend "
"""A broadcast starting with this tells gateways that an owner (re)started: phones with
messages still unanswered reconnect, so that they resend them. A restarted owner may
have committed them and died before publishing their acks; it does not read them
again, so without the resend those phones would wait for acks forever."""
DEFAULT_ROOM = "default"
"""The room id of a plain ``livepoll serve DECK`` (an event server names its rooms)."""


EVENT_KEY = "livepoll:event"
"""The rooms of the event whose owner uses this Redis: its title and each room's id and
name, as JSON (see :func:`encode_rooms`), written by ``serve EVENT.toml --redis`` when
it starts. A gateway started without ``--room`` reads it to serve every room."""


class RoomsListing:
    """An event's title and rooms (id → name, in the event file's order), as gateways
    need them to route phones and list the rooms, without the event's decks."""

    def __init__(self, title: str, rooms: dict[str, str]) -> None:
        self.title = title
        self.rooms = rooms

    def encode(self) -> str:
        """The listing as the JSON text kept at :data:`EVENT_KEY`."""
        return json.dumps(
            {"title": self.title, "rooms": [[room, name] for room, name in self.rooms.items()]}
        )

    @classmethod
    def decode(cls, text: str) -> RoomsListing:
        """The listing kept at :data:`EVENT_KEY`.

        Raises:
            ValueError: the text is not a listing (written by something else).
        """
        raw = json.loads(text)
        if not isinstance(raw, dict) or not isinstance(raw.get("title"), str):
            raise ValueError(f"{EVENT_KEY} does not hold an event's rooms")
        rooms: dict[str, str] = {}
        for item in raw.get("rooms", []):
            if not (
                isinstance(item, list)
                and len(item) == 2
                and all(isinstance(part, str) for part in item)
            ):
                raise ValueError(f"{EVENT_KEY} does not hold an event's rooms")
            rooms[item[0]] = item[1]
        if not rooms:
            raise ValueError(f"{EVENT_KEY} names no rooms")
        return cls(raw["title"], rooms)


class PhoneRelay(Protocol):
    """What the room's server needs from phones held elsewhere."""

    @property
    def phones(self) -> int:
        """Phones that said hello on every gateway, as last reported."""
        ...

    @property
    def problem(self) -> str | None:
        """Why the phones held elsewhere cannot reach the room now (the transport is
        down), in one sentence for the chair and the health check; None while they can."""
        ...

    def send_to_phones(self, message: str) -> None:
        """Broadcast an encoded frame (state, results, a notice) to every phone."""
        ...

    def close_phones(self, reason: str) -> None:
        """Close every phone's connection (they reconnect and say hello anew)."""
        ...

    def restart_phones(self, reason: str) -> None:
        """Close every phone's connection as a service restart (the room moved on)."""
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
