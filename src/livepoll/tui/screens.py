"""The presenter's screens: the console, the full-screen join code, the quiz
leaderboard, and the quit check.

Screens only draw what the app hands them (a :class:`~livepoll.protocol.PresenterState`,
a :class:`~livepoll.protocol.Welcome` and the link status); the app owns the
connection and the key bindings that talk to the server.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Digits, Footer, Label, Static

from livepoll.protocol import PresenterState, Programme, Welcome
from livepoll.tui.bars import ResultsBars
from livepoll.tui.bigtext import BigParagraph, BigText, display_form
from livepoll.tui.cloud import WordCloud
from livepoll.tui.crosstab import CrossTabView
from livepoll.tui.leaderboard import LeaderboardTable, standings
from livepoll.tui.qr import QRCode, fit_qr
from livepoll.tui.room import join_is_large, prompt_rows, strip_shows_code
from livepoll.tui.views import ResultsView, results_view

LinkPhase = Literal["offline", "connecting", "up", "down"]
"""``offline``: no server configured (snapshots); ``down``: lost, reconnecting."""


def gateway_line(problem: str) -> str:
    """What the chair and the organiser read while the gateways' phones are cut off
    (the owner cannot reach Redis): what happens to those votes, and what to do."""
    return (
        f"⚠  PHONES ON GATEWAYS CUT OFF: {problem} — their votes wait on the phones "
        "and are sent once Redis answers again"
    )


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """Where the presenter link stands, and why it is down when it is."""

    phase: LinkPhase
    detail: str = ""


# Short: with the results chip and a timer they must fit the question pane at 80 columns.
_VOTING_LABELS = {
    "pending": "○ WAITING",
    "open": "● VOTING OPEN",
    "closed": "■ VOTING CLOSED",
}


# A past session: its questions were either asked (their results are final) or not.
_PAST_LABELS = {
    "pending": "○ NOT ASKED",
    "open": "■ FINAL",
    "closed": "■ FINAL",
}


def format_seconds(seconds: float) -> str:
    """A countdown as ``m:ss``, rounded up so it reads 0:00 only when time is up."""
    whole = max(0, math.ceil(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def programme_line(programme: Programme) -> str:
    """Where an event's room is in its programme, for the console's title bar:
    ``Session 1 of 2 · next: Closing`` (``· last`` on the last session)."""
    where = f"Session {programme.position} of {programme.length}"
    if programme.next_title is None:
        return f"{where} · last"
    return f"{where} · next: {programme.next_title}"


def join_details(
    welcome: Welcome | None, state: PresenterState | None
) -> tuple[str, str, str | None]:
    """(URL for the QR code, URL for people to type, room code or None).

    The state's join info wins over the welcome's: in room-code mode its URL
    carries the current code (which the chair can rotate), so a scan needs no
    typing, while people typing get the bare address and the code shown beside it.
    """
    base = welcome.join_url if welcome else ""
    join = state.join if state else None
    if join is None:
        return base, base, None
    return join.url, base or join.url.split("?", 1)[0], join.room_code


class MainScreen(Screen[None]):
    """The console on the projector: question, live bars, counters and the join code."""

    state: reactive[PresenterState | None] = reactive(None, init=False)
    """The latest session state from the server; None until the first arrives."""

    welcome: reactive[Welcome | None] = reactive(None, init=False)
    """The server's greeting (join URL, database path); None until it arrives."""

    link: reactive[LinkStatus] = reactive(LinkStatus("offline"), init=False)
    """Whether the presenter link is up; drives the reconnecting banner."""

    qa_cursor: reactive[int | None] = reactive(None, init=False)
    """The Q&A item under the chair's moderation cursor; None shows the room's view."""

    read_only: reactive[str | None] = reactive(None, init=False)
    """Set when a past session is shown: what it is. No join panel, no phones."""

    watching: reactive[bool] = reactive(False, init=False)
    """The console watches a live room it does not run (``present --watch``)."""

    def compose(self) -> ComposeResult:
        """Lay out the console; the stylesheet sizes it for small and large screens."""
        yield Static(id="read-only-banner", classes="banner")
        yield Static(id="watch-banner", classes="banner")
        yield Static(id="link-banner", classes="banner")
        yield Static(id="storage-banner", classes="banner")
        yield Static(id="gateway-banner", classes="banner")
        with Horizontal(id="top-bar"):
            yield Static(id="deck-title")
            yield Static(id="programme")
            yield Static(id="position")
        with Horizontal(id="body"):
            with Vertical(id="question-pane"):
                with Horizontal(id="state-row"):
                    yield Label(id="voting-state")
                    yield Label(id="results-state")
                    yield Label(id="timer")
                yield BigParagraph(id="prompt", room=prompt_rows)
                yield ResultsBars(id="results")
                yield WordCloud(id="cloud")
                yield CrossTabView(id="crosstab")
                with Horizontal(id="counters"):
                    yield Digits("0", id="answers")
                    yield Label("answers", id="answers-label", classes="counter-label")
                    yield Digits("0", id="phones")
                    yield Label("phones\nconnected", id="phones-label", classes="counter-label")
                yield Static(id="session-info")
            with Vertical(id="join-panel"):
                yield QRCode(id="join-qr", max_scale=3, caption="Scan to vote")
                yield BigText(id="join-big-url", max_scale=2, max_rows=6)
                yield Static(id="join-url")
                yield Static(id="room-code")
        # Once results are on screen, the join shrinks to this strip (room.join_is_large).
        with Horizontal(id="join-strip"):
            yield QRCode(id="strip-qr", max_scale=1)
            with Vertical(id="strip-text"):
                yield BigText(id="strip-big-url", max_scale=2, max_rows=6)
                yield Static(id="strip-url")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Draw whatever the app already knew before this screen existed."""
        self._show_read_only(self.read_only)
        self._show_watching(self.watching)
        self._show_state(self.state)
        self._show_welcome(self.welcome)
        self._show_link(self.link)

    @contextlib.contextmanager
    def _drawing(self) -> Iterator[bool]:
        """Yields whether there is anything to draw on: not before the screen is mounted.

        A widget of this screen can only be missing while the app is closing (they
        are removed one by one while the server may still be sending states): that
        last frame is dropped rather than crashing the exit.
        """
        with contextlib.suppress(NoMatches):
            yield self.is_mounted

    def watch_state(self, state: PresenterState | None) -> None:
        """Redraw the question, bars and counters (at most ~10 times a second)."""
        with self._drawing() as ready:
            if ready:
                self._show_state(state)

    def watch_qa_cursor(self) -> None:
        """Switch between the room's view of a Q&A and the chair's moderation list."""
        with self._drawing() as ready:
            if ready and self.state is not None:
                self._show_results(results_view(self.state, self.qa_cursor))

    def watch_read_only(self, read_only: str | None) -> None:
        """Say which past session is shown, and drop what only a live session has."""
        with self._drawing() as ready:
            if ready:
                self._show_read_only(read_only)
                self._show_state(self.state)
                self._show_welcome(self.welcome)

    def _show_read_only(self, read_only: str | None) -> None:
        banner = self.query_one("#read-only-banner", Static)
        banner.display = read_only is not None
        banner.update(Text(read_only or ""))
        self.set_class(read_only is not None, "-read-only")

    def watch_watching(self, watching: bool) -> None:
        """Say that this console watches and changes nothing."""
        with self._drawing() as ready:
            if ready:
                self._show_watching(watching)

    def _show_watching(self, watching: bool) -> None:
        banner = self.query_one("#watch-banner", Static)
        banner.display = watching
        banner.update(
            Text("WATCHING — READ-ONLY: this console shows the room; its keys change nothing")
        )

    def watch_welcome(self, welcome: Welcome | None) -> None:
        """Redraw the join panel and the session line."""
        with self._drawing() as ready:
            if ready:
                self._show_welcome(welcome)

    def watch_link(self, link: LinkStatus) -> None:
        """Show or hide the link banner."""
        with self._drawing() as ready:
            if ready:
                self._show_link(link)

    def _show_state(self, state: PresenterState | None) -> None:
        title = self.query_one("#deck-title", Static)
        position = self.query_one("#position", Static)
        voting = self.query_one("#voting-state", Label)
        results_label = self.query_one("#results-state", Label)
        prompt = self.query_one("#prompt", BigParagraph)
        storage = self.query_one("#storage-banner", Static)
        gateways = self.query_one("#gateway-banner", Static)
        programme = self.query_one("#programme", Static)
        programme.display = state is not None and state.programme is not None
        if state is None:
            title.update(Text("livepoll"))
            position.update("")
            prompt.text = "Waiting for the session state from the server…"
            voting.update("")
            results_label.update("")
            self.query_one("#timer", Label).display = False
            self._show_results(None)
            self._show_crosstab(None)
            storage.display = False
            gateways.display = False
            return
        title.update(Text(state.title))
        if state.programme is not None:
            programme.update(Text(programme_line(state.programme)))
        position.update(Text(f"Question {state.index + 1} / {state.count}"))
        labels = _VOTING_LABELS if self.read_only is None else _PAST_LABELS
        voting.update(labels[state.status])
        for status in _VOTING_LABELS:
            voting.set_class(status == state.status, f"-{status}")
        results_label.update("results shown" if state.results_shown else "results hidden")
        results_label.set_class(state.results_shown, "-shown")
        results_label.set_class(not state.results_shown, "-hidden")
        prompt.text = state.question.prompt
        timer = self.query_one("#timer", Label)
        timer.display = state.time_left is not None
        if state.time_left is not None:
            timer.update(format_seconds(state.time_left))
            timer.set_class(state.time_left <= 10, "-ending")
        self._show_results(results_view(state, self.qa_cursor))
        self._show_crosstab(state)
        self._show_join()
        self.query_one("#answers", Digits).update(str(state.respondents))
        self.query_one("#answers-label", Label).update(
            "answer" if state.respondents == 1 else "answers"
        )
        self.query_one("#phones", Digits).update(str(state.phones))
        self.query_one("#phones-label", Label).update(
            "phone\nconnected" if state.phones == 1 else "phones\nconnected"
        )
        storage.display = bool(state.storage_problem)
        if state.storage_problem:
            storage.update(
                Text.assemble(
                    "⚠  STORAGE PROBLEM: ",
                    state.storage_problem,
                    " — answers may not be saved; tell the organiser.",
                )
            )
        gateways.display = bool(state.gateway_problem)
        if state.gateway_problem:
            gateways.update(Text(gateway_line(state.gateway_problem) + "; tell the organiser."))

    def _show_results(self, view: ResultsView | None) -> None:
        """Words go to the cloud, everything else to the bars; the other one is hidden."""
        bars = self.query_one("#results", ResultsBars)
        cloud = self.query_one("#cloud", WordCloud)
        is_cloud = view is not None and view.cloud is not None
        bars.display = not is_cloud
        cloud.display = is_cloud
        bars.view = None if is_cloud else view
        cloud.view = view if is_cloud else None

    def _show_crosstab(self, state: PresenterState | None) -> None:
        """The chair's ``s``: the split view takes the place of the bars while it is on."""
        view = self.query_one("#crosstab", CrossTabView)
        table = state.crosstab if state is not None else None
        view.display = table is not None
        view.table = table
        view.shown = state is not None and state.results_shown
        if table is not None:
            self.query_one("#results", ResultsBars).display = False
            self.query_one("#cloud", WordCloud).display = False

    def _show_welcome(self, welcome: Welcome | None) -> None:
        info = self.query_one("#session-info", Static)
        if welcome is None:
            info.update("")
        elif self.read_only is not None:
            info.update(Text(f"database: {welcome.database} (opened read-only)"))
        else:
            info.update(
                Text(f"database: {welcome.database}   ·   server livepoll {welcome.version}")
            )
        self._show_join()

    def _show_join(self) -> None:
        """The join panel follows the state's join info (its room code can rotate)."""
        qr_url, typed_url, room_code = join_details(self.welcome, self.state)
        self.query_one("#join-qr", QRCode).data = qr_url
        self.query_one("#join-big-url", BigText).text = display_form(typed_url)
        url = self.query_one("#join-url", Static)
        url.update(Text(typed_url or "waiting for the join address…"))
        code = self.query_one("#room-code", Static)
        code.display = room_code is not None
        if room_code is not None:
            code.update(Text(f"room code  {room_code}"))
        self.set_class(not join_is_large(self.state), "-strip")
        self.query_one("#strip-big-url", BigText).text = display_form(typed_url)
        self._fit_strip()

    def _fit_strip(self) -> None:
        """The strip's code, at one cell per module, only where it leaves the room most
        of the screen (:func:`~livepoll.tui.room.strip_shows_code`); its line says how
        to get the code full screen otherwise."""
        qr_url, typed_url, room_code = join_details(self.welcome, self.state)
        layout = fit_qr(qr_url, 10_000, 10_000, max_scale=1) if qr_url else None
        qr = self.query_one("#strip-qr", QRCode)
        qr.data = qr_url
        qr.display = layout is not None and strip_shows_code(layout.height, self.size.height)
        self.set_class(qr.display, "-strip-code")
        strip = self.query_one("#join-strip", Horizontal)
        if layout is not None and qr.display:
            qr.styles.width = layout.width
            qr.styles.height = layout.height
            strip.styles.height = layout.height
        else:
            strip.styles.height = "auto"
        parts = [f"Join at {display_form(typed_url)}" if typed_url else "Join: waiting…"]
        if room_code is not None:
            parts.append(f"room code {room_code}")
        parts.append("j: join screen" if qr.display else "j: QR code")
        self.query_one("#strip-url", Static).update(Text("  ·  ".join(parts)))

    def on_resize(self) -> None:
        """Whether the strip has room for its code depends on the screen's height."""
        with self._drawing() as ready:
            if ready:
                self._fit_strip()

    def _show_link(self, link: LinkStatus) -> None:
        banner = self.query_one("#link-banner", Static)
        banner.display = link.phase in ("connecting", "down")
        banner.set_class(link.phase == "down", "-down")
        if link.phase == "connecting":
            banner.update(Text("Connecting to the server…"))
        elif link.phase == "down":
            message = "⚠  No link to the server — reconnecting…"
            if link.detail:
                message += f"  ({link.detail})"
            banner.update(Text(message))


