"""The files in deploy/: what each one runs is a livepoll command line that starts.

No image is built here: this machine reaches no container registry, so
``podman build`` cannot fetch python:3.11-slim. What can be tested without one is:
the Containerfile's instructions (its base, the hash-locked install, the non-root
user, the volume, the health check), and that its ENTRYPOINT and CMD, the systemd
unit's ExecStart and the command the Caddyfile describes each start a real livepoll
server, whose /healthz the image's health check then finds healthy. Paths inside the
image or the machine (``/config``, ``/data``, ``/etc/livepoll``) are mapped to a
temporary directory, and every address to loopback, as the tests' rule is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from clients import connection_recv

ROOT = Path(__file__).parent.parent
DEPLOY = ROOT / "deploy"
POLLS = ROOT / "polls"
CADDY = Path("/usr/bin/caddy")
SYSTEMD_ANALYZE = Path("/usr/bin/systemd-analyze")
DEPLOY_PORT = "8321"


def needs(program: Path, package: str) -> None:
    """Skip without a Debian program (fail under CI, where nothing may skip)."""
    if not program.exists():
        message = f"{program} is not installed (apt-get install {package})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> str:
    """A loopback port free a moment ago, for a command line that names its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def instructions(containerfile: str) -> list[tuple[str, str]]:
    """The Containerfile's instructions as (keyword, arguments), continuations joined
    and comments dropped."""
    joined = re.sub(r"\\\n", " ", containerfile)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            found.append((keyword.upper(), " ".join(arguments.split())))
    return found


def mapped(argv: Sequence[str], paths: dict[str, Path], port: str) -> list[str]:
    """``argv`` with deployment paths mapped into the test's directory, the deployment
    port replaced by ``port`` (as an argument or in a loopback URL) and every wildcard
    listening address by loopback."""
    result = []
    for argument in argv:
        for prefix, local in paths.items():
            if argument.startswith(prefix):
                argument = str(local) + argument[len(prefix) :]
        argument = "127.0.0.1" if argument in ("0.0.0.0", "::") else argument
        argument = argument.replace(f"127.0.0.1:{DEPLOY_PORT}/", f"127.0.0.1:{port}/")
        result.append(port if argument == DEPLOY_PORT else argument)
    return result


@contextlib.asynccontextmanager
async def started(argv: Sequence[str]) -> AsyncIterator[dict[str, Any]]:
    """``livepoll ARGV...`` (argv[0] is the program, replaced by this interpreter's
    livepoll) started and its ready line read; Ctrl-C and a wait when done."""
    assert Path(argv[0]).name == "livepoll", argv
    command = [sys.executable, "-m", "livepoll", *argv[1:], "--ready-json"]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ, PYTHONASYNCIODEBUG=""),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        async with asyncio.timeout(60):
            line = await process.stdout.readline()
        if not line:
            raise AssertionError((await process.stderr.read()).decode())
        yield json.loads(line)
    finally:
        if process.returncode is None:
            process.terminate()
        async with asyncio.timeout(30):
            await process.wait()


def healthcheck(containerfile: list[tuple[str, str]]) -> list[str]:
    """The HEALTHCHECK's command (exec form), its options dropped."""
    (arguments,) = [arguments for keyword, arguments in containerfile if keyword == "HEALTHCHECK"]
    _, _, command = arguments.partition(" CMD ")
    parsed: list[str] = json.loads(command)
    return parsed


@pytest.fixture
def event_dir(tmp_path: Path) -> Path:
    """A config directory holding the sample event as event.toml, with its decks."""
    config = tmp_path / "config"
    config.mkdir()
    for deck in POLLS.glob("*.toml"):
        (config / deck.name).write_bytes(deck.read_bytes())
    (config / "event.toml").write_bytes((POLLS / "socitm-spring-event.toml").read_bytes())
    return config


