"""Cells safe for spreadsheets, and files private to their owner."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from livepoll.files import make_private_directory, write_private
from livepoll.spreadsheet import neutralise


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("http://example.invalid","click")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
        "=",
        "-",
    ],
)
def test_a_formula_start_gets_an_apostrophe(cell: str) -> None:
    """Every cell a spreadsheet would read as a formula is shown as text instead."""
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-3.5", "+4", "-1e3", "12", "hello", "", "a=b", "'quoted"])
def test_numbers_and_plain_text_are_left_alone(cell: str) -> None:
    """A number question's negative answer stays a number; ordinary text is untouched."""
    assert neutralise(cell) == cell


def test_private_files_are_created_for_their_owner_only(tmp_path: Path) -> None:
    """Text and bytes are written 0600, an existing file is tightened, directories 0700."""
    directory = tmp_path / "a" / "b"
    make_private_directory(directory)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(directory.parent.stat().st_mode) == 0o700, "new parents too"
    text_file = directory / "out.csv"
    write_private(text_file, "x,y\r\n", newline="")
    assert text_file.read_bytes() == b"x,y\r\n"
    assert stat.S_IMODE(text_file.stat().st_mode) == 0o600
    loose = tmp_path / "loose.bin"
    loose.write_bytes(b"old content that is longer")
    loose.chmod(0o644)
    write_private(loose, b"new")
    assert loose.read_bytes() == b"new"
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600