class JoinScreen(Screen[None]):
    """The join code as large as the terminal allows, with the address in big letters.

    The session keys (space, n, p, r) still work here: the app's bindings stay
    active under this screen, so the chair can open voting while people scan.
    """

    BINDINGS = [
        Binding("j,escape", "dismiss", "Back", key_display="j/esc"),
    ]

    join: reactive[tuple[str, str, str | None]] = reactive(("", "", None), init=False)
    """(URL in the QR code, URL to type, room code or None), from :func:`join_details`."""

    def compose(self) -> ComposeResult:
        """The caption, the code, the address big and then plain, and any room code."""
        yield QRCode(id="join-screen-qr", max_scale=8, caption="Scan to vote — or type the address")
        yield BigText(id="join-screen-big-url", max_scale=3, max_rows=6)
        yield Static(id="join-screen-url")
        yield BigText(id="join-screen-code", max_scale=3, max_rows=6)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Draw the address known when the screen opened."""
        self._show(self.join)

    def watch_join(self, join: tuple[str, str, str | None]) -> None:
        """Follow a new address (a restarted server) or a rotated room code."""
        if self.is_mounted:
            self._show(join)

    def on_resize(self) -> None:
        """A larger terminal may have room for the big letters again."""
        self._show(self.join)

    def _show(self, join: tuple[str, str, str | None]) -> None:
        qr_url, typed_url, room_code = join
        self.query_one("#join-screen-qr", QRCode).data = qr_url
        big_url = self.query_one("#join-screen-big-url", BigText)
        big_url.text = display_form(typed_url)
        big_url.display = True
        code = self.query_one("#join-screen-code", BigText)
        code.display = room_code is not None
        code.text = f"CODE {room_code}" if room_code else ""
        self._show_plain(code_too=False)
        self.call_after_refresh(self._make_room_for_the_code)

    def _show_plain(self, *, code_too: bool) -> None:
        _, typed_url, room_code = self.join
        plain = typed_url or "waiting for the join address from the server…"
        if code_too and room_code:
            plain = f"{plain}   ·   code {room_code}"
        self.query_one("#join-screen-url", Static).update(Text(plain))

    def _make_room_for_the_code(self) -> None:
        """The QR code comes first: while it does not fit, the big letters go, the
        address first, then the room code (which then joins the plain address)."""
        if self.query_one("#join-screen-qr", QRCode).layout_now is not None:
            return
        for big in self.query("#join-screen-big-url, #join-screen-code").results(BigText):
            if big.display:
                big.display = False
                if big.id == "join-screen-code":
                    self._show_plain(code_too=True)
                self.call_after_refresh(self._make_room_for_the_code)
                return


class LeaderboardScreen(Screen[None]):
    """The quiz leaderboard full screen, for the room, after a quiz closes (``l``).

    Like the join screen it sits over the console, whose keys still work; it
    follows new states of the same quiz and leaves when the chair moves on.
    """

    BINDINGS = [
        Binding("l,escape", "dismiss", "Back", key_display="l/esc"),
    ]

    state: reactive[PresenterState | None] = reactive(None, init=False)
    """The closed quiz whose board is shown."""

    def compose(self) -> ComposeResult:
        """A big heading, which quiz it is after, and the board."""
        with Vertical(id="leaderboard"):
            yield BigText("LEADERBOARD", id="leaderboard-title", max_scale=2, max_rows=6)
            yield Static(id="leaderboard-subtitle")
            yield LeaderboardTable(id="leaderboard-table")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Draw the board known when the screen opened."""
        self._show(self.state)

    def watch_state(self, state: PresenterState | None) -> None:
        """Follow the board as late answers or a reopened quiz change it."""
        if self.is_mounted:
            self._show(state)

    def _show(self, state: PresenterState | None) -> None:
        subtitle = self.query_one("#leaderboard-subtitle", Static)
        table = self.query_one("#leaderboard-table", LeaderboardTable)
        if state is None:
            subtitle.update("")
            table.rows = ()
            return
        subtitle.update(
            Text(f"{state.title}  ·  after question {state.index + 1} of {state.count}")
        )
        table.rows = standings(state.leaderboard)