def test_the_containerfile_installs_from_the_locks_and_runs_as_a_non_root_user() -> None:
    """Both stages start from python:3.11-slim; the dependencies come only from the hash
    lock, livepoll itself adds none; the server runs as uid 10001 with /data its own
    volume, and the health check asks /healthz."""
    steps = instructions((DEPLOY / "Containerfile").read_text())
    keywords = [keyword for keyword, _ in steps]
    bases = [arguments for keyword, arguments in steps if keyword == "FROM"]
    assert bases == [
        "docker.io/library/python:3.11-slim AS build",
        "docker.io/library/python:3.11-slim",
    ]
    runs = [arguments for keyword, arguments in steps if keyword == "RUN"]
    installs = [part for run in runs for part in run.split("&&") if "pip install" in part]
    assert len(installs) == 2, installs
    assert "--require-hashes -r /src/requirements.lock" in installs[0]
    assert "--no-deps" in installs[1]
    assert any("useradd --system --uid 10001 --gid livepoll" in run for run in runs)
    assert any("chown livepoll:livepoll /data" in run for run in runs)
    final = len(keywords) - 1 - keywords[::-1].index("FROM")
    users = [arguments for keyword, arguments in steps[final:] if keyword == "USER"]
    assert users == ["livepoll:livepoll"]
    assert keywords.index("USER", final) < keywords.index("ENTRYPOINT")
    assert ("VOLUME", '["/data"]') in steps
    assert ("EXPOSE", DEPLOY_PORT) in steps
    assert f"http://127.0.0.1:{DEPLOY_PORT}/healthz" in " ".join(healthcheck(steps))
    copied = [arguments.split()[:-1] for keyword, arguments in steps if keyword == "COPY"]
    sources = [source for sources in copied for source in sources if not source.startswith("--")]
    assert sorted(sources) == [
        "/opt/livepoll",
        "README.md",
        "pyproject.toml",
        "requirements.lock",
        "src",
    ]
    for source in ("README.md", "pyproject.toml", "requirements.lock", "src"):
        assert (ROOT / source).exists(), source
        assert f"!{source}" in (ROOT / ".containerignore").read_text().replace("src/", "src")


async def test_the_containers_command_starts_a_server_its_health_check_finds_healthy(
    event_dir: Path, tmp_path: Path
) -> None:
    """ENTRYPOINT + CMD start the event server on the database in /data, listening on
    every interface (mapped to loopback here); the HEALTHCHECK command then exits 0,
    and once the server is gone it fails."""
    steps = instructions((DEPLOY / "Containerfile").read_text())
    (entrypoint,) = [json.loads(a) for keyword, a in steps if keyword == "ENTRYPOINT"]
    (cmd,) = [json.loads(a) for keyword, a in steps if keyword == "CMD"]
    assert entrypoint == ["livepoll", "serve"]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert cmd[cmd.index("--db") + 1].startswith("/data/")
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    paths = {"/config": event_dir, "/data": data}
    check = mapped(healthcheck(steps), paths, port)
    assert check[0] == "python"
    check[0] = sys.executable

    def health() -> int:
        return subprocess.run(check, capture_output=True, timeout=30).returncode

    async with started(mapped([*entrypoint, *cmd], paths, port)) as ready:
        assert ready["port"] == int(port)
        assert set(ready["rooms"]) == {"main-hall", "room-2"}
        assert await asyncio.to_thread(health) == 0
    assert (data / "livepoll.db").exists()
    assert await asyncio.to_thread(health) != 0


def execstart(unit: str) -> list[str]:
    """The unit's ExecStart as an argument list (continuation lines joined)."""
    joined = re.sub(r"\\\n", " ", unit)
    (line,) = [line for line in joined.splitlines() if line.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify`` finds nothing to say about the unit (its program
    pointed at this environment's livepoll, which exists)."""
    needs(SYSTEMD_ANALYZE, "systemd")
    livepoll = Path(sys.executable).parent / "livepoll"
    assert livepoll.exists()
    unit = (DEPLOY / "livepoll.service").read_text()
    assert unit.count("/opt/livepoll/bin/livepoll serve") == 1
    local = tmp_path / "livepoll.service"
    local.write_text(unit.replace("/opt/livepoll/bin/livepoll serve", f"{livepoll} serve"))
    result = subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", str(local)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_the_systemd_unit_runs_as_its_own_user_with_the_token_from_a_credential() -> None:
    """A dedicated user, the token loaded as a credential and read with --token-file
    (never on the command line), and the hardening options the README promises."""
    unit = (DEPLOY / "livepoll.service").read_text()
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if re.match(r"^[A-Za-z]+=", line)
    )
    assert settings["User"] == "livepoll"
    assert settings["LoadCredential"] == "presenter-token:/etc/livepoll/presenter-token"
    argv = execstart(unit)
    assert argv[argv.index("--token-file") + 1] == "%d/presenter-token"
    assert "--token" not in argv
    for option, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "StateDirectory": "livepoll",
        "UMask": "0077",
    }.items():
        assert settings[option] == value, option


