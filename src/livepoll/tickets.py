"""Printable ticket sheets for the ``tickets`` join mode: one code and QR per badge."""

from __future__ import annotations

import html
from collections.abc import Sequence
from urllib.parse import quote

import qrcode
import qrcode.image.svg


def ticket_url(join_url: str, code: str) -> str:
    """The join URL that carries a ticket, for the QR code printed on a badge."""
    separator = "&" if "?" in join_url else "?"
    return f"{join_url}{separator}ticket={quote(code)}"


def ticket_sheet(codes: Sequence[str], join_url: str | None, title: str) -> str:
    """An A4 page of ticket cards (inline SVG QR codes; no scripts, no outside requests).

    Without a join URL the cards carry the codes only, for typing on the voting page.
    """
    cards = []
    for code in codes:
        spaced = f"{code[:4]} {code[4:]}"
        image = ""
        if join_url:
            svg = qrcode.make(
                ticket_url(join_url, code),
                image_factory=qrcode.image.svg.SvgPathImage,
                error_correction=qrcode.constants.ERROR_CORRECT_M,
            )
            image = svg.to_string(encoding="unicode")
        cards.append(
            f'<div class="card">{image}<p class="code">{html.escape(spaced)}</p>'
            '<p class="hint">Your voting ticket: scan, or type the code on the voting page. '
            "It works on one phone only.</p></div>"
        )
    where = f"<p>Voting page: <code>{html.escape(join_url)}</code></p>" if join_url else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{where}"
        f'<div class="cards">{"".join(cards)}</div></body></html>\n'
    )


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:10mm}
h1{font-size:16px;margin:0 0 4mm}
.cards{display:grid;grid-template-columns:repeat(3,1fr);gap:4mm}
.card{border:1px dashed #777;padding:4mm;text-align:center;break-inside:avoid}
.card svg{width:32mm;height:32mm}
.code{font:700 20px/1.2 ui-monospace,monospace;letter-spacing:.1em;margin:2mm 0}
.hint{font-size:10px;color:#444;margin:0}
@page{size:A4;margin:8mm}
"""
