"""bench/rooms.py, run small: the event benchmark's own checks hold, so it cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "rooms.py"


def test_the_rooms_benchmark_stores_every_acked_vote_in_every_room(tmp_path: Path) -> None:
    """Three rooms of a few phones each, beside the one-room servers: every phone
    connects, votes in the burst and the steady phase, and what the phones saw acked
    is what each room's session stored."""
    output = tmp_path / "rooms.json"
    source = str(Path(__file__).resolve().parent.parent / "src")
    environment = dict(
        os.environ, PYTHONPATH=os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])
    )
    result = subprocess.run(
        [sys.executable, str(BENCH), "--rooms", "3", "--phones", "8", "--sustain", "1"]
        + ["--json", str(output)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=environment,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(output.read_text())["results"]
    assert [(r["server"], r["rooms"], r["phones"]) for r in figures] == [
        ("one room", 1, 8),
        ("event, 1 room", 1, 8),
        ("event, 3 rooms", 3, 24),
    ]
    for run in figures:
        assert run["connected"] == run["phones"], run
        assert run["burst"]["acked"] == run["phones"], run
        assert run["acked_equals_stored"], run["per_room"]
        assert run["burst"]["cpu_per_1000_s"] > 0
    assert [room["room"] for room in figures[2]["per_room"]] == ["room-01", "room-02", "room-03"]
    assert "| acked = stored in every room | yes | yes | yes |" in result.stdout
