"""The CI rule itself: under CI every kind of skip fails the run (tests/ci_rule.py).

Each test runs pytest in a subprocess on a small test file, with the rule loaded as
the suite loads it and ``CI`` set as a CI service would set it, and reads the exit
status: a rule that stopped catching a kind of skip would let that test pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ci_rule import in_ci

TESTS = Path(__file__).parent

RUNTIME_SKIP = """
import pytest

def test_needs_a_tool():
    pytest.skip("the tool is missing")

def test_plain():
    assert True
"""

SKIPIF = """
import pytest

@pytest.mark.skipif(True, reason="the tool is missing")
def test_needs_a_tool():
    assert True
"""

IMPORTORSKIP = """
import pytest

pytest.importorskip("a_module_that_is_not_installed_anywhere")

def test_needs_the_module():
    assert True
"""

MODULE_LEVEL_SKIP = """
import pytest

pytest.skip("no tool here", allow_module_level=True)

def test_needs_the_tool():
    assert True
"""

XFAIL = """
import pytest

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
"""

LATE_SKIP_CONFTEST = """
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        report.outcome = "skipped"
        report.longrepr = ("x", 1, "made a skip after every other hook")
"""


def run_pytest(
    tmp_path: Path, source: str, ci: str | None, *args: str, conftest: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run pytest with the CI rule on ``source`` as one test file, ``CI`` set to ``ci``."""
    (tmp_path / "test_small.py").write_text(source)
    if conftest:
        (tmp_path / "conftest.py").write_text(conftest)
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    # Only the plugins the case needs (xdist is named with -n): each run starts faster.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    command = [sys.executable, "-m", "pytest", "-p", "ci_rule", "-p", "no:cacheprovider"]
    command += ["-q", "-rA", "--rootdir", str(tmp_path), *args, str(tmp_path)]
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "True", "yes", "Yes", " true "])
def test_true_values_of_ci_mean_ci(value: str) -> None:
    """``CI`` set to 1, true or yes, in any case, means CI."""
    assert in_ci({"CI": value})


@pytest.mark.parametrize("value", ["", "0", "false", "False", "no", "off"])
def test_false_or_empty_ci_is_not_ci(value: str) -> None:
    """``CI`` unset, empty, 0, false or no is a laptop, where skips are allowed."""
    assert not in_ci({"CI": value})
    assert not in_ci({})


@pytest.mark.parametrize(
    "source",
    [RUNTIME_SKIP, SKIPIF, IMPORTORSKIP, MODULE_LEVEL_SKIP],
    ids=["pytest.skip", "skipif", "importorskip", "allow_module_level"],
)
def test_every_kind_of_skip_fails_under_ci(tmp_path: Path, source: str) -> None:
    """Under CI=true a skip at run time or at collection time makes the run fail."""
    result = run_pytest(tmp_path, source, "true")
    assert result.returncode != 0, result.stdout
    assert "CI is set, so skips fail" in result.stdout, result.stdout


@pytest.mark.parametrize(
    "source", [RUNTIME_SKIP, IMPORTORSKIP], ids=["pytest.skip", "importorskip"]
)
def test_skips_fail_under_ci_with_parallel_workers(tmp_path: Path, source: str) -> None:
    """The rule holds when xdist workers collect and run the tests, as ``tasks.py test`` does."""
    result = run_pytest(tmp_path, source, "1", "-p", "xdist.plugin", "-n", "2")
    assert result.returncode != 0, result.stdout
    assert "CI is set, so skips fail" in result.stdout, result.stdout


def test_a_skip_made_after_the_rule_still_fails_the_run_under_ci(tmp_path: Path) -> None:
    """A skip another hook makes after the rule's own still fails the session (the last guard)."""
    result = run_pytest(
        tmp_path, "def test_fine():\n    assert True\n", "yes", conftest=LATE_SKIP_CONFTEST
    )
    assert "1 skipped" in result.stdout, result.stdout
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "1 skipped in CI (CI is set, so skips fail)" in result.stdout


@pytest.mark.parametrize("ci", [None, "false", "0", ""])
def test_skips_pass_when_not_in_ci(tmp_path: Path, ci: str | None) -> None:
    """Without CI (unset, false, 0 or empty) a skipped test is reported as skipped, not failed."""
    result = run_pytest(tmp_path, RUNTIME_SKIP, ci)
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert "1 passed, 1 skipped" in result.stdout, result.stdout


def test_a_module_skipped_while_collecting_passes_when_not_in_ci(tmp_path: Path) -> None:
    """Without CI a module-level importorskip skips the module, as pytest does by default."""
    result = run_pytest(tmp_path, IMPORTORSKIP, "false")
    assert result.returncode in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    assert "1 skipped" in result.stdout, result.stdout


def test_an_expected_failure_is_not_a_skip_under_ci(tmp_path: Path) -> None:
    """A strict xfail that fails as expected passes under CI: only skips are caught."""
    result = run_pytest(tmp_path, XFAIL, "true")
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert "1 xfailed" in result.stdout, result.stdout


def test_ci_entry_point_sets_ci_itself() -> None:
    """``.ci/run`` exports CI=true before running the tests, whatever the CI service sets."""
    script = (TESTS.parent / ".ci" / "run").read_text()
    lines = [line.strip() for line in script.splitlines()]
    assert "export CI=true" in lines
    assert lines.index("export CI=true") < lines.index("exec python3 tasks.py test")
