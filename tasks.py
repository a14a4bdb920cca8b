#!/usr/bin/env python3
"""The two commands of this project, for a machine that has only Python 3.11+.

    python3 tasks.py run [DECK] [livepoll run options]   install, then run a session
    python3 tasks.py test [pytest options]               install, then check everything
    python3 tasks.py livepoll COMMAND [options]          any other livepoll command
                                                         (export, report, sessions, ...)
    python3 tasks.py lock                                refresh the locked versions

They create ``.venv`` next to this file on first use and (re)install livepoll into
it whenever ``pyproject.toml`` or a lock changes, so nothing has to be set up by
hand. The dependencies come from ``requirements.lock`` (``requirements-test.lock``
for the tests): exact versions with their hashes, so a machine set up months from
now gets what the tests passed with; ``lock`` re-resolves them from the ranges in
``pyproject.toml``.
``test`` runs, in order: ruff format --check, ruff check, mypy (strict) on src/,
the import-linter contracts, and the whole pytest suite in parallel.

Only the standard library is used here, because it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".livepoll-installed"
DEFAULT_DECK = ROOT / "polls" / "socitm-spring.toml"
DEBIAN_TOOLS = {
    Path("/usr/bin/chromium"): "chromium",
    Path("/usr/bin/strace"): "strace",
    Path("/usr/bin/fusermount3"): "fuse3",
    Path("/usr/bin/soffice"): "libreoffice-calc-nogui",
    Path("/usr/bin/npm"): "npm",
    Path("/usr/bin/openssl"): "openssl",
    Path("/usr/bin/caddy"): "caddy",
    Path("/usr/bin/certutil"): "libnss3-tools",
    Path("/usr/bin/systemd-analyze"): "systemd",
    Path("/usr/bin/redis-server"): "redis-server",
}
"""Programs some tests drive (the browser tests; the fsync and power-cut tests; the
workbook opened in LibreOffice; npm, which fetches the axe-core checker; openssl,
which makes the TLS tests' CA; Caddy, the reverse proxy of the deployment test, and
certutil, which puts that CA in the test browser's NSS database; systemd-analyze,
which checks the example unit; the gateway tests' private Redis), with their Debian
package."""
LOCKS = {"": ROOT / "requirements.lock", "test": ROOT / "requirements-test.lock"}
"""Exact versions with hashes, per extra: the runtime alone, and runtime plus tests."""
PIP_TOOLS = "pip-tools>=7.4,<8"
TOOLS = ROOT / ".tools"
"""npm packages the tests use (git-ignored), installed by ``ensure_axe``."""
AXE_VERSION = "4.11.0"
AXE = TOOLS / "node_modules" / "axe-core" / "axe.min.js"


def say(message: str) -> None:
    print(f"[tasks] {message}", flush=True)


def ensure_environment(extras: str) -> None:
    """Create the virtual environment and install livepoll (with ``extras``) if stale."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs under any python3
        sys.exit(f"livepoll needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    project = _install_fingerprint()
    installed = STAMP.read_text().split() if STAMP.exists() and PYTHON.exists() else []
    # An install with the test extra also serves `run`: no reinstall between the two.
    if installed[:1] == [project] and extras in ("", *installed[1:]):
        return
    if not PYTHON.exists():
        say(f"creating a virtual environment in {VENV}")
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except (subprocess.CalledProcessError, OSError) as error:
            shutil.rmtree(VENV, ignore_errors=True)
            sys.exit(
                f"could not create {VENV} ({error}). On Debian or Ubuntu install the venv "
                "module first: apt install python3-venv"
            )
    say(f"installing livepoll{f'[{extras}]' if extras else ''} into .venv (first run only)")
    _install(extras)
    STAMP.write_text(f"{project} {extras}".strip())


def _install_fingerprint() -> str:
    """What the installed environment depends on: pyproject.toml and the locks."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    for lock_file in LOCKS.values():
        if lock_file.exists():
            digest.update(lock_file.read_bytes())
    return digest.hexdigest()


def _install(extras: str) -> None:
    """Install the locked dependencies (hashes checked), then livepoll itself.

    Without a lock (a checkout that dropped it) pip resolves the ranges in
    pyproject.toml instead, as ``pip install .`` does.
    """
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    lock_file = LOCKS.get(extras)
    if lock_file is not None and lock_file.exists():
        subprocess.run([*pip, "install", "--require-hashes", "-r", str(lock_file)], check=True)
        subprocess.run([*pip, "install", "--no-deps", "-e", str(ROOT)], check=True)
        return
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    subprocess.run([*pip, "install", "-e", target], check=True)


def lock(args: list[str]) -> int:
    """Re-resolve the locks from pyproject.toml's ranges: the newest versions allowed,
    each pinned with the hashes of its files. Commit the changed lock files."""
    ensure_environment("test")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", PIP_TOOLS], check=True)
    env = dict(os.environ, CUSTOM_COMPILE_COMMAND="python3 tasks.py lock")
    for extras, lock_file in LOCKS.items():
        say(f"locking {lock_file.name}")
        command = [
            str(BIN / "pip-compile"),
            "--quiet",
            "--upgrade",
            "--generate-hashes",
            "--strip-extras",
            "--no-emit-index-url",
            "--no-emit-find-links",
            "--output-file",
            str(lock_file.relative_to(ROOT)),
            *(["--extra", extras] if extras else []),
            *args,
            "pyproject.toml",
        ]
        result = subprocess.run(command, cwd=ROOT, env=env)
        if result.returncode != 0:
            return result.returncode
    return 0


def ensure_debian_tools() -> None:
    """Install the Debian packages of the tools the tests drive, when we can (as root)."""
    missing = [package for path, package in DEBIAN_TOOLS.items() if not path.exists()]
    if not missing:
        return
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        say(f"installing Debian's {', '.join(missing)} for the tests that drive them")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([apt, "update", "-qq"], check=True, env=env)
        subprocess.run([apt, "install", "-y", "-qq", *missing], check=True, env=env)
        return
    say(
        f"{', '.join(missing)} missing: the tests that need them will be skipped (and fail "
        f"under CI). Install with: sudo apt-get install {' '.join(missing)}"
    )


def ensure_axe() -> None:
    """The accessibility tests inject axe-core (from npm) into the page; fetch it if missing."""
    installed = TOOLS / "node_modules" / "axe-core" / "package.json"
    if (
        AXE.exists()
        and installed.exists()
        and f'"version": "{AXE_VERSION}"' in installed.read_text()
    ):
        return
    npm = shutil.which("npm")
    if npm is None:
        say(
            "npm is missing: the accessibility tests will be skipped (and fail under CI). "
            "Install it with: sudo apt-get install npm"
        )
        return
    say(f"installing axe-core {AXE_VERSION} from npm into {TOOLS} for the accessibility tests")
    TOOLS.mkdir(exist_ok=True)
    command = [npm, "install", "--prefix", str(TOOLS), "--no-save", "--no-audit", "--no-fund"]
    subprocess.run([*command, f"axe-core@{AXE_VERSION}"], check=True)


def run_tool(*args: str) -> None:
    say(" ".join(args))
    result = subprocess.run([str(BIN / args[0]), *args[1:]], cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.returncode)


def test(pytest_args: list[str]) -> int:
    ensure_environment("test")
    ensure_debian_tools()
    ensure_axe()
    run_tool("ruff", "format", "--check", "src", "tests", "bench", "tasks.py")
    run_tool("ruff", "check", "src", "tests", "bench", "tasks.py")
    run_tool("mypy")
    run_tool("lint-imports")
    args = pytest_args or ["-n", "auto"]
    say("pytest " + " ".join(args))
    env = dict(os.environ, PYTHONASYNCIODEBUG="1")
    return subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=ROOT, env=env).returncode


def run(args: list[str]) -> int:
    ensure_environment("")
    if not args or args[0].startswith("-"):
        args = [str(DEFAULT_DECK), *args]
    command = [str(PYTHON), "-m", "livepoll", "run", *args]
    return subprocess.run(command).returncode


def livepoll(args: list[str]) -> int:
    """Any livepoll command, from the same environment (the same as .venv/bin/livepoll)."""
    ensure_environment("")
    return subprocess.run([str(PYTHON), "-m", "livepoll", *args]).returncode


TASKS = {"run": run, "test": test, "livepoll": livepoll, "lock": lock}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(__doc__)
        return 2
    task, rest = sys.argv[1], sys.argv[2:]
    try:
        return TASKS[task](rest)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
