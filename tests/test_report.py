"""The organiser's report and session listing, from a database a real server wrote."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from livepoll.report import build_report
from livepoll.server.app import ServerConfig
from seeding import DECK, seeded


class Outline(HTMLParser):
    """Collects what the report is made of: tags, articles and their charts, all text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.articles: list[list[str]] = []
        self.text: list[str] = []
        self.open_tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(value or "" for _, value in attrs)
        if tag == "article":
            self.articles.append([])
        elif self.articles and tag in ("svg", "table"):
            self.articles[-1].append(tag)
        if tag not in ("meta", "rect", "line", "polyline", "br"):
            self.open_tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open_tags:
            while self.open_tags.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def outline(document: str) -> Outline:
    """Parse the report, failing on unbalanced markup."""
    parser = Outline()
    parser.feed(document)
    parser.close()
    assert parser.open_tags == [], f"unclosed tags: {parser.open_tags}"
    return parser


async def test_report_has_a_chart_per_question_and_escapes_everything(
    server_config: ServerConfig,
) -> None:
    """Each question gets its chart; no script, no outside request; attendee text escaped."""
    await seeded(server_config)
    document = await build_report(server_config.database, None)
    parsed = outline(document)
    questions = DECK.count("[[questions]]")
    assert len(parsed.articles) == questions
    assert all(article for article in parsed.articles), "a question without a chart"
    assert "script" not in parsed.tags
    assert "<b>bold</b>" not in document
    assert "[red]Linus[/]" in "".join(parsed.text), "nicknames show literally"
    outside = re.findall(r"(?:src|href)\s*=\s*\"?(https?:)?//", document)
    assert outside == []
    assert "http://www.w3.org/2000/svg" in document
    text = " ".join(parsed.text)
    for expected in ("Rank them", "Person-centred", "Mean", "Median", "Upvotes", "Player"):
        assert expected in text


async def test_sessions_of_the_same_deck_are_compared(server_config: ServerConfig) -> None:
    """Two sessions of one deck appear side by side in each question."""
    await seeded(server_config)
    await seeded(server_config)
    document = await build_report(server_config.database, None)
    assert "Run in 2 sessions" in document
    assert document.count('class="runs runs-2"') == DECK.count("[[questions]]")
    only_first = await build_report(server_config.database, [1])
    assert "Run in 2 sessions" not in only_first


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the livepoll command line in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "livepoll", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_sessions_lists_counts_that_match_the_data(
    server_config: ServerConfig, tmp_path: Path
) -> None:
    """`livepoll sessions` gives questions asked, answers and distinct voters per session."""
    await seeded(server_config)
    result = await asyncio.to_thread(run_cli, "sessions", "--db", str(server_config.database))
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split()[:3] == ["id", "deck", "started"]
    questions = DECK.count("[[questions]]")
    answers = 5 * (questions - 1) + 3
    assert re.search(rf"\b{questions}/{questions}\s+{answers}\s+5$", row), row
    report = tmp_path / "out.html"
    written = await asyncio.to_thread(
        run_cli, "report", "--db", str(server_config.database), "--output", str(report)
    )
    assert written.returncode == 0, written.stderr
    assert report.read_text(encoding="utf-8").startswith("<!doctype html>")
