"""Module boundaries: the pure core stays pure, and the import contracts hold."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import livepoll

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(livepoll.__file__).resolve().parent
CORE = ["livepoll.deck", "livepoll.event", "livepoll.words", "livepoll.engine", "livepoll.protocol"]
# What a pure module must never drag in: UI, network, storage, or an event loop.
HEAVY = ["textual", "rich", "websockets", "aiosqlite", "sqlite3", "asyncio", "socket", "qrcode"]


def lint_imports_command() -> list[str]:
    """The lint-imports script installed next to this interpreter."""
    script = Path(sysconfig.get_path("scripts")) / "lint-imports"
    found = script if script.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed (pip install import-linter)")
    return [str(found), "--no-cache", "--no-logo"]


def test_core_imports_nothing_heavy() -> None:
    """Importing the pure core (deck, event, engine, protocol) loads no UI, I/O or storage."""
    code = (
        "import sys\n"
        f"import {', '.join(CORE)}\n"
        f"print(','.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert result.stdout.strip() == ""


def test_import_contracts_are_kept() -> None:
    """lint-imports passes on the repository with the contracts in pyproject.toml."""
    result = subprocess.run(
        lint_imports_command(), cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def copy_with_stand_ins(tmp_path: Path) -> Path:
    """The real core plus minimal outer layers, independent of work in progress."""
    package = tmp_path / "src" / "livepoll"
    package.mkdir(parents=True)
    for name in ["__init__.py", "deck.py", "event.py", "words.py", "engine.py", "protocol.py"]:
        shutil.copy(PACKAGE / name, package / name)
    (package / "store.py").write_text("import sqlite3\nimport livepoll.engine\n")
    (package / "server").mkdir()
    (package / "server" / "__init__.py").write_text("")
    (package / "server" / "app.py").write_text("import asyncio\nimport livepoll.store\n")
    (package / "tui").mkdir()
    (package / "tui" / "__init__.py").write_text("")
    (package / "tui" / "ok.py").write_text("import livepoll.deck\nimport livepoll.protocol\n")
    (package / "cli.py").write_text("import livepoll.server.app\nimport livepoll.tui.ok\n")
    return package


def lint_copy(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports with the repository's contracts against the copy in tmp_path."""
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    command = [*lint_imports_command(), "--config", str(ROOT / "pyproject.toml")]
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def test_contracts_keep_a_tree_that_follows_the_design(tmp_path: Path) -> None:
    """The stand-in tree passes, so failures below come from the one added import."""
    copy_with_stand_ins(tmp_path)
    result = lint_copy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        pytest.param(
            "engine.py", "import asyncio", "does no I/O and knows no UI", id="core-asyncio"
        ),
        pytest.param(
            "protocol.py",
            "import websockets.frames",
            "does no I/O and knows no UI",
            id="core-websockets",
        ),
        pytest.param(
            "deck.py", "from livepoll import store", "core sits below storage", id="core-store"
        ),
        pytest.param(
            "tui/__init__.py",
            "import livepoll.engine",
            "only through the presenter channel",
            id="tui-engine",
        ),
        pytest.param(
            "tui/ok.py",
            "from livepoll.server import app",
            "only through the presenter channel",
            id="tui-server",
        ),
        pytest.param(
            "server/app.py",
            "import redis.asyncio",
            "Redis only in its adapters",
            id="server-redis",
        ),
    ],
)
def test_import_contracts_catch_a_violation(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    """A forbidden import added to the copy makes lint-imports fail on the right contract."""
    target = copy_with_stand_ins(tmp_path) / module
    target.write_text(target.read_text() + f"\n{line}\n")
    result = lint_copy(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [row for row in result.stdout.splitlines() if row.endswith(" BROKEN")]
    assert any(contract in row for row in broken), result.stdout