@dataclass(frozen=True, slots=True)
class KeyHelp:
    """A key that applies now, as the help screen and the command palette list it."""

    keys: str
    """How the key is shown, e.g. ``n →``."""
    action: str
    """The action it runs, e.g. ``moderate('approve')``."""
    title: str
    line: str
    """What it does, in a few words."""


class HelpScreen(ModalScreen[None]):
    """Every key that applies now, with what it does; ``?``, F1 or esc closes it."""

    BINDINGS = [
        Binding("escape,question_mark,f1", "dismiss", "Close", key_display="esc"),
    ]

    def __init__(self, keys: list[KeyHelp], screen_url: str = "") -> None:
        """Args:
        keys: the keys that apply now.
        screen_url: the AV desk's read-only screen view, shown under the keys if set.
        """
        super().__init__()
        self.keys = keys
        self.screen_url = screen_url

    def compose(self) -> ComposeResult:
        """A title, one line per key, and where to find the same as commands."""
        width = max((len(key.keys) for key in self.keys), default=1)
        listing = Text()
        for number, key in enumerate(self.keys):
            if number:
                listing.append("\n")
            listing.append(key.keys.ljust(width), "bold reverse")
            listing.append("  ")
            listing.append(key.title, "bold")
            if key.line:
                listing.append(f"  {key.line}")
        with Vertical(id="help-dialog"):
            yield Label("Keys that apply now", id="help-title")
            yield Static(listing, id="help-keys")
            yield Label(
                "ctrl+p: the same actions by name, and the themes (command palette)",
                id="help-palette",
            )
            if self.screen_url:
                yield Label(
                    Text(f"Screen view for the AV desk (read-only): {self.screen_url}"),
                    id="help-screen-url",
                )


