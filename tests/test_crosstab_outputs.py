"""Cross-tabs in the organiser's outputs: the HTML report and the JSON export agree."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from livepoll.server.app import ServerConfig
from seeding import seeded
from test_workbook import split_session


def livepoll(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the livepoll command."""
    return subprocess.run(
        [sys.executable, "-m", "livepoll", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


async def test_report_shows_the_declared_cross_tab_as_chart_and_table(
    server_config: ServerConfig, tmp_path: Path
) -> None:
    """The report has the split question with its base, counts and row percentages, a
    chart, and the segment of one only as "fewer than 5"."""
    await split_session(server_config)
    output = tmp_path / "report.html"
    result = await asyncio.to_thread(
        livepoll, "report", "--db", str(server_config.database), "--output", str(output)
    )
    assert result.returncode == 0, result.stderr
    html = output.read_text(encoding="utf-8")
    section = html[html.index("<h3 class=crosstabs>Cross-tabs</h3>") :]
    assert "split by: Running a programme?" in section
    assert "<title>Cross-tab: row percentages per segment</title>" in section
    assert "<td>Yes</td><td class=num>6</td>" in section
    assert "<td class=num>2<br><small>33.3%</small></td>" in section
    assert "<td class=num>4<br><small>66.7%</small></td>" in section
    assert "<td>No</td><td class=num colspan=3>fewer than 5</td>" in section


async def test_report_crosstab_flag_adds_any_pair_and_refuses_impossible_ones(
    server_config: ServerConfig, tmp_path: Path
) -> None:
    """--crosstab ready:pick adds that split; a pair with a text question is an error."""
    await seeded(server_config)
    output = tmp_path / "report.html"
    database = str(server_config.database)
    result = await asyncio.to_thread(
        livepoll, "report", "--db", database, "--output", str(output), "--crosstab", "ready:pick"
    )
    assert result.returncode == 0, result.stderr
    html = output.read_text(encoding="utf-8")
    assert "split by: Pick one" in html[html.index("Cross-tabs") :]
    result = await asyncio.to_thread(
        livepoll, "report", "--db", database, "--output", str(output), "--crosstab", "word:pick"
    )
    assert result.returncode == 1
    assert "--crosstab word:pick: 'word' is a text question" in result.stderr
    result = await asyncio.to_thread(
        livepoll, "report", "--db", database, "--output", str(output), "--crosstab", "ready"
    )
    assert result.returncode == 2
    assert "write QUESTION:BY" in result.stderr


async def test_json_export_carries_the_same_numbers(server_config: ServerConfig) -> None:
    """The JSON's crosstabs hold the table the report shows; --min-segment 1 shows the
    segment of one too."""
    await split_session(server_config)
    database = str(server_config.database)
    result = await asyncio.to_thread(livepoll, "export", "--db", database, "--format", "json")
    assert result.returncode == 0, result.stderr
    (table,) = json.loads(result.stdout)["sessions"][0]["crosstabs"]
    assert table["question"] == "understand"
    assert table["by"] == "programme"
    assert table["columns"] == ["Most", "Few"]
    assert table["rows"] == [
        {
            "label": "Yes",
            "suppressed": False,
            "base": 6,
            "counts": [2, 4],
            "percents": [33.3, 66.7],
        },
        {"label": "No", "suppressed": True},
    ]
    result = await asyncio.to_thread(
        livepoll, "export", "--db", database, "--format", "json", "--min-segment", "1"
    )
    (table,) = json.loads(result.stdout)["sessions"][0]["crosstabs"]
    assert table["rows"][1]["base"] == 1
    assert table["min_base"] == 1
