"""The CI rule, as a pytest plugin: under CI nothing may be skipped.

A test that needs a tool (Chromium, zxing) skips on a laptop without it, but in CI
a skip would let a missing tool pass unnoticed, so there it fails. The rule covers
every way pytest skips: at run time (``pytest.skip``, ``skipif``, a fixture that
skips) and at collection time (a module-level ``importorskip`` or
``pytest.skip(allow_module_level=True)``). As a last guard, a session that still
reports a skip in CI ends with a failing exit status.

CI is on when ``CI`` is set to a true value (``1``, ``true``, ``yes``, in any case),
as ``.ci/run`` sets it; ``CI=false``, ``CI=0`` or an empty ``CI`` is a laptop.
``tests/conftest.py`` loads this plugin; ``tests/test_ci_rule.py`` tests it by
running pytest on small test files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pytest

TRUE_VALUES = frozenset({"1", "true", "yes"})
"""The values of ``CI`` that mean CI (compared without case or surrounding spaces)."""


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``environ`` (the process environment by default) says this is CI."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() in TRUE_VALUES


IN_CI = in_ci()

_skips_seen: list[str] = []
"""Node ids of skips that reached the reports unconverted (the last guard's evidence)."""


def _is_skip(report: pytest.TestReport | pytest.CollectReport) -> bool:
    return report.skipped and not hasattr(report, "wasxfail")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """In CI a skipped test is a failed test: a missing tool must not pass silently."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and _is_skip(report):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI is set, so skips fail): {report.longrepr}"


@pytest.hookimpl(tryfirst=True)
def pytest_collectreport(report: pytest.CollectReport) -> None:
    """In CI a module skipped while collecting is a collection error, not a skip."""
    if IN_CI and _is_skip(report):
        report.outcome = "failed"
        report.longrepr = (
            f"skipped while collecting in CI (CI is set, so skips fail): {report.longrepr}"
        )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Note any skip that still reached the reports (another plugin made it late)."""
    if IN_CI and _is_skip(report):
        _skips_seen.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a session that reported any skip fails, whatever produced the skip."""
    if (
        IN_CI
        and _skips_seen
        and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    ):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say why a CI run with a skip failed."""
    if IN_CI and _skips_seen:
        terminalreporter.write_line(
            f"{len(_skips_seen)} skipped in CI (CI is set, so skips fail): "
            + ", ".join(_skips_seen),
            red=True,
        )
