"""The presenter console: a Textual app that is a client of the livepoll server.

The server owns the session; this app only draws the state its link delivers and
sends the chair's keys back as presenter commands. It never polls and never
computes results itself, so a slow repaint here cannot lose or delay a vote, and
quitting it leaves the session running.

The link (:mod:`livepoll.tui.link`) is either the live server's presenter channel
or a replay of a past session; one async worker reads its events and turns each
into a message. State messages merge in the queue (``can_replace``) so a burst is
drawn once.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable, Sequence
from typing import Any

from textual import on, work
from textual.actions import parse as parse_action
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from livepoll.protocol import (
    PresenterState,
    ProtocolError,
    Welcome,
    encode_command,
)
from livepoll.tui.link import (
    LinkDown,
    LinkUnavailable,
    LinkUp,
    PresenterLink,
    ReplayLink,
    WebSocketLink,
)
from livepoll.tui.messages import LinkChanged, ServerRefused, StateReceived, WelcomeReceived
from livepoll.tui.screens import (
    HelpScreen,
    JoinScreen,
    KeyHelp,
    LeaderboardScreen,
    LinkStatus,
    MainScreen,
    NextSessionScreen,
    QuitScreen,
    RotateChoice,
    RotateScreen,
    join_details,
)
from livepoll.tui.themes import DESCRIPTIONS, LIGHT, THEMES, ThemeChoice
from livepoll.tui.views import (
    PageTurn,
    QaAction,
    cursor_after,
    moderation_items,
    move_cursor,
    page_turn,
)

_MOVING = frozenset({"next", "previous", "quit", "help", "show_help"})
"""The only keys a read-only replay offers: a past session can be stepped through (and
its keys listed), not run."""

_SET_ASIDE_WHILE_MODERATING = frozenset({"toggle_results", "join_screen"})

_TWINS = {
    "show_help": "help",
    "show_join_screen": "join_screen",
    "press_next_session": "next_session",
}
"""Keys that work where their footer twin is left out for room: listed once, as the twin."""

_WATCHING_ALLOWS = frozenset({"page"})
"""The only command a watching console sends: turning its own moderation page (the
server allows it; it changes nothing for the room)."""

WATCHING_REFUSAL = "This console is watching, read-only: its keys do not change the room."

_MODERATION = {"approve": "visible", "hide": "hidden", "answered": "answered"}
"""The chair's moderation keys and the item state each one asks the server for."""

FOOTER_WIDTH = 80
"""The footer's keys must fit an 80-column terminal; ``? Help`` is shown only if it fits."""

_KEY_HELP = {
    "toggle_voting": ("Open or close voting", "on the question on screen"),
    "next": ("Next question", "voting closes on the one you leave"),
    "previous": ("Previous question", "voting closes on the one you leave"),
    "toggle_results": ("Show or hide results", "on the projector and on the phones"),
    "join_screen": ("Join screen", "the QR code and the address as large as they fit"),
    "quit": ("Quit", "asks first while voting is open"),
    "extend": ("More time", "15 more seconds on the running timer"),
    "rotate_code": ("New room code", "the old one keeps working for a short while"),
    "start_moderating": ("Moderate the Q&A", "a cursor on the questions, waiting ones first"),
    "cursor(-1)": ("Cursor up", "the question above"),
    "cursor(1)": ("Cursor down", "the question below"),
    "moderate('approve')": ("Approve", "the question under the cursor: the room sees it"),
    "moderate('hide')": ("Hide", "the question under the cursor: off the screen and phones"),
    "moderate('answered')": ("Mark answered", "the question under the cursor"),
    "stop_moderating": ("Stop moderating", "back to the room's view"),
    "leaderboard": ("Quiz leaderboard", "the top 10 full screen, after a quiz closes"),
    "next_session": ("Next session", "ends this deck; the room's next one starts, phones follow"),
    "help": ("Help", "the keys that apply now"),
}
"""Each key's title and a line on what it does, for the help screen and the palette."""


