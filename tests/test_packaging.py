"""Packaging and installs: the wheel works on its own, the locks match pyproject, and a
run leaves nothing git would pick up."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"": ROOT / "requirements.lock", "test": ROOT / "requirements-test.lock"}
PACKAGE_FILES = (
    "livepoll/server/static/index.html",
    "livepoll/server/static/app.js",
    "livepoll/server/static/app.css",
    "livepoll/server/static/screen.html",
    "livepoll/server/static/screen.js",
    "livepoll/server/static/screen.css",
    "livepoll/tui/presenter.tcss",
    "livepoll/tui/control.tcss",
    "livepoll/py.typed",
)
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)")


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """Each pinned package of a lock file: its version and how many hashes it has."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            current = match.group(1).lower().replace("_", "-")
            pins[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


@pytest.mark.parametrize("extra", ["", "test"])
def test_each_lock_pins_every_dependency_exactly_with_hashes(extra: str) -> None:
    """Every package is ==-pinned with at least one hash, and each direct dependency's
    pin is inside its pyproject.toml range (so `pip install .` agrees with the lock)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(text) for text in project["dependencies"]]
    if extra:
        wanted += [Requirement(text) for text in project["optional-dependencies"][extra]]
    pins = locked(LOCKS[extra])
    assert pins, f"{LOCKS[extra].name} pins nothing"
    for name, (_, hashes) in pins.items():
        assert hashes, f"{name} has no hash in {LOCKS[extra].name}"
    for requirement in wanted:
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is missing from {LOCKS[extra].name}"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name}=={version} in {LOCKS[extra].name} is outside pyproject's {requirement}"
        )


def test_the_test_lock_agrees_with_the_runtime_lock() -> None:
    """A package in both locks has the same version: tests run what users install."""
    runtime, test = locked(LOCKS[""]), locked(LOCKS["test"])
    for name, (version, _) in runtime.items():
        assert test.get(name, (version, 0))[0] == version, name


@pytest.mark.timeout(900)
def test_the_wheel_installs_alone_and_runs(tmp_path: Path) -> None:
    """The sdist and wheel carry the page and the console's styles; the wheel, installed
    into a fresh virtual environment from pyproject's ranges, runs --version and check."""
    # A clean copy: an editable install's src/livepoll.egg-info lists every file it once
    # had, and setuptools would take that list over package-data, hiding a mistake there.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "*.egg-info", "build", "dist", "__pycache__", ".*_cache"
        ),
    )
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(dist), str(source)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    (wheel,) = dist.glob("livepoll-*.whl")
    (sdist,) = dist.glob("livepoll-*.tar.gz")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in PACKAGE_FILES:
        assert name in names, f"{name} is not in the wheel"
    with tarfile.open(sdist) as archive:
        members = {"/".join(member.split("/")[1:]) for member in archive.getnames()}
    for name in PACKAGE_FILES:
        assert f"src/{name}" in members, f"src/{name} is not in the sdist"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    livepoll = venv / "bin" / "livepoll"
    # Run from elsewhere, so the checkout's src/ cannot stand in for the installed files.
    version = subprocess.run(
        [str(livepoll), "--version"], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("livepoll ")
    check = subprocess.run(
        [str(livepoll), "check", str(ROOT / "polls" / "socitm-spring.toml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "ok, 14 questions" in check.stdout
    resources = subprocess.run(
        [
            str(python),
            "-c",
            "from importlib.resources import files; import livepoll.tui.app;"
            "root = files('livepoll');"
            f"missing = [n for n in {[n.removeprefix('livepoll/') for n in PACKAGE_FILES]!r}"
            " if not root.joinpath(n).is_file()];"
            "print(missing)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert resources.returncode == 0, resources.stderr
    assert resources.stdout.strip() == "[]"


def test_a_run_leaves_nothing_git_would_track(tmp_path: Path) -> None:
    """The database, its WAL files and the server log that `livepoll run` leaves next to
    the database are all covered by .gitignore."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    from livepoll.cli import TOKEN_ENV
    from livepoll.supervisor import SupervisedServer

    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    environment = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True, env=environment)
    database = tmp_path / "livepoll.db"
    arguments = [str(ROOT / "polls" / "socitm-spring.toml"), "--db", str(database)]
    arguments += ["--host", "127.0.0.1", "--port", "0"]
    server = SupervisedServer(
        arguments, "token-for-the-test-123", Path(f"{database}.log"), TOKEN_ENV
    )
    server.start()
    try:
        left = {path.name for path in tmp_path.iterdir()}
        status = subprocess.run(
            [git, "status", "--porcelain", "--untracked-files=all"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=True,
            env=environment,
        )
    finally:
        server.stop()
    assert {"livepoll.db", "livepoll.db-wal", "livepoll.db-shm", "livepoll.db.log"} <= left
    assert status.stdout.split("\n")[:-1] == ["?? .gitignore"]
