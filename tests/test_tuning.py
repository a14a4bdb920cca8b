"""`livepoll serve`'s process settings for thousands of phones (server/tuning.py)."""

from __future__ import annotations

import resource
import subprocess
import sys

PROBE = """
import gc, resource
from livepoll.server.tuning import GC_THRESHOLDS, tune_process
tune_process()
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
print(soft == hard or hard == resource.RLIM_INFINITY, gc.get_threshold() == GC_THRESHOLDS)
"""


def test_tuning_raises_the_open_file_limit_and_sets_the_collector_thresholds() -> None:
    """From a soft limit of 256 open files, the process ends at its hard limit and the GC
    thresholds are livepoll's."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))

    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        preexec_fn=low_soft_limit,
    )
    assert result.stdout.split() == ["True", "True"]