class QuitScreen(ModalScreen[bool]):
    """Asks before quitting while voting is open; the answer is True to quit.

    Attached to a server of its own (``livepoll present``), quitting the console
    leaves the server running: phones keep voting, but the room loses its live bars.
    Under ``livepoll run`` quitting also stops the server, so phones can no longer
    vote; the dialog says which, since the chair decides on it.
    """

    def __init__(self, *, stops_server: bool = False) -> None:
        super().__init__()
        self.stops_server = stops_server

    BINDINGS = [
        Binding("y", "answer(True)", "Quit"),
        Binding("n,escape", "answer(False)", "Stay"),
    ]

    AUTO_FOCUS = "#quit-no"

    def compose(self) -> ComposeResult:
        """A short question and two buttons; Stay has the focus."""
        with Vertical(id="quit-dialog"):
            yield Label("Voting is still open.", id="quit-title")
            yield Label(
                "Quit anyway? This also stops the server: phones can no longer vote."
                " Every vote so far is saved."
                if self.stops_server
                else "Quit the console anyway? The server keeps counting votes,"
                " but the room loses its live results.",
                id="quit-question",
            )
            with Horizontal(id="quit-buttons"):
                yield Button("Quit (y)", variant="error", id="quit-yes")
                yield Button("Stay (n)", variant="primary", id="quit-no")

    def action_answer(self, quit_app: bool) -> None:
        """Close the dialog with the chair's answer."""
        self.dismiss(quit_app)

    @on(Button.Pressed, "#quit-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#quit-no")
    def _no(self) -> None:
        self.dismiss(False)


