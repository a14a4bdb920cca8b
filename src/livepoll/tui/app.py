"""The presenter console: a Textual app that is a client of the livepoll server.

The server owns the session; this app only draws the state the server pushes over
the presenter WebSocket and sends the chair's keys back as commands. It never
polls and never computes results itself, so a slow repaint here cannot lose or
delay a vote, and quitting it leaves the session running.

The link lives in one async worker that reconnects forever with capped, jittered
backoff. Each frame becomes a message; state messages merge in the queue
(``can_replace``) so a burst is drawn once.
"""

from __future__ import annotations

import asyncio
import logging
import random

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from livepoll.protocol import (
    PresenterState,
    ProtocolError,
    Welcome,
    decode_presenter_frame,
    encode_command,
)
from livepoll.tui.link import presenter_url, reconnect_delay
from livepoll.tui.messages import LinkChanged, ServerRefused, StateReceived, WelcomeReceived
from livepoll.tui.screens import (
    JoinScreen,
    LinkStatus,
    MainScreen,
    QuitScreen,
    join_details,
)

logger = logging.getLogger(__name__)

OPEN_TIMEOUT = 5.0
"""Seconds to wait for the handshake: a dead host should not block the retry loop."""

PING_INTERVAL = 2.0
"""Keepalive pings, so a silently dead link (Wi-Fi gone) is noticed within seconds."""

PING_TIMEOUT = 4.0


