"""Cells that a spreadsheet program reads as data, never as a formula.

Excel, LibreOffice and Google Sheets treat a cell that starts with ``=``, ``+``,
``-`` or ``@`` as a formula (and some treat a leading tab or carriage return the
same way once trimmed), so an attendee's answer ``=HYPERLINK("http://…")`` or
``+cmd|' /C calc'!A0`` would run when the organiser opens the export. Following
OWASP's advice on CSV injection, such a cell gets a leading apostrophe, which the
spreadsheet shows as text; plain numbers are left alone so that a ``number``
question's ``-3.5`` stays a number. The JSON export keeps the raw text, for scripts.
"""

from __future__ import annotations

import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
"""First characters that make a spreadsheet read a cell as a formula (or trim to one)."""

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")


def neutralise(cell: str) -> str:
    """``cell`` as a spreadsheet shows it literally: an apostrophe before a formula start.

    >>> neutralise('=HYPERLINK("http://x")')
    '\\'=HYPERLINK("http://x")'
    >>> neutralise("-3.5")
    '-3.5'
    """
    if cell.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.match(cell):
        return "'" + cell
    return cell
