"""The organiser's control room: one live row per room of an event server.

``livepoll control URL`` follows the event server's ``/control`` channel (the
organiser's token) and shows, per room, what the room's projector shows and how it
is doing: deck and place in the programme, the question on screen, whether voting
is open, phones, answers in the last minute, whether the chair's console is
attached; and, once for the event, the health of the storage.

The server pushes the rooms' summary about once a second and only when it changed,
and the summary messages merge in the queue, so the rows are redrawn at the
channel's rate whatever arrives; a redraw touches only the cells that changed.

From a row the organiser opens that room's console, in control or watching
(read-only): the control room suspends itself and runs ``livepoll present`` as a
child in the same terminal, with the organiser's token in the child's environment
(never on its command line, where ``ps`` shows it), and comes back when that
console quits. The other command, moving a room to its next session, goes over the
control channel after a dialog that names the next deck.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SuspendNotSupported, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from livepoll.presenter_token import TOKEN_ENV
from livepoll.protocol import (
    EventSummary,
    ProtocolError,
    RoomSummary,
    decode_event_frame,
    encode_control_command,
)
from livepoll.tui.link import (
    MAX_FRAME,
    LinkDown,
    LinkUnavailable,
    LinkUp,
    ReconnectingSocket,
    channel_url,
)
from livepoll.tui.screens import (
    HelpScreen,
    KeyHelp,
    LinkStatus,
    NextSessionScreen,
    gateway_line,
)

logger = logging.getLogger(__name__)

CONTROL_PATH = "control"
"""The control channel's path, below the event server's base URL."""

COLUMNS = (
    ("room", "Room"),
    ("deck", "Deck"),
    ("session", "Session"),
    ("question", "On screen"),
    ("voting", "Voting"),
    ("phones", "Phones"),
    ("answers", "Answers 1 min"),
    ("chair", "Chair console"),
)
"""The table's columns: key and heading."""

VOTING_WORDS = {"pending": "waiting", "open": "OPEN", "closed": "closed"}
"""Voting on the question on screen, in words (a colour alone is lost on some screens)."""


def room_cells(room: RoomSummary) -> dict[str, str]:
    """The text of one room's row, by column key."""
    return {
        "room": room.name or room.id,
        "deck": room.deck,
        "session": f"{room.position} of {room.length}",
        "question": f"Q{room.index + 1}/{room.count} {room.question}",
        "voting": VOTING_WORDS.get(room.status, room.status),
        "phones": str(room.phones),
        "answers": str(room.answers_last_minute),
        "chair": "attached" if room.chair_attached else "not attached",
    }


def room_details(room: RoomSummary) -> str:
    """The line under the table about the selected room: where phones join, and what
    comes next in its programme."""
    following = (
        f"next session: {room.next_title}"
        if room.next_title is not None
        else "last session of its programme"
    )
    return f"{room.name or room.id} · join: {room.url} · {following} · session #{room.session}"


def storage_line(problem: str | None) -> str:
    """The event's storage health, in words."""
    if problem is None:
        return "Storage: healthy, every answer is being saved"
    return f"⚠  STORAGE PROBLEM: {problem} — answers may not be saved"


def console_command(room_url: str, *, watch: bool) -> list[str]:
    """The command that opens a room's console in this terminal: ``livepoll present``
    of the room's URL, read-only with ``watch``. No token: it goes in the environment
    (:func:`console_environment`)."""
    command = [sys.executable, "-m", "livepoll", "present", room_url]
    if watch:
        command.append("--watch")
    return command


