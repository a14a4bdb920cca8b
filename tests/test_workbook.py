"""The Excel export: a real workbook, read back with openpyxl and opened by LibreOffice."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from clients import chair, new_voter_token, open_phone
from livepoll import deck as deck_module
from livepoll.export import export
from livepoll.server.app import ServerConfig, running_server
from seeding import seeded

INJECTIONS = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "@SUM(A1)"]

SPLIT_DECK = """title = "Split"

[[questions]]
id = "programme"
type = "single"
prompt = "Running a programme?"
options = ["Yes", "No"]

[[questions]]
id = "understand"
type = "single"
prompt = "Do people understand?"
options = ["Most", "Few"]
segment_by = "programme"

[[questions]]
id = "say"
type = "text"
prompt = "Say something"
"""


async def split_session(config: ServerConfig) -> None:
    """Seven phones: six say Yes then mostly Few, one says No; three answer with formulas."""
    config.deck = deck_module.from_text(SPLIT_DECK, "split.toml")
    config.session_mode = "new"
    config.rate_limit = 1000.0
    async with running_server(config) as server:
        phones = [await open_phone(server, new_voter_token()) for _ in range(7)]
        await chair(server, "toggle_voting")
        for n, phone in enumerate(phones):
            assert (await phone.vote("programme", 0 if n < 6 else 1))["type"] == "ack"
        await chair(server, "next", "toggle_voting")
        for n, phone in enumerate(phones):
            assert (await phone.vote("understand", 0 if n < 2 else 1))["type"] == "ack"
        await chair(server, "next", "toggle_voting")
        for phone, text in zip(phones, INJECTIONS, strict=False):
            assert (await phone.vote("say", text))["type"] == "ack"
        for phone in phones:
            await phone.connection.close()


@pytest.fixture
async def workbook_file(server_config: ServerConfig, tmp_path: Path) -> Path:
    """A database with the every-type session and the split session, as a workbook."""
    await seeded(server_config)
    await split_session(server_config)
    path = tmp_path / "results.xlsx"
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "livepoll", "export", "--db", str(server_config.database)]
        + ["--format", "xlsx", "--output", str(path), "--crosstab", "ready:pick"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return path


def test_workbook_has_its_sheets_with_charts(workbook_file: Path) -> None:
    """Summary first, one sheet per question with a native chart, then cross-tabs and
    responses; headers frozen and filtered."""
    book = openpyxl.load_workbook(workbook_file)
    names = book.sheetnames
    assert names[0] == "Summary"
    assert names[-2:] == ["Crosstabs", "Responses"]
    assert "S1 Q1 pick" in names
    assert "S2 Q2 understand" in names
    assert len(names) == 1 + 8 + 3 + 2
    pick = book["S1 Q1 pick"]
    assert len(pick._charts) == 1
    for name in ("Summary", "Responses"):
        assert book[name].freeze_panes == "A2"
        assert book[name].auto_filter.ref is not None
    assert book["Responses"].column_dimensions["D"].width > 10


def test_question_sheet_has_counts_and_real_percentages(workbook_file: Path) -> None:
    """The single-choice sheet lists each option's count and its share as a % number."""
    sheet = openpyxl.load_workbook(workbook_file)["S1 Q1 pick"]
    rows = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row[0]}
    assert rows["Red"][:2] == (1, 0.2)
    assert rows["Blue"][:2] == (3, 0.6)
    percent_cell = next(row[2] for row in sheet.iter_rows() if row[0].value == "Blue")
    assert percent_cell.number_format == "0.0%"


def test_summary_carries_sessions_and_turnout(workbook_file: Path) -> None:
    """Each question of each session is a row with respondents, phones and turnout."""
    sheet = openpyxl.load_workbook(workbook_file)["Summary"]
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(2, values_only=True)]
    pick = next(row for row in rows if row["Session"] == 1 and row["Question"] == "pick")
    assert pick["Respondents"] == 5
    assert pick["Phones connected"] == 5
    assert pick["Turnout"] == 1.0
    assert isinstance(pick["Started (UTC)"], datetime)