def _same_question(old: PresenterState, new: PresenterState) -> bool:
    """Whether two states show the same question of the same session: in an event room
    the next deck may reuse a question id, and nothing of the old deck may stay."""
    return (
        old.question.id == new.question.id
        and old.title == new.title
        and old.programme == new.programme
    )


def _board_applies(state: PresenterState | None) -> bool:
    """Whether the quiz leaderboard is worth showing: a quiz whose voting has closed."""
    return state is not None and state.question.type == "quiz" and state.status == "closed"


class PresenterApp(App[None]):
    """The session chair's console.

    Args:
        url: the server's base URL (``http://host:port/``) or presenter URL, for a
            live link; ignored when ``link`` is given.
        token: the presenter secret, sent as a bearer token.
        rng: randomness for the backoff jitter (a seeded one in tests).
        link: where the session lives (a live server or a replay). With neither
            ``url`` nor ``link`` the app runs offline, drawing only what
            :meth:`apply_welcome` and :meth:`apply_state` are given (snapshot
            tests, previews).
    """

    CSS_PATH = "presenter.tcss"
    TITLE = "livepoll"
    COMMAND_PALETTE_BINDING = "ctrl+p"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    BINDINGS = [
        # Short descriptions: all of them must fit the footer of an 80-column terminal.
        Binding("space", "toggle_voting", "Open/close"),
        Binding("n,right", "next", "Next", key_display="n →"),
        Binding("p,left", "previous", "Prev", key_display="p ←"),
        Binding("r", "toggle_results", "Results"),
        Binding("j", "join_screen", "Join"),
        Binding("q", "quit", "Quit"),
        # Shown only when they apply (see check_action): a running timer, a room code,
        # a Q&A with questions to moderate.
        Binding("t", "extend", "+time"),
        Binding("c", "rotate_code", "New code"),
        Binding("s", "segment", "Split"),
        Binding("up,down", "start_moderating", "Moderate", key_display="↑↓"),
        # While moderating, the same keys move the cursor (the first enabled binding wins).
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("a", "moderate('approve')", "Approve"),
        Binding("h", "moderate('hide')", "Hide"),
        Binding("x", "moderate('answered')", "Answered"),
        Binding("escape", "stop_moderating", "Done", key_display="esc"),
        # After a quiz closes: its leaderboard full screen.
        Binding("l", "leaderboard", "Leaders"),
        # In an event room: end this session and start the programme's next deck (in the
        # footer when there is room, working always: press_next_session).
        Binding("e", "next_session", "Next deck"),
        Binding("e", "press_next_session", "Next deck", show=False),
        # Help: in the footer when there is room (not while moderating), working always.
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("question_mark,f1", "show_help", "Help", key_display="? F1", show=False),
        # The join screen comes back at any time, also while moderating (out of the footer).
        Binding("j", "show_join_screen", "Join", show=False),
    ]

    state: reactive[PresenterState | None] = reactive(None, init=False)
    """The newest session state from the server."""

    welcome: reactive[Welcome | None] = reactive(None, init=False)
    """The server's greeting, with the join URL and database path."""

    link: reactive[LinkStatus] = reactive(LinkStatus("offline"), init=False)
    """Whether commands can reach the server right now."""

    qa_cursor: reactive[int | None] = reactive(None, init=False)
    """The Q&A item the chair's cursor is on, by id; None when not moderating."""

    def __init__(
        self,
        url: str | None = None,
        token: str = "",
        *,
        rng: random.Random | None = None,
        link: PresenterLink | None = None,
        stops_server: bool = False,
        theme: ThemeChoice = "dark",
    ) -> None:
        super().__init__()
        self.register_theme(LIGHT)
        self.theme = THEMES[theme]
        self.stops_server = stops_server
        """Whether quitting also stops the server (``livepoll run``), for the quit dialog."""
        if link is None and url is not None:
            link = WebSocketLink(url, token, rng=rng)
        self.session_link = link
        """Where the session lives; None when running offline."""
        self.read_only = link.read_only if link is not None else None
        """Set when showing a past session: what it is (shown on screen); None when live."""
        self.watching = isinstance(link, WebSocketLink) and link.watching
        """The console watches a live room (``present --watch``): its keys change nothing."""
        self._main = MainScreen()
        self._main.read_only = self.read_only
        self._main.watching = self.watching
        self._turning: PageTurn | None = None
        """The moderation page asked for and where the cursor lands on it, until it comes."""

    @property
    def presenter_url(self) -> str | None:
        """The live server's presenter channel, if this console is attached to one."""
        link = self.session_link
        return link.url if isinstance(link, WebSocketLink) else None

    def get_default_screen(self) -> Screen[None]:
        """The console screen, kept so state can be handed to it at any time."""
        return self._main

    def on_mount(self) -> None:
        """Start following the link (unless running offline)."""
        if self.session_link is not None:
            self.link = LinkStatus("connecting")
            self._follow_link(self.session_link)

    # -- what the screens show -------------------------------------------------------

    def apply_state(self, state: PresenterState) -> None:
        """Show ``state`` as if the server had sent it (used offline, and by the link)."""
        self.state = state

    def apply_welcome(self, welcome: Welcome) -> None:
        """Use ``welcome`` as if the server had sent it (used offline, and by the link)."""
        self.welcome = welcome

    def watch_state(self, old: PresenterState | None, state: PresenterState | None) -> None:
        """Hand the new state to the screens, and update which keys apply."""
        if state is None or old is None or not _same_question(old, state):
            # Moderation belongs to one Q&A: moving on ends it.
            self.qa_cursor = None
            self._turning = None
        elif self.qa_cursor is not None:
            items = moderation_items(state)
            turning = self._turning
            if turning is not None and state.qa is not None and state.qa.offset == turning[0]:
                self._turning = None
                ids = [int(item["id"]) for item in items]
                if ids:
                    self.qa_cursor = ids[0] if turning[1] == "first" else ids[-1]
            elif all(item["id"] != self.qa_cursor for item in items):
                self.qa_cursor = move_cursor(items, None, 0)
        self._main.state = state
        self._update_join_screens()
        self._update_leaderboard(state)
        self.refresh_bindings()

    def watch_welcome(self, welcome: Welcome | None) -> None:
        """Hand the join URL and database path to the screens that show them."""
        if welcome is not None and welcome.read_only:
            # The server says it watches, whatever this console asked for.
            self.watching = True
            self._main.watching = True
        self._main.welcome = welcome
        self._update_join_screens()

    def watch_qa_cursor(self, cursor: int | None) -> None:
        """Show the moderation list (or the room's view) with the cursor where it is."""
        self._main.qa_cursor = cursor
        self.refresh_bindings()

    def _update_join_screens(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, JoinScreen):
                screen.join = join_details(self.welcome, self.state)

    def _update_leaderboard(self, state: PresenterState | None) -> None:
        """The board follows its quiz, and leaves the screen when the chair moves on."""
        for screen in self.screen_stack:
            if isinstance(screen, LeaderboardScreen):
                if _board_applies(state) and screen.state is not None and state is not None:
                    if _same_question(state, screen.state):
                        screen.state = state
                        continue
                if screen is self.screen:
                    screen.dismiss()

    def watch_link(self, link: LinkStatus) -> None:
        """Hand the link status to the console screen (for its banner)."""
        self._main.link = link

    # -- the link ----------------------------------------------------------------------

    @work(exclusive=True, group="presenter-link", exit_on_error=False)
    async def _follow_link(self, link: PresenterLink) -> None:
        """Turn each event of the link into a message, for as long as the app runs.

        An async worker on the app's loop (not a thread): the live link's websockets
        client must live on the loop that uses it. Only cancellation ends it.
        """
        async for event in link.events():
            if isinstance(event, PresenterState):
                self.post_message(StateReceived(event))
            elif isinstance(event, Welcome):
                self.post_message(WelcomeReceived(event))
            elif isinstance(event, ProtocolError):
                self.post_message(ServerRefused(event.code, event.message))
            elif isinstance(event, LinkUp):
                self.post_message(LinkChanged(connected=True))
            elif isinstance(event, LinkDown):
                self.post_message(
                    LinkChanged(connected=False, detail=event.detail, retry_in=event.retry_in)
                )

    @on(StateReceived)
    def _state_received(self, message: StateReceived) -> None:
        self.apply_state(message.state)

    @on(WelcomeReceived)
    def _welcome_received(self, message: WelcomeReceived) -> None:
        if message.welcome != self.welcome:
            # Said once per server (not again on every reconnect to the same one).
            for notice in message.welcome.notices:
                self.notify(notice, title="Server", timeout=10, markup=False)
        self.apply_welcome(message.welcome)

    @on(LinkChanged)
    def _link_changed(self, message: LinkChanged) -> None:
        if message.connected:
            self.link = LinkStatus("up")
        else:
            self.link = LinkStatus("down", message.detail)

    @on(ServerRefused)
    def _server_refused(self, message: ServerRefused) -> None:
        self.notify(message.message, title="The server refused", severity="error", markup=False)

    # -- the chair's keys --------------------------------------------------------------

    async def _send(
        self,
        action: str,
        *,
        item: int | None = None,
        item_state: str | None = None,
        offset: int | None = None,
    ) -> None:
        """Send a command; the screen changes only when the server's state says so."""
        link = self.session_link
        if self.watching and action not in _WATCHING_ALLOWS:
            self._say_watching()
            return
        if link is None:
            self.notify(
                "Not connected to the server: the key had no effect.",
                severity="warning",
                markup=False,
            )
            return
        try:
            await link.send(encode_command(action, item=item, state=item_state, offset=offset))
        except LinkUnavailable as error:
            self.notify(str(error), severity="warning", markup=False)

    def _say_watching(self) -> None:
        """Tell the organiser the key did nothing, and why."""
        self.notify(WATCHING_REFUSAL, title="Watching", severity="warning", markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer each key only where it applies, so the footer fits 80 columns.

        "More time" only while a timer runs, "new code" only in room-code mode, the
        moderation keys only on a Q&A (approve, hide and answered while moderating),
        and in a read-only replay only the keys that move between questions.
        """
        state = self.state
        if self.read_only is not None and action not in _MOVING:
            return False
        if action == "extend":
            return state is not None and state.time_left is not None
        if action == "segment":
            return state is not None and state.can_segment
        if action == "rotate_code":
            return state is not None and state.join is not None and state.join.mode == "code"
        if action == "start_moderating":
            return (
                self.qa_cursor is None
                and state is not None
                and state.qa is not None
                and state.qa.total > 0
            )
        if action in ("cursor", "moderate", "stop_moderating"):
            return self.qa_cursor is not None
        if action == "leaderboard":
            return _board_applies(state)
        if action == "press_next_session":
            return state is not None and state.programme is not None
        if action == "next_session":
            # In the footer only when it has room (before help); e works always.
            return (
                state is not None
                and state.programme is not None
                and self._footer_width(without={"next_session", "help"}) + len(" e Next deck")
                <= FOOTER_WIDTH
            )
        if action == "help":
            # In the footer only when it has room; ? and F1 work always (show_help).
            return self._footer_width(without={"help"}) + len(" ? Help") <= FOOTER_WIDTH
        if action in _SET_ASIDE_WHILE_MODERATING:
            # The moderation keys need the footer's room; esc gives these back.
            return self.qa_cursor is None
        return True

    async def action_extend(self) -> None:
        """Give the running timer more time (the server decides how much)."""
        await self._send("extend")

    def action_rotate_code(self) -> None:
        """Ask how to replace the room code, then do it (see RotateScreen)."""
        if self.watching:
            self._say_watching()
            return
        if isinstance(self.screen, RotateScreen):
            return
        self.push_screen(RotateScreen(), self._rotate_answered)

    async def _rotate_answered(self, choice: RotateChoice | None) -> None:
        """Keep: the old code works for a short grace period and admitted phones stay.
        Re-admit: the old code stops at once and every phone must enter the new one."""
        if choice == "keep":
            await self._send("rotate_code")
        elif choice == "readmit":
            await self._send("rotate_code_readmit")

    def action_next_session(self) -> None:
        """End this session and start the programme's next deck, once the chair confirms
        in a dialog naming it; on the last session, say so instead."""
        state = self.state
        if state is None or state.programme is None:
            return
        if self.watching:
            self._say_watching()
            return
        programme = state.programme
        if programme.next_title is None:
            self.notify(
                f"“{state.title}” is the last session of the programme in {programme.room} "
                f"({programme.position} of {programme.length}): there is no next deck.",
                title="Last session",
                markup=False,
            )
            return
        if isinstance(self.screen, NextSessionScreen):
            return
        self.push_screen(
            NextSessionScreen(programme.room, state.title, programme.next_title),
            self._next_session_answered,
        )

    async def _next_session_answered(self, move_on: bool | None) -> None:
        if move_on:
            await self._send("next_session")

    async def action_segment(self) -> None:
        """Split the results by an earlier question's answers; again for the next one,
        and after the last (or the deck's declared one) back to the plain view."""
        await self._send("segment")

    async def action_toggle_voting(self) -> None:
        """Open voting on the current question, or close it."""
        await self._send("toggle_voting")

    async def action_next(self) -> None:
        """Move to the next question (the server closes voting on this one)."""
        await self._send("next")

    async def action_previous(self) -> None:
        """Move back to the previous question."""
        await self._send("previous")

    async def action_toggle_results(self) -> None:
        """Show or hide the bars, on the projector and on the phones."""
        await self._send("toggle_results")

    async def action_start_moderating(self) -> None:
        """Show the Q&A items page by page, waiting ones first, with the cursor on the first."""
        state = self.state
        if state is None or state.qa is None:
            return
        items = moderation_items(state)
        if state.qa.offset != 0 or not items:
            # Start from the top of the queue: the first page, where waiting items are.
            self._turning = (0, "first")
            await self._send("page", offset=0)
        self.qa_cursor = move_cursor(items, None, 0)

    async def action_cursor(self, step: int) -> None:
        """Move the moderation cursor ``step`` items down (up when negative); past the
        end or the start of the page, ask the server for the next or previous page."""
        state = self.state
        if state is None:
            return
        turn = page_turn(state, self.qa_cursor, step)
        if turn is not None:
            self._turning = turn
            await self._send("page", offset=turn[0])
            return
        self.qa_cursor = move_cursor(moderation_items(state), self.qa_cursor, step)

    async def action_moderate(self, key: QaAction) -> None:
        """Approve, hide or mark answered the item under the cursor.

        The cursor moves on to the next item at once, so a queue is worked through
        with one key per question; the item's new state shows when the server says so.
        """
        item = self.qa_cursor
        if item is None or self.state is None:
            return
        self.qa_cursor = cursor_after(moderation_items(self.state), item)
        await self._send("moderate", item=item, item_state=_MODERATION[key])

    def action_stop_moderating(self) -> None:
        """Back to the room's view of the Q&A: waiting and hidden questions leave the screen."""
        self.qa_cursor = None

    def action_join_screen(self) -> None:
        """Show the join code full screen (the join screen's own ``j`` comes back)."""
        if isinstance(self.screen, JoinScreen):
            self.screen.dismiss()
            return
        screen = JoinScreen()
        screen.join = join_details(self.welcome, self.state)
        self.push_screen(screen)

    def action_leaderboard(self) -> None:
        """Show the quiz leaderboard full screen (its own ``l`` comes back)."""
        if isinstance(self.screen, LeaderboardScreen):
            self.screen.dismiss()
            return
        if not _board_applies(self.state):
            return
        screen = LeaderboardScreen()
        screen.state = self.state
        self.push_screen(screen)

    def _footer_width(self, without: set[str]) -> int:
        """Columns the footer's keys take (``key description`` each, a space between),
        leaving out the actions ``without`` (the ones shown only if they still fit)."""
        width = -1
        seen: set[str] = set()
        for binding in Binding.make_bindings(self.BINDINGS):
            _, name, parameters = parse_action(binding.action)
            if not binding.show or name in without or binding.action in seen:
                continue
            if self.check_action(name, parameters):
                seen.add(binding.action)
                key = binding.key_display or self.get_key_display(binding)
                width += len(key) + 1 + len(binding.description) + 1
        return width

    def keys_that_apply(self) -> list[KeyHelp]:
        """The console's keys that do something now, in the footer's order, once each."""
        keys: list[KeyHelp] = []
        seen: set[str] = set()
        for binding in Binding.make_bindings(self.BINDINGS):
            _, name, parameters = parse_action(binding.action)
            action = _TWINS.get(name, binding.action)
            if action in seen or not self.check_action(name, parameters):
                continue
            seen.add(action)
            title, line = _KEY_HELP.get(action, (binding.description, ""))
            display = binding.key_display or self.get_key_display(binding)
            keys.append(KeyHelp(display, action, title, line))
        return keys

    def action_help(self) -> None:
        """Show the keys that apply now (``?``, F1 or esc closes it)."""
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        screen_url = self.welcome.screen_url if self.welcome is not None else ""
        self.push_screen(HelpScreen(self.keys_that_apply(), screen_url))

    def action_show_join_screen(self) -> None:
        """The join screen, from ``j`` where the footer has no room to offer it."""
        self.action_join_screen()

    def action_press_next_session(self) -> None:
        """The same next session, from ``e`` when the footer has no room to offer it."""
        self.action_next_session()

    def action_show_help(self) -> None:
        """The same help, from ``?`` or F1 when the footer has no room to offer it."""
        self.action_help()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p) offers what the keys do now, under their names."""
        for key in self.keys_that_apply():
            if key.action == "help":
                continue
            yield SystemCommand(
                f"{key.title} ({key.keys})",
                key.line,
                functools.partial(self.run_action, key.action),
            )
        yield SystemCommand("Keys", "The keys that apply now (? or F1)", self.action_help)
        for choice, name in THEMES.items():
            if name != self.theme:
                yield SystemCommand(
                    f"Theme: {choice}",
                    DESCRIPTIONS[choice],
                    functools.partial(self.use_theme, choice),
                )

    def use_theme(self, choice: ThemeChoice) -> None:
        """Switch to the ``dark`` or ``light`` theme, live."""
        self.theme = THEMES[choice]

    async def action_quit(self) -> None:
        """Quit, asking first while voting is open (the room would lose its bars)."""
        if isinstance(self.screen, QuitScreen):
            return
        if (
            self.state is not None
            and self.state.status == "open"
            and self.read_only is None
            and not self.watching
        ):
            self.push_screen(QuitScreen(stops_server=self.stops_server), self._quit_answered)
            return
        self.exit()

    def _quit_answered(self, quit_app: bool | None) -> None:
        if quit_app:
            self.exit()


def make_app(
    url: str,
    token: str,
    *,
    stops_server: bool = False,
    theme: ThemeChoice = "dark",
    watch: bool = False,
) -> PresenterApp:
    """The console connected to the server at ``url`` (``http://host:port/``);
    ``stops_server`` when quitting it ends the server too (``livepoll run``);
    ``watch`` to look at the room read-only (an event's organiser).

    The one factory the CLI, the Pilot tests and previews share.
    """
    return PresenterApp(
        link=WebSocketLink(url, token, watch=watch), stops_server=stops_server, theme=theme
    )


def make_replay_app(
    states: Sequence[PresenterState],
    welcome: Welcome,
    read_only: str,
    *,
    start: int = 0,
    theme: ThemeChoice = "dark",
) -> PresenterApp:
    """The console showing a past session read-only: one state per question, steppable."""
    return PresenterApp(link=ReplayLink(states, welcome, read_only, start=start), theme=theme)