class PresenterApp(App[None]):
    """The session chair's console.

    Args:
        url: the server's base URL (``http://host:port/``) or presenter URL; None
            runs without a server, drawing only what :meth:`apply_welcome` and
            :meth:`apply_state` are given (snapshot tests, previews).
        token: the presenter secret, sent as a bearer token.
        rng: randomness for the backoff jitter (a seeded one in tests).
    """

    CSS_PATH = "presenter.tcss"
    TITLE = "livepoll"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    BINDINGS = [
        # Short descriptions: all of them must fit the footer of an 80-column terminal.
        Binding("space", "toggle_voting", "Open/close"),
        Binding("n,right", "next", "Next", key_display="n →"),
        Binding("p,left", "previous", "Prev", key_display="p ←"),
        Binding("r", "toggle_results", "Results"),
        Binding("j", "join_screen", "Join"),
        Binding("q", "quit", "Quit"),
        # Shown only when they apply (see check_action): a running timer, a room code.
        Binding("t", "extend", "+time"),
        Binding("c", "rotate_code", "New code"),
    ]

    state: reactive[PresenterState | None] = reactive(None, init=False)
    """The newest session state from the server."""

    welcome: reactive[Welcome | None] = reactive(None, init=False)
    """The server's greeting, with the join URL and database path."""

    link: reactive[LinkStatus] = reactive(LinkStatus("offline"), init=False)
    """Whether commands can reach the server right now."""

    def __init__(
        self,
        url: str | None = None,
        token: str = "",
        *,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__()
        self.presenter_url = presenter_url(url) if url is not None else None
        """Where the presenter channel lives; None when running offline."""
        self._token = token
        self._rng = rng or random.Random()
        self._socket: ClientConnection | None = None
        self._main = MainScreen()

    def get_default_screen(self) -> Screen[None]:
        """The console screen, kept so state can be handed to it at any time."""
        return self._main

    def on_mount(self) -> None:
        """Start the link to the server (unless running offline)."""
        if self.presenter_url is not None:
            self.link = LinkStatus("connecting")
            self._maintain_link()

    # -- what the screens show -------------------------------------------------------

    def apply_state(self, state: PresenterState) -> None:
        """Show ``state`` as if the server had sent it (used offline, and by the link)."""
        self.state = state

    def apply_welcome(self, welcome: Welcome) -> None:
        """Use ``welcome`` as if the server had sent it (used offline, and by the link)."""
        self.welcome = welcome

    def watch_state(self, state: PresenterState | None) -> None:
        """Hand the new state to the screens, and update which keys apply."""
        self._main.state = state
        self._update_join_screens()
        self.refresh_bindings()

    def watch_welcome(self, welcome: Welcome | None) -> None:
        """Hand the join URL and database path to the screens that show them."""
        self._main.welcome = welcome
        self._update_join_screens()

    def _update_join_screens(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, JoinScreen):
                screen.join = join_details(self.welcome, self.state)

    def watch_link(self, link: LinkStatus) -> None:
        """Hand the link status to the console screen (for its banner)."""
        self._main.link = link

    # -- the link ----------------------------------------------------------------------

    @work(exclusive=True, group="presenter-link", exit_on_error=False)
    async def _maintain_link(self) -> None:
        """Stay connected to the presenter channel for as long as the app runs.

        Runs on the app's event loop (an async worker, not a thread): websockets'
        asyncio client must live on the loop that uses it. Each attempt's failure
        is reported, waited out with backoff, and retried; only cancellation (the
        app exiting) ends it.
        """
        assert self.presenter_url is not None
        attempt = 0
        while True:
            detail = "connection closed"
            try:
                async with connect(
                    self.presenter_url,
                    additional_headers={"Authorization": f"Bearer {self._token}"},
                    open_timeout=OPEN_TIMEOUT,
                    ping_interval=PING_INTERVAL,
                    ping_timeout=PING_TIMEOUT,
                    max_size=2**20,
                ) as socket:
                    self._socket = socket
                    attempt = 0
                    self.post_message(LinkChanged(connected=True))
                    async for frame in socket:
                        self._dispatch(frame)
            except InvalidStatus as error:
                status = error.response.status_code
                if status in (401, 403):
                    detail = f"the server refused the presenter token (HTTP {status})"
                else:
                    detail = f"the server answered HTTP {status}"
            except (OSError, TimeoutError, InvalidHandshake) as error:
                detail = _describe(error)
            except ConnectionClosed:
                detail = "connection lost"
            except Exception as error:  # the console must keep trying, whatever broke
                logger.exception("presenter link failed")
                detail = f"unexpected error: {error}"
            finally:
                self._socket = None
            delay = reconnect_delay(attempt, self._rng)
            attempt += 1
            self.post_message(LinkChanged(connected=False, detail=detail, retry_in=delay))
            await asyncio.sleep(delay)

    def _dispatch(self, frame: str | bytes) -> None:
        """Turn one server frame into a message for the app's queue."""
        try:
            decoded = decode_presenter_frame(frame)
        except ProtocolError as error:
            # A frame this version cannot read: skip it rather than drop the link,
            # the next state frame carries everything again.
            logger.warning("ignored a frame from the server: %s", error.message)
            return
        if isinstance(decoded, PresenterState):
            self.post_message(StateReceived(decoded))
        elif isinstance(decoded, Welcome):
            self.post_message(WelcomeReceived(decoded))
        else:
            self.post_message(ServerRefused(decoded.code, decoded.message))

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

    async def _send(self, action: str) -> None:
        """Send a command; the screen changes only when the server's state says so."""
        socket = self._socket
        if socket is None:
            self.notify(
                "Not connected to the server: the key had no effect.",
                severity="warning",
                markup=False,
            )
            return
        try:
            await socket.send(encode_command(action))
        except ConnectionClosed:
            self.notify(
                "The link dropped before the command was sent; try again once reconnected.",
                severity="warning",
                markup=False,
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer "more time" only while a timer runs, "new code" only in room-code mode.

        Hidden bindings keep the footer short enough for an 80-column projector.
        """
        state = self.state
        if action == "extend":
            return state is not None and state.time_left is not None
        if action == "rotate_code":
            return state is not None and state.join is not None and state.join.mode == "code"
        return True

    async def action_extend(self) -> None:
        """Give the running timer more time (the server decides how much)."""
        await self._send("extend")

    async def action_rotate_code(self) -> None:
        """Replace the room code (the old one keeps working for a short grace period)."""
        await self._send("rotate_code")

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

    def action_join_screen(self) -> None:
        """Show the join code full screen (the join screen's own ``j`` comes back)."""
        if isinstance(self.screen, JoinScreen):
            self.screen.dismiss()
            return
        screen = JoinScreen()
        screen.join = join_details(self.welcome, self.state)
        self.push_screen(screen)

    async def action_quit(self) -> None:
        """Quit, asking first while voting is open (the room would lose its bars)."""
        if isinstance(self.screen, QuitScreen):
            return
        if self.state is not None and self.state.status == "open":
            self.push_screen(QuitScreen(), self._quit_answered)
            return
        self.exit()

    def _quit_answered(self, quit_app: bool | None) -> None:
        if quit_app:
            self.exit()


def _describe(error: BaseException) -> str:
    """A short reason for the banner, e.g. 'connection refused'."""
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


def make_app(url: str, token: str) -> PresenterApp:
    """The console connected to the server at ``url`` (``http://host:port/``).

    The one factory the CLI, the Pilot tests and previews share.
    """
    return PresenterApp(url=url, token=token)
