"""Messages the presenter link posts to the app, one per event from the server.

State frames can arrive in bursts (up to ten a second, more after a reconnect);
:class:`StateReceived` replaces an older one still waiting in the queue, so a busy
app draws the newest state once instead of every intermediate one (the way
Textualize/toolong merges its high-rate messages).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from livepoll.protocol import PresenterState, Welcome


@dataclass
class StateReceived(Message, bubble=False):
    """The server sent a new session state."""

    state: PresenterState

    def can_replace(self, message: Message) -> bool:
        """A newer state makes an unprocessed older one pointless."""
        return isinstance(message, StateReceived)


@dataclass
class WelcomeReceived(Message, bubble=False):
    """The server greeted the presenter: join URL, database path and version."""

    welcome: Welcome


@dataclass
class LinkChanged(Message, bubble=False):
    """The presenter link went up or down.

    ``detail`` says why it is down (for the banner), and ``retry_in`` how many
    seconds until the next attempt.
    """

    connected: bool
    detail: str = ""
    retry_in: float = 0.0


@dataclass
class ServerRefused(Message, bubble=False):
    """The server answered with an error frame (a command it could not apply)."""

    code: str
    message: str
