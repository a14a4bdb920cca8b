"""bench/gateways.py, run small: its live-results phase measures what it says, so it
cannot rot."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from redis_helpers import redis_server_executable

BENCH = Path(__file__).resolve().parent.parent / "bench" / "gateways.py"


def test_the_gateways_benchmark_shows_live_results_on_every_phone_alone_and_via_a_gateway(
    tmp_path: Path,
) -> None:
    """Two dozen phones on the server alone and on an owner with one gateway (a private
    Redis): every phone receives live results, every observer sees every acked vote, and
    vote → visible on the phones is a finite delay within a few results pushes."""
    output = tmp_path / "gateways.json"
    source = str(Path(__file__).resolve().parent.parent / "src")
    environment = dict(
        os.environ, PYTHONPATH=os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])
    )
    result = subprocess.run(
        [sys.executable, str(BENCH), "--phones", "24", "--gateways", "1", "--sustain", "1"]
        + ["--redis-server", redis_server_executable(), "--json", str(output)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=environment,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(output.read_text())["results"]
    assert [run["server"] for run in figures] == ["server alone", "1 gateway(s)"]
    for run in figures:
        watch = run["watch"]
        assert watch["complete"], watch
        assert watch["phones"] == watch["received_results"] == 24, watch
        assert watch["acked"] == watch["stored"] == 24, watch
        assert watch["results_frames_per_phone_per_s"] > 0
        shown = watch["visible_on_phones"]
        assert shown["votes"] == 24
        assert shown["observers"] == 8
        assert shown["every_observer_saw_every_vote"], shown
        assert all(group["saw_every_vote"] == 8 for group in shown["groups"]), shown
        assert math.isfinite(shown["p95"])
        assert 0 <= shown["p50"] <= shown["p95"] <= shown["max"] < 5.0, shown
    assert "live results: vote → visible on phones p95, ms" in result.stdout
    assert (
        "| live results: phones that received results; observers shown every vote "
        "| 24 of 24; every vote on all 8 | 24 of 24; every vote on all 8 |"
    ) in result.stdout
