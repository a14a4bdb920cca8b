"""Event files: a conference's rooms and the programme of decks each room runs.

An event file is TOML beside the decks it names::

    title = "Socitm Spring 2026"
    [[rooms]]
    id = "main-hall"          # in the room's URL: /r/main-hall/
    name = "Main hall"
    join = "open"             # open | code | tickets
    sessions = ["socitm-spring.toml", "digital-leadership.toml"]

It is checked the way a deck is, and reports the same way (``FILE:LINE: path:
message``, every problem at once), so an organiser fixes the whole event, and every
deck in it, in one pass. Each deck is loaded with the deck loader: a deck that is
fine on its own is fine in an event, and a broken one reports its own problems.

This module is pure like :mod:`livepoll.deck`: :func:`from_file` is the one
convenience that opens files (the event and, through the deck loader, its decks).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from livepoll import deck as decks
from livepoll.deck import Deck, DeckError, DeckProblem

JoinMode = Literal["open", "code", "tickets"]
JOIN_MODES: tuple[JoinMode, ...] = ("open", "code", "tickets")
MAX_ROOMS = 100
MAX_ROOM_SESSIONS = 50
MAX_ROOM_NAME_LENGTH = 80
ROOM_ID_RULE = (
    "must be 1-40 lowercase letters (a-z), digits (0-9) or hyphens (-), starting with a "
    'letter or digit, e.g. "main-hall": it is part of the room\'s URL (/r/ID/)'
)

# \Z, not $: "$" also matches before a trailing newline.
_ROOM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}\Z")


def is_room_id(text: str) -> bool:
    """Whether ``text`` may be a room's id (see :data:`ROOM_ID_RULE`); shared with the
    tools that build a room's URL from an id, so they refuse what no event can hold."""
    return bool(_ROOM_ID.match(text))


_EVENT_KEYS = frozenset({"title", "rooms"})
_ROOM_KEYS = frozenset({"id", "name", "join", "sessions"})


@dataclass(frozen=True, slots=True)
class Room:
    """One room of the event and its programme: the decks it runs, in order."""

    id: str
    """Stable, URL-safe identifier: recorded with each session and used in URLs."""
    name: str
    join: JoinMode
    decks: tuple[Deck, ...]
    deck_paths: tuple[str, ...]
    """Where each deck was read from (resolved against the event file's folder)."""


@dataclass(frozen=True, slots=True)
class Event:
    """A validated event: a title and its rooms in the order the file lists them."""

    title: str
    rooms: tuple[Room, ...]
    source: str = field(default="<event>", compare=False)

    def room(self, room_id: str) -> Room | None:
        """The room with this id, or None."""
        for room in self.rooms:
            if room.id == room_id:
                return room
        return None


class EventError(DeckError):
    """Raised when an event cannot be used; carries every problem found, its decks'
    problems included, as :class:`DeckProblem` lines."""


DeckLoader = Callable[[str], Deck]
"""Loads a deck the event names (a path relative to the event file); raises DeckError."""


def is_event(text: str) -> bool:
    """Whether TOML text is an event file (it has ``[[rooms]]``) rather than a deck.

    Text that is not TOML is not an event: the deck checker reports its syntax.
    """
    try:
        raw = decks.parse_toml(text, "")
    except DeckError:
        return False
    return "rooms" in raw