def console_environment(token: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child console's environment: this one, with the organiser's token as the
    presenter token (which opens every room of the event)."""
    environment = dict(os.environ if base is None else base)
    environment[TOKEN_ENV] = token
    return environment


# -- the link ----------------------------------------------------------------------------


class ControlLink(ReconnectingSocket[EventSummary | ProtocolError]):
    """The event server's control channel, kept up with the console's backoff.

    Args:
        url: the event server's base URL (``https://host/``) or control URL.
        token: the organiser's token.
        rng: randomness for the backoff jitter (a seeded one in tests).
    """

    token_name = "organiser token ('livepoll tokens EVENT --db FILE' prints it)"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        rng: random.Random | None = None,
        max_size: int = MAX_FRAME,
    ) -> None:
        super().__init__(channel_url(url, CONTROL_PATH), token, rng=rng, max_size=max_size)

    def decode(self, frame: str | bytes) -> EventSummary | ProtocolError | None:
        """A control frame; None for one this version cannot read (skipped: the next
        summary, a second later, carries everything)."""
        try:
            return decode_event_frame(frame)
        except ProtocolError as error:
            logger.warning("ignored a frame from the server: %s", error.message)
        except Exception:
            logger.exception("ignored a frame from the server that could not be decoded")
        return None


# -- messages ----------------------------------------------------------------------------


@dataclass
class SummaryReceived(Message, bubble=False):
    """The server sent the rooms' summary."""

    summary: EventSummary

    def can_replace(self, message: Message) -> bool:
        """A newer summary makes an unprocessed older one pointless."""
        return isinstance(message, SummaryReceived)


@dataclass
class ControlLinkChanged(Message, bubble=False):
    """The control link went up or down (``detail`` says why it is down)."""

    connected: bool
    detail: str = ""


@dataclass
class ControlRefused(Message, bubble=False):
    """The server answered a command with an error frame."""

    code: str
    message: str


# -- the screen --------------------------------------------------------------------------


class ControlScreen(Screen[None]):
    """The rooms, one row each, with the event's title, link and storage lines."""

    summary: reactive[EventSummary | None] = reactive(None, init=False)
    """The newest summary of the event's rooms; None until the first arrives."""

    link: reactive[LinkStatus] = reactive(LinkStatus("offline"), init=False)
    """Whether the control channel is up; drives the reconnecting banner."""

    def __init__(self) -> None:
        super().__init__()
        self._drawn: dict[str, dict[str, str]] = {}
        """Room id → the cells on screen, so a summary redraws only what changed."""

    def compose(self) -> ComposeResult:
        """Title bar, banners, the table of rooms, the selected room's line, keys."""
        yield Static(id="event-title")
        yield Static(id="link-banner", classes="banner")
        yield Static(id="storage")
        yield Static(id="gateways", classes="banner")
        table: DataTable[str] = DataTable(id="rooms", cursor_type="row", zebra_stripes=True)
        for key, heading in COLUMNS:
            table.add_column(heading, key=key)
        yield table
        yield Static(id="room-details")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Draw whatever the app already knew before this screen existed."""
        self._show_link(self.link)
        self._show_summary(self.summary)

    @contextlib.contextmanager
    def _drawing(self) -> Iterator[bool]:
        """Yields whether there is anything to draw on (see MainScreen's twin): a
        widget can only be missing before mounting or while the app closes."""
        with contextlib.suppress(NoMatches):
            yield self.is_mounted

    def watch_summary(self, summary: EventSummary | None) -> None:
        """Redraw the rows that changed."""
        with self._drawing() as ready:
            if ready:
                self._show_summary(summary)

    def watch_link(self, link: LinkStatus) -> None:
        """Show or hide the link banner."""
        with self._drawing() as ready:
            if ready:
                self._show_link(link)

    def _show_link(self, link: LinkStatus) -> None:
        banner = self.query_one("#link-banner", Static)
        banner.display = link.phase in ("connecting", "down")
        banner.set_class(link.phase == "down", "-down")
        if link.phase == "connecting":
            banner.update(Text("Connecting to the event server…"))
        elif link.phase == "down":
            message = "⚠  No link to the event server — reconnecting…"
            if link.detail:
                message += f"  ({link.detail})"
            banner.update(Text(message))

    def _show_summary(self, summary: EventSummary | None) -> None:
        title = self.query_one("#event-title", Static)
        storage = self.query_one("#storage", Static)
        gateways = self.query_one("#gateways", Static)
        table: DataTable[str] = self.query_one("#rooms", DataTable)
        if summary is None:
            title.update(Text("livepoll control room · waiting for the event's rooms…"))
            storage.update("")
            gateways.display = False
            return
        rooms = len(summary.rooms)
        title.update(
            Text(f"{summary.title} · control room · {rooms} room{'s' if rooms != 1 else ''}")
        )
        storage.update(Text(storage_line(summary.storage_problem)))
        storage.set_class(summary.storage_problem is not None, "-problem")
        gateways.display = summary.gateway_problem is not None
        if summary.gateway_problem is not None:
            gateways.update(Text(gateway_line(summary.gateway_problem) + "."))
        wanted = [room.id for room in summary.rooms]
        if list(self._drawn) != wanted:
            # Rooms came or went (another event on the same address): start afresh.
            table.clear()
            self._drawn = {}
            for room in summary.rooms:
                cells = room_cells(room)
                table.add_row(*(cells[key] for key, _ in COLUMNS), key=room.id)
                self._drawn[room.id] = cells
        else:
            for room in summary.rooms:
                cells = room_cells(room)
                drawn = self._drawn[room.id]
                for key, _ in COLUMNS:
                    if drawn[key] != cells[key]:
                        table.update_cell(room.id, key, cells[key])
                self._drawn[room.id] = cells
        self._show_details()

    def selected_room(self) -> RoomSummary | None:
        """The room under the table's cursor; None before the first summary."""
        summary = self.summary
        if summary is None or not summary.rooms:
            return None
        row = self.query_one("#rooms", DataTable).cursor_row
        return summary.rooms[min(max(row, 0), len(summary.rooms) - 1)]

    @on(DataTable.RowHighlighted)
    def _show_details(self) -> None:
        """The line under the table follows the cursor."""
        room = self.selected_room()
        details = self.query_one("#room-details", Static)
        details.update(Text(room_details(room)) if room is not None else "")


RoomOpener = Callable[[list[str], dict[str, str]], int]
"""Runs a room's console (command, environment) to its end; returns its exit status."""

_KEY_HELP = {
    "open_console": ("Open the room's console", "in control; quit it to come back here"),
    "watch_console": ("Watch the room's console", "read-only: its keys change nothing"),
    "next_session": ("Next session", "the room's next deck starts, after you confirm"),
    "help": ("Help", "these keys"),
    "quit": ("Quit", "the rooms run on; only this view closes"),
}


class ControlApp(App[None]):
    """The organiser's control room.

    Args:
        url: the event server's base URL (``https://host/``).
        token: the organiser's token.
        rng: randomness for the backoff jitter (a seeded one in tests).
        open_room: runs a room's console; by default in this terminal, with the
            control room suspended meanwhile.
    """

    CSS_PATH = ["presenter.tcss", "control.tcss"]
    TITLE = "livepoll control room"
    COMMAND_PALETTE_BINDING = "ctrl+p"

    BINDINGS = [
        # Before the table's own enter (which only selects), so the footer lists it.
        Binding("enter", "open_console", "Open console", key_display="⏎", priority=True),
        Binding("w", "watch_console", "Watch"),
        Binding("n", "next_session", "Next session"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    summary: reactive[EventSummary | None] = reactive(None, init=False)
    """The newest summary of the event's rooms."""

    link: reactive[LinkStatus] = reactive(LinkStatus("offline"), init=False)
    """Whether the control channel is up."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        rng: random.Random | None = None,
        open_room: RoomOpener | None = None,
    ) -> None:
        super().__init__()
        self.control_link = ControlLink(url, token, rng=rng)
        """The event server's control channel."""
        self._token = token
        self._open_room = open_room or self._run_in_this_terminal
        self._main = ControlScreen()

    def get_default_screen(self) -> Screen[None]:
        """The rooms screen, kept so summaries can be drawn on it at any time."""
        return self._main

    def on_mount(self) -> None:
        """Start following the control channel."""
        self.link = LinkStatus("connecting")
        self._follow_link()

    # -- the link ----------------------------------------------------------------------

    @work(exclusive=True, group="control-link", exit_on_error=False)
    async def _follow_link(self) -> None:
        """Turn each event of the control link into a message, for as long as the app
        runs (an async worker on the app's loop, like the console's link)."""
        async for event in self.control_link.events():
            if isinstance(event, EventSummary):
                self.post_message(SummaryReceived(event))
            elif isinstance(event, ProtocolError):
                self.post_message(ControlRefused(event.code, event.message))
            elif isinstance(event, LinkUp):
                self.post_message(ControlLinkChanged(connected=True))
            elif isinstance(event, LinkDown):
                self.post_message(ControlLinkChanged(connected=False, detail=event.detail))

    @on(SummaryReceived)
    def _summary_received(self, message: SummaryReceived) -> None:
        self.summary = message.summary

    @on(ControlLinkChanged)
    def _link_changed(self, message: ControlLinkChanged) -> None:
        self.link = LinkStatus("up") if message.connected else LinkStatus("down", message.detail)

    @on(ControlRefused)
    def _refused(self, message: ControlRefused) -> None:
        self.notify(message.message, title="The server refused", severity="error", markup=False)

    # -- drawing -----------------------------------------------------------------------

    def watch_summary(self, summary: EventSummary | None) -> None:
        """Hand the summary to the screen, which redraws the rows that changed."""
        self._main.summary = summary

    def watch_link(self, link: LinkStatus) -> None:
        """Hand the link status to the screen (for its banner)."""
        self._main.link = link

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        """A click on the selected row opens its console, like enter."""
        self.action_open_console()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The rooms' keys work on the rooms' screen only: enter in a dialog is the
        dialog's, not "open a console"."""
        if action in ("open_console", "watch_console", "next_session"):
            return self.screen is self._main
        return True

    def selected_room(self) -> RoomSummary | None:
        """The room under the table's cursor; None before the first summary."""
        return self._main.selected_room()

    # -- the organiser's keys ----------------------------------------------------------

    def action_open_console(self) -> None:
        """Run the selected room's console in control, here; back when it quits."""
        self._open_console(watch=False)

    def action_watch_console(self) -> None:
        """Run the selected room's console read-only, here; back when it quits."""
        self._open_console(watch=True)

    def _open_console(self, *, watch: bool) -> None:
        room = self.selected_room()
        if room is None:
            self.notify("No rooms yet: wait for the event server.", severity="warning")
            return
        status = self._open_room(
            console_command(room.url, watch=watch), console_environment(self._token)
        )
        if status != 0:
            self.notify(
                f"The console of {room.name} ended with status {status}.",
                severity="warning",
                markup=False,
            )

    def _run_in_this_terminal(self, command: list[str], environment: dict[str, str]) -> int:
        """Hand the terminal to ``command`` until it ends.

        The app's loop waits meanwhile (nothing may draw over the child's screen); the
        control channel catches up, or reconnects, once the console quits.
        """
        try:
            with self.suspend():
                return subprocess.run(command, env=environment, check=False).returncode
        except SuspendNotSupported:
            self.notify(
                "This terminal cannot be handed to a room's console; run "
                "'livepoll present ROOM-URL' in another one.",
                severity="error",
            )
            return 0

    def action_next_session(self) -> None:
        """Ask, naming the next deck, then move the selected room on; a room on its
        last session is said to be so without asking."""
        room = self.selected_room()
        if room is None or isinstance(self.screen, NextSessionScreen):
            return
        if room.next_title is None:
            self.notify(
                f"{room.name} is on the last session of its programme "
                f"({room.position} of {room.length}): there is no next deck.",
                title="Last session",
                markup=False,
            )
            return
        self.push_screen(
            NextSessionScreen(room.name, room.deck, room.next_title),
            functools.partial(self._next_session_answered, room.id),
        )

    async def _next_session_answered(self, room_id: str, move_on: bool | None) -> None:
        if not move_on:
            return
        try:
            await self.control_link.send(encode_control_command("next_session", room_id))
        except LinkUnavailable as error:
            self.notify(str(error), severity="warning", markup=False)

    def keys(self) -> list[KeyHelp]:
        """The control room's keys, for the help screen and the palette."""
        listed: list[KeyHelp] = []
        for binding in Binding.make_bindings(self.BINDINGS):
            if binding.action in (key.action for key in listed):
                continue
            title, line = _KEY_HELP[binding.action]
            display = binding.key_display or self.get_key_display(binding)
            if binding.action == "help":
                display = "? F1"
            listed.append(KeyHelp(display, binding.action, title, line))
        return listed

    def action_help(self) -> None:
        """Show the keys (``?``, F1 or esc closes it)."""
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        self.push_screen(HelpScreen(self.keys()))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette offers the same keys by name."""
        for key in self.keys():
            if key.action != "help":
                yield SystemCommand(
                    f"{key.title} ({key.keys})",
                    key.line,
                    functools.partial(self.run_action, key.action),
                )
        yield SystemCommand("Keys", "The control room's keys (? or F1)", self.action_help)


def make_control_app(
    url: str,
    token: str,
    *,
    open_room: RoomOpener | None = None,
    rng: random.Random | None = None,
) -> ControlApp:
    """The control room of the event server at ``url``, with the organiser's ``token``.

    The one factory the CLI, the Pilot tests and the README's picture share.
    """
    return ControlApp(url, token, open_room=open_room, rng=rng)
