"""The console's two themes: the dark default and a high-contrast light one.

Projectors in bright halls wash out dark screens: grey on black turns into grey
on grey. The light theme puts near-black type on white, with strong colours only
where they back up words or marks (the badges say ``VOTING OPEN``, the right quiz
answer has a ``✓``), so nothing depends on colour alone. The QR code draws its own
black on white in either theme.
"""

from __future__ import annotations

from typing import Literal

from textual.theme import Theme

ThemeChoice = Literal["dark", "light"]
"""What ``--theme`` and the command palette offer."""

LIGHT = Theme(
    name="livepoll-light",
    primary="#0a3a8c",
    secondary="#5a1a8c",
    accent="#0a3a8c",
    foreground="#000000",
    background="#ffffff",
    surface="#ffffff",
    panel="#d0d4dc",
    boost="#e6e8ee",
    success="#0b6b2e",
    warning="#7a4a00",
    error="#a3001c",
    dark=False,
    variables={
        # Muted text stays dark enough to read on a washed-out screen.
        "text-muted": "#30343c",
        "footer-key-foreground": "#0a3a8c",
        "footer-background": "#d0d4dc",
        "footer-description-foreground": "#000000",
    },
)
"""High contrast for washed-out projectors: black type on white, dark saturated colours."""

THEMES: dict[ThemeChoice, str] = {"dark": "textual-dark", "light": LIGHT.name}
"""Each choice's Textual theme name."""

DESCRIPTIONS: dict[ThemeChoice, str] = {
    "dark": "light type on black (the default)",
    "light": "high contrast, black on white, for washed-out projectors",
}
"""A line on each theme for the command palette."""