RotateChoice = Literal["keep", "readmit"]
"""The chair's answer when rotating the room code: keep admitted phones, or re-admit all."""


class RotateScreen(ModalScreen[RotateChoice | None]):
    """Asks how to rotate the room code; the answer is ``keep``, ``readmit`` or None.

    Keeping admitted phones is the everyday choice: a code passed outside the room
    stops working and nobody in the room notices. Re-admitting everyone is for a code
    that leaked while phones outside the room may already have joined with it: every
    phone, in the room or not, must enter the new code from the screen.
    """

    BINDINGS = [
        Binding("k", "answer('keep')", "Keep phones"),
        Binding("a", "answer('readmit')", "Re-admit all"),
        Binding("escape", "answer(None)", "Cancel", key_display="esc"),
    ]

    AUTO_FOCUS = "#rotate-keep"

    def compose(self) -> ComposeResult:
        """The question, the two ways to rotate and cancel; keeping has the focus."""
        with Vertical(id="rotate-dialog"):
            yield Label("New room code", id="rotate-title")
            yield Label(
                "Phones already in can keep voting, or every phone must enter the new"
                " code (use that if the code leaked outside the room).",
                id="rotate-question",
            )
            with Vertical(id="rotate-buttons"):
                yield Button(
                    "Rotate, keep admitted phones (k)", variant="primary", id="rotate-keep"
                )
                yield Button(
                    "Rotate and re-admit everyone (a)", variant="error", id="rotate-readmit"
                )
                yield Button("Cancel (esc)", id="rotate-cancel")

    def action_answer(self, choice: RotateChoice | None) -> None:
        """Close the dialog with the chair's choice (None: do nothing)."""
        self.dismiss(choice)

    @on(Button.Pressed, "#rotate-keep")
    def _keep(self) -> None:
        self.dismiss("keep")

    @on(Button.Pressed, "#rotate-readmit")
    def _readmit(self) -> None:
        self.dismiss("readmit")

    @on(Button.Pressed, "#rotate-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class NextSessionScreen(ModalScreen[bool]):
    """Asks before moving a room to the next deck of its programme; True to move on.

    Moving on ends the session for good (its answers stay in the database) and phones
    follow to the new one by themselves, so the dialog names both decks: a wrong key
    must not cost a room its session. Used by the chair's console and by the
    organiser's control room, so it carries its own styles.
    """

    DEFAULT_CSS = """
    NextSessionScreen {
        align: center middle;
    }
    NextSessionScreen #next-dialog {
        width: 64;
        max-width: 100%;
        height: auto;
        padding: 1 2;
        border: thick $warning;
        background: $surface;
    }
    NextSessionScreen #next-title {
        text-style: bold;
        margin-bottom: 1;
    }
    NextSessionScreen #next-buttons {
        height: auto;
        margin-top: 1;
    }
    NextSessionScreen Button {
        margin-right: 2;
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Move on"),
        Binding("n,escape", "answer(False)", "Stay"),
    ]

    AUTO_FOCUS = "#next-no"

    def __init__(self, room: str, current: str, next_title: str) -> None:
        """Args:
        room: the room's name.
        current: the deck running now.
        next_title: the deck that starts.
        """
        super().__init__()
        self.room = room
        self.current = current
        self.next_title = next_title

    def compose(self) -> ComposeResult:
        """Which room, which deck ends and which starts; Stay has the focus."""
        with Vertical(id="next-dialog"):
            yield Label(Text(f"Move {self.room} to its next session?"), id="next-title")
            yield Label(
                Text(
                    f"“{self.current}” ends (its answers are kept) and "
                    f"“{self.next_title}” starts. Phones follow by themselves."
                ),
                id="next-question",
            )
            with Horizontal(id="next-buttons"):
                yield Button("Move on (y)", variant="warning", id="next-yes")
                yield Button("Stay (n)", variant="primary", id="next-no")

    def action_answer(self, move_on: bool) -> None:
        """Close the dialog with the answer."""
        self.dismiss(move_on)

    @on(Button.Pressed, "#next-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#next-no")
    def _no(self) -> None:
        self.dismiss(False)