def from_file(path: str | Path) -> Event:
    """Load and validate the event at ``path`` and every deck it names.

    Deck paths are relative to the event file's folder (absolute ones are kept).

    Raises:
        EventError: the event, or a deck it names, cannot be used.
    """
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise EventError([DeckProblem(source, f"cannot read the event: {reason}")]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise EventError([DeckProblem(source, f"not UTF-8 text (byte {error.start})")]) from None
    folder = Path(path).parent

    def load(name: str) -> Deck:
        return decks.from_file(folder / name)

    return from_text(text, source, load, resolve=lambda name: str(folder / name))


def from_text(
    text: str,
    source: str = "<event>",
    load_deck: DeckLoader | None = None,
    *,
    resolve: Callable[[str], str] = str,
) -> Event:
    """Parse and validate an event from TOML text.

    Args:
        text: the TOML.
        source: the name problems are reported under (the file's path).
        load_deck: loads a deck the event names; without it, every deck is missing.
        resolve: where a named deck is read from, as shown in messages and kept in
            :attr:`Room.deck_paths`.
    """
    try:
        raw = decks.parse_toml(text, source)
    except DeckError as error:
        raise EventError(error.problems) from None
    validator = _EventValidator(source, decks.table_lines(text, "rooms"), load_deck, resolve)
    return validator.event(raw)


# The deck's validator knows how to locate a problem and check a line of text; an
# event reuses it so its messages read exactly like a deck's.
class _EventValidator(decks._Validator):  # noqa: SLF001
    def __init__(
        self,
        source: str,
        room_lines: list[int],
        load_deck: DeckLoader | None,
        resolve: Callable[[str], str],
    ) -> None:
        super().__init__(source, room_lines, None)
        self.load_deck = load_deck
        self.resolve = resolve
        self.loaded: dict[str, Deck | None] = {}
        """Each named deck once: a deck in several rooms is read and reported once."""

    def event(self, raw: dict[str, Any]) -> Event:
        for key in sorted(set(raw) - _EVENT_KEYS):
            self.problem(f"unknown key (expected one of: {', '.join(sorted(_EVENT_KEYS))})", key)
        title = None
        if "title" not in raw:
            self.problem("missing; give the event a title", "title")
        else:
            title = self.text(raw["title"], "title", decks.MAX_TITLE_LENGTH)
        rooms: list[Room] = []
        raw_rooms = raw.get("rooms")
        if raw_rooms is None:
            self.problem("missing; add at least one [[rooms]] table", "rooms")
        elif not isinstance(raw_rooms, list) or not all(isinstance(r, dict) for r in raw_rooms):
            self.problem("must be an array of tables, written [[rooms]]", "rooms")
        elif not raw_rooms:
            self.problem("needs at least one room", "rooms")
        elif len(raw_rooms) > MAX_ROOMS:
            self.problem(f"has {len(raw_rooms)}; the limit is {MAX_ROOMS}", "rooms")
        else:
            seen: dict[str, int] = {}
            for index, item in enumerate(raw_rooms):
                room_id, room = self.room(item, index)
                if room_id is not None:
                    if room_id in seen:
                        self.problem(
                            f'duplicate room id "{room_id}" (also rooms[{seen[room_id]}])',
                            f"rooms[{index + 1}].id",
                            index,
                        )
                        room = None
                    else:
                        seen[room_id] = index + 1
                if room is not None:
                    rooms.append(room)
        if self.problems or title is None:
            raise EventError(self.problems)
        return Event(title=title, rooms=tuple(rooms), source=self.source)

    def room(self, raw: dict[str, Any], index: int) -> tuple[str | None, Room | None]:
        """The room's id (None if missing or unfit) and the room (None if it has problems)."""
        path = f"rooms[{index + 1}]"
        before = len(self.problems)
        for key in sorted(set(raw) - _ROOM_KEYS):
            self.problem(
                f"unknown key (expected one of: {', '.join(sorted(_ROOM_KEYS))})",
                f"{path}.{key}",
                index,
            )
        room_id = None
        if "id" not in raw:
            self.problem('missing; a short name for URLs, e.g. "main-hall"', f"{path}.id", index)
        elif not isinstance(raw["id"], str) or not _ROOM_ID.match(raw["id"]):
            self.problem(ROOM_ID_RULE, f"{path}.id", index)
        else:
            room_id = raw["id"]
        name = None
        if "name" not in raw:
            self.problem('missing; the name people read, e.g. "Main hall"', f"{path}.name", index)
        else:
            name = self.text(raw["name"], f"{path}.name", MAX_ROOM_NAME_LENGTH, index)
        join: JoinMode = "open"
        if "join" in raw:
            value = raw["join"]
            if value not in JOIN_MODES:
                shown = repr(value) if isinstance(value, str) else decks._describe(value)  # noqa: SLF001
                self.problem(
                    f"unknown join mode {shown}; one of: {', '.join(JOIN_MODES)}",
                    f"{path}.join",
                    index,
                )
            else:
                join = value
        programme = self.programme(raw, path, index)
        if len(self.problems) > before or room_id is None or name is None or programme is None:
            return room_id, None
        paths, loaded = programme
        return room_id, Room(room_id, name, join, loaded, paths)

    def programme(
        self, raw: dict[str, Any], path: str, index: int
    ) -> tuple[tuple[str, ...], tuple[Deck, ...]] | None:
        """The room's decks, each loaded and checked; None when any is missing or bad."""
        key = f"{path}.sessions"
        if "sessions" not in raw:
            self.problem(
                'missing; list the room\'s decks in order, e.g. ["keynote.toml"]', key, index
            )
            return None
        value = raw["sessions"]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.problem(
                'must be a list of deck files, e.g. ["keynote.toml"], not '
                f"{decks._describe(value)}",  # noqa: SLF001
                key,
                index,
            )
            return None
        if not value:
            self.problem("is empty; list at least one deck for the room's programme", key, index)
            return None
        if len(value) > MAX_ROOM_SESSIONS:
            self.problem(f"has {len(value)} decks; the limit is {MAX_ROOM_SESSIONS}", key, index)
            return None
        paths: list[str] = []
        loaded: list[Deck] = []
        ok = True
        for position, name in enumerate(value):
            deck = self.named_deck(name, f"{key}[{position + 1}]", index)
            if deck is None:
                ok = False
            else:
                paths.append(self.resolve(name))
                loaded.append(deck)
        return (tuple(paths), tuple(loaded)) if ok else None

    def named_deck(self, name: str, path: str, index: int) -> Deck | None:
        """One named deck, loaded once; its problems are reported where first named."""
        if not name.strip():
            self.problem("must be a deck file's path, not empty", path, index)
            return None
        where = self.resolve(name)
        if where in self.loaded:
            found = self.loaded[where]
            if found is None:
                self.problem(f"deck {where} has problems (listed above)", path, index)
            return found
        if self.load_deck is None:
            self.loaded[where] = None
            self.problem(f"deck {where} cannot be read here", path, index)
            return None
        try:
            deck = self.load_deck(name)
        except DeckError as error:
            self.loaded[where] = None
            unreadable = [p for p in error.problems if p.message.startswith("cannot read")]
            if unreadable and len(error.problems) == 1:
                reason = unreadable[0].message.removeprefix("cannot read the deck: ")
                self.problem(f"missing deck {where}: {reason}", path, index)
                return None
            count = len(error.problems)
            self.problem(
                f"deck {where} is not valid ({count} problem{'s' if count != 1 else ''} follow)",
                path,
                index,
            )
            self.problems.extend(error.problems)
            return None
        self.loaded[where] = deck
        return deck