def test_responses_match_the_csv_with_datetime_cells(
    workbook_file: Path, server_config: ServerConfig
) -> None:
    """The Responses sheet is the CSV's rows, its times real date-time cells."""
    sheet = openpyxl.load_workbook(workbook_file)["Responses"]
    csv_rows = list(
        csv.reader(io.StringIO(asyncio.run(export(server_config.database, "csv", None))))
    )
    sheet_rows = list(sheet.iter_rows(values_only=True))
    assert [str(v) for v in sheet_rows[0]] == csv_rows[0]
    assert len(sheet_rows) == len(csv_rows)
    first_at = csv_rows[0].index("first_answer_at")
    for got, want in zip(sheet_rows[1:], csv_rows[1:], strict=True):
        assert isinstance(got[first_at], datetime)
        stamp = datetime.fromisoformat(want[first_at]).replace(tzinfo=None)
        assert abs((got[first_at] - stamp).total_seconds()) < 0.001
        assert got[0] == int(want[0])


def test_no_cell_is_a_formula_and_attendee_formulas_are_neutralised(workbook_file: Path) -> None:
    """Answers such as =HYPERLINK(...) are text cells starting with an apostrophe."""
    book = openpyxl.load_workbook(workbook_file)
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    for injection in INJECTIONS:
        assert "'" + injection in texts
        assert injection not in texts


def test_crosstabs_sheet_hides_small_segments(workbook_file: Path) -> None:
    """The declared cross-tab shows the segment of six with row percentages and the
    segment of one only as "fewer than 5"."""
    sheet = openpyxl.load_workbook(workbook_file)["Crosstabs"]
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] and "Do people understand" in row[0])
    header = rows[start + 1]
    assert header[:6] == ("Segment", "Base (n)", "Most (n)", "Few (n)", "Most (%)", "Few (%)")
    assert rows[start + 2][:6] == ("Yes", 6, 2, 4, 0.333, 0.667)
    assert rows[start + 3][:3] == ("No", "fewer than 5", None)
    assert any(row[0] and "How ready?" in row[0] for row in rows), "the --crosstab pair"


def test_xlsx_export_is_private_and_needs_a_file(
    workbook_file: Path, server_config: ServerConfig
) -> None:
    """The workbook is created 0600; asking for it on stdout is refused."""
    assert stat.S_IMODE(workbook_file.stat().st_mode) == 0o600
    result = subprocess.run(
        [sys.executable, "-m", "livepoll", "export", "--db", str(server_config.database)]
        + ["--format", "xlsx"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--format xlsx needs --output FILE.xlsx" in result.stderr


async def test_a_bad_crosstab_pair_is_refused_with_the_reason(
    server_config: ServerConfig, tmp_path: Path
) -> None:
    """A --crosstab pair the deck cannot make stops the export and says why."""
    await split_session(server_config)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "livepoll", "export", "--db", str(server_config.database)]
        + ["--format", "xlsx", "--output", str(tmp_path / "x.xlsx")]
        + ["--crosstab", "programme:say"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    reason = "'say' is a text question; cross-tabs take single, multi, scale or quiz questions"
    assert f"--crosstab programme:say: {reason}" in result.stderr
    assert not (tmp_path / "x.xlsx").exists()


def test_libreoffice_opens_the_workbook(workbook_file: Path, tmp_path: Path) -> None:
    """LibreOffice (headless) converts the Summary sheet to CSV: a real spreadsheet
    program reads the file."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    profile = tmp_path / "lo-profile"
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "csv",
            "--outdir",
            str(tmp_path / "out"),
            str(workbook_file),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    converted = tmp_path / "out" / "results.csv"
    assert converted.exists(), result.stdout + result.stderr
    rows = list(csv.reader(io.StringIO(converted.read_text(encoding="utf-8", errors="replace"))))
    assert rows[0][:4] == ["Session", "Room", "Deck", "Started (UTC)"]
    assert any(row[6:7] == ["pick"] and row[9] == "5" for row in rows)