async def test_the_systemd_units_command_starts_a_server_that_takes_the_token_from_the_file(
    tmp_path: Path,
) -> None:
    """ExecStart, with systemd's %d (the credentials directory) and the machine's paths
    mapped, starts a server whose join URL is the public https one and whose presenter
    channel opens with the token in the credential file."""
    unit = (DEPLOY / "livepoll.service").read_text()
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    token = "unit-test-token-" + "u" * 24
    (credentials / "presenter-token").write_text(token + "\n")
    state = tmp_path / "state"
    state.mkdir()
    port = free_port()
    argv = [argument.replace("%d", str(credentials)) for argument in execstart(unit)]
    argv = mapped(argv, {"/etc/livepoll": POLLS, "/var/lib/livepoll": state}, port)
    async with started(argv) as ready:
        assert ready["join_url"] == "https://poll.example.org/"
        presenter = await connect(
            f"ws://127.0.0.1:{port}/presenter",
            additional_headers={"Authorization": f"Bearer {token}"},
        )
        assert (await connection_recv(presenter))["type"] == "welcome"
        await presenter.close()
    assert (state / "livepoll.db").exists()


def caddyfile_command() -> list[str]:
    """The ``livepoll serve`` command deploy/Caddyfile's comments tell the reader to run."""
    text = (DEPLOY / "Caddyfile").read_text()
    lines = [line.removeprefix("#").strip() for line in text.splitlines()]
    start = next(n for n, line in enumerate(lines) if line.startswith("livepoll serve"))
    command = lines[start]
    while command.endswith("\\"):
        start += 1
        command = command[:-1] + " " + lines[start]
    return shlex.split(command)


def test_the_caddyfile_proxies_its_host_name_to_livepoll_on_loopback(tmp_path: Path) -> None:
    """Caddy reads deploy/Caddyfile (``caddy adapt``): HTTPS on 443 for the host name
    with an automatic certificate, everything proxied to 127.0.0.1:8321, where the
    command in its comments has livepoll listen; and the file is as ``caddy fmt``
    writes it."""
    needs(CADDY, "caddy")
    environment = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path))
    adapted = subprocess.run(
        [str(CADDY), "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=True,
    )
    config = json.loads(adapted.stdout)
    (server,) = config["apps"]["http"]["servers"].values()
    assert server["listen"] == [":443"]
    (route,) = server["routes"]
    assert route["match"] == [{"host": ["poll.example.org"]}]
    handlers = json.dumps(route["handle"])
    assert '"handler": "reverse_proxy"' in handlers
    assert '"upstreams": [{"dial": "127.0.0.1:8321"}]' in handlers
    (policy,) = config["apps"]["tls"]["automation"]["policies"]
    assert policy["subjects"] == ["poll.example.org"]
    formatted = subprocess.run(
        [str(CADDY), "fmt", str(DEPLOY / "Caddyfile")],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=True,
    )
    assert formatted.stdout == (DEPLOY / "Caddyfile").read_text()
    argv = caddyfile_command()
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == DEPLOY_PORT
    assert argv[argv.index("--trusted-proxy") + 1] == "127.0.0.1"
    assert argv[argv.index("--public-url") + 1] == "https://poll.example.org/"


async def test_the_caddyfiles_livepoll_command_starts_a_server(
    event_dir: Path, tmp_path: Path
) -> None:
    """The command deploy/Caddyfile describes starts the event server with the public
    https URL as its join URL."""
    port = free_port()
    paths = {"EVENT.toml": event_dir / "event.toml", "/var/lib/livepoll": tmp_path}
    async with started(mapped(caddyfile_command(), paths, port)) as ready:
        assert ready["join_url"] == "https://poll.example.org/"
        assert ready["rooms"]["main-hall"]["join_url"] == "https://poll.example.org/r/main-hall/"
