"""End to end behind a real TLS reverse proxy: Debian's Caddy in front of livepoll.

The deployment the README describes for a venue server or a VM, on loopback: Caddy
terminates TLS with a certificate from the test CA and proxies to ``livepoll serve
--trusted-proxy 127.0.0.1 --public-url https://localhost:PORT/``. Chromium trusts
the test CA the way a managed machine would, through an NSS database in its HOME
(``certutil``), with no flag that weakens certificate checks and nothing changed in
the product; it opens the https join URL and votes over wss.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, WebSocket, async_playwright, expect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, PHONE, Chair, PageRecorder
from clients import connection_recv, new_voter_token
from serving import serve_process, stop_process
from tls_certs import TestCA

pytestmark = pytest.mark.browser

CADDY = Path("/usr/bin/caddy")
CERTUTIL = Path("/usr/bin/certutil")
TOKEN = "deploy-test-token-" + "x" * 24
DECK = """
title = "Behind the proxy"

[[questions]]
id = "q1"
type = "single"
prompt = "Did this vote cross a TLS proxy?"
options = ["Yes", "No"]
"""


def needs(*programs: tuple[Path, str]) -> None:
    """Skip without these Debian programs (fail under CI, where nothing may skip)."""
    for program, package in programs:
        if not program.exists():
            message = f"{program} is not installed (apt-get install {package})"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)


def free_port() -> int:
    """A loopback port free a moment ago (Caddy cannot be told to pick one itself)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


DEPLOY = Path(__file__).parent.parent / "deploy"
PUBLIC_SITE = "poll.example.org {"
UPSTREAM = "reverse_proxy 127.0.0.1:8321"
TEST_OPTIONS = """{{
	admin off
	auto_https off
	storage file_system {data}
}}
"""


def caddyfile_for_test(directory: Path, port: int, upstream: int, ca: TestCA) -> str:
    """deploy/Caddyfile as shipped, with what only a test changes: its site on a loopback
    port with the test CA's certificate instead of an automatic one, the upstream's
    port, and global options without the admin endpoint or certificate automation."""
    shipped = (DEPLOY / "Caddyfile").read_text()
    assert shipped.count(PUBLIC_SITE) == 1
    assert shipped.count(UPSTREAM) == 1
    options_start, options_end = shipped.index("\n{\n") + 1, shipped.index("\n}\n") + 3
    site = f"https://localhost:{port} {{\n\tbind 127.0.0.1\n\ttls {ca.cert} {ca.key}"
    return (
        shipped[:options_start]
        + TEST_OPTIONS.format(data=directory / "data")
        + shipped[options_end:]
        .replace(PUBLIC_SITE, site)
        .replace(UPSTREAM, f"reverse_proxy 127.0.0.1:{upstream}")
    )


def caddy_config(directory: Path, port: int, upstream: int, ca: TestCA) -> Path:
    """Write the Caddyfile and have Caddy check it, so a mistake in it shows as Caddy's
    own message rather than as a proxy that never answers."""
    needs((CADDY, "caddy"))
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "Caddyfile"
    config.write_text(caddyfile_for_test(directory, port, upstream, ca))
    checked = subprocess.run(
        [str(CADDY), "validate", "--config", str(config), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
        env=caddy_environment(directory),
    )
    assert checked.returncode == 0, checked.stderr
    return config


def caddy_environment(directory: Path) -> dict[str, str]:
    """Caddy keeps its state under HOME and the XDG directories: all in ``directory``."""
    return dict(
        os.environ,
        HOME=str(directory),
        XDG_DATA_HOME=str(directory / "data"),
        XDG_CONFIG_HOME=str(directory / "config"),
    )


@contextlib.asynccontextmanager
async def caddy(directory: Path, config: Path, port: int) -> AsyncIterator[None]:
    """Caddy running ``config``, listening on 127.0.0.1:``port``; stopped and waited for
    after."""
    log = (directory / "caddy.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        str(CADDY), "run", "--config", str(config), "--adapter", "caddyfile",
        stdout=log, stderr=log, env=caddy_environment(directory),
    )  # fmt: skip
    try:
        async with asyncio.timeout(30):
            while True:  # until Caddy listens, however long a loaded machine takes
                assert process.returncode is None, (directory / "caddy.log").read_text()
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    await writer.wait_closed()
                    break
                await asyncio.sleep(0.05)
        yield
    finally:
        await stop_process(process, within=10)
        log.close()


@dataclass
class Deployment:
    """livepoll behind Caddy: the public https URL, the ready line and the database."""

    url: str
    ready: dict[str, Any]
    database: Path
    ca: TestCA

    def wss(self, path: str) -> str:
        """The public WebSocket URL of ``path`` (through the proxy)."""
        return self.url.replace("https://", "wss://", 1).rstrip("/") + path


@pytest.fixture
async def deployment(tmp_path: Path, test_ca: TestCA) -> AsyncIterator[Deployment]:
    """``livepoll serve`` on a loopback port behind Caddy with TLS on another."""
    deck = tmp_path / "deck.toml"
    deck.write_text(DECK)
    database = tmp_path / "poll.db"
    port = free_port()
    url = f"https://localhost:{port}/"
    options = ("--trusted-proxy", "127.0.0.1", "--public-url", url, "--max-per-address", "1")
    async with (
        serve_process(deck, database, TOKEN, *options, log=tmp_path / "livepoll.log") as ready,
        caddy(
            tmp_path / "caddy", caddy_config(tmp_path / "caddy", port, ready["port"], test_ca), port
        ),
    ):
        yield Deployment(url, ready, database, test_ca)


def nss_home(directory: Path, ca: TestCA) -> Path:
    """A HOME whose NSS database (where Chromium on Linux looks) trusts ``ca`` to
    identify web sites, as ``certutil`` would set it up on a managed machine."""
    needs((CERTUTIL, "libnss3-tools"))
    database = directory / ".pki" / "nssdb"
    database.mkdir(parents=True)
    certutil = [str(CERTUTIL), "-d", f"sql:{database}"]
    subprocess.run([*certutil, "-N", "--empty-password"], check=True, timeout=60)
    subprocess.run(
        [*certutil, "-A", "-t", "C,,", "-n", "livepoll test CA", "-i", str(ca.ca_cert)],
        check=True,
        timeout=60,
    )
    return directory


@pytest.fixture
async def trusting_browser(tmp_path: Path, test_ca: TestCA) -> AsyncIterator[Browser]:
    """Headless Debian Chromium whose HOME's NSS database trusts the test CA."""
    needs((CHROMIUM, "chromium"))
    home = nss_home(tmp_path / "home", test_ca)
    playwright = await async_playwright().start()
    try:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env=dict(os.environ, HOME=str(home))
        )
        yield launched
        await launched.close()
    finally:
        await playwright.stop()


@pytest.fixture
def recorder() -> Iterator[PageRecorder]:
    """No page may log a console error (a refused certificate would) or a script error."""
    recorder = PageRecorder()
    yield recorder
    assert recorder.unexpected_console_errors() == [], "the page logged errors"
    assert recorder.page_errors == [], "a script failed on the page"


async def open_chair(deployment: Deployment) -> ClientConnection:
    """The chair's console connection, through the proxy over wss, as ``livepoll
    present https://…`` makes it."""
    connection = await connect(
        deployment.wss("/presenter"),
        ssl=deployment.ca.client_context(),
        additional_headers={"Authorization": f"Bearer {TOKEN}"},
    )
    welcome = await connection_recv(connection)
    assert welcome["type"] == "welcome"
    assert welcome["join_url"] == deployment.url
    return connection


def stored_answers(database: Path) -> list[str]:
    """The stored answers of the session, as JSON."""
    with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
        return [row[0] for row in db.execute("SELECT answer FROM responses")]


async def test_chromium_votes_through_the_tls_proxy_over_wss(
    deployment: Deployment, trusting_browser: Browser, recorder: PageRecorder
) -> None:
    """Chromium opens the https join URL, its socket is wss through Caddy, and its vote
    is acknowledged, counted and in the database."""
    assert deployment.ready["join_url"] == deployment.url
    chair = Chair(await open_chair(deployment))
    context = await trusting_browser.new_context(**PHONE)
    page = await context.new_page()
    page.set_default_timeout(30_000)
    recorder.attach(page)
    sockets: list[str] = []

    def on_websocket(websocket: WebSocket) -> None:
        sockets.append(websocket.url)

    page.on("websocket", on_websocket)
    response = await page.goto(deployment.url)
    assert response is not None
    assert response.ok
    security = await response.security_details()
    assert security is not None
    assert security.get("issuer") == "livepoll test CA"

    await chair.press("toggle_voting")
    await expect(page.locator("legend")).to_have_text("Did this vote cross a TLS proxy?")
    await page.get_by_role("radio", name="Yes").check()
    await page.locator("#submit").click()
    await expect(page.locator("#status")).to_contain_text("Your answer is saved")
    await chair.wait_for_counts([1, 0], respondents=1)
    assert stored_answers(deployment.database) == ["[0]"]
    assert sockets == [deployment.wss("/ws")]
    await context.close()
    await chair.connection.close()


async def test_a_header_forged_through_the_proxy_does_not_lift_the_cap(
    deployment: Deployment,
) -> None:
    """With one phone allowed per address, a second phone that forges X-Forwarded-For
    through the proxy is still refused: the address that counts is the one the proxy
    saw, not one a phone wrote."""
    context = deployment.ca.client_context()
    first = await connect(
        deployment.wss("/ws"), ssl=context, additional_headers={"X-Forwarded-For": "192.0.2.1"}
    )
    await first.send(json.dumps({"type": "hello", "voter": new_voter_token()}))
    assert (await connection_recv(first))["type"] == "state"
    with pytest.raises(InvalidStatus) as refused:
        await connect(
            deployment.wss("/ws"),
            ssl=context,
            additional_headers={"X-Forwarded-For": "192.0.2.2"},
        )
    assert refused.value.response.status_code == 429
    await first.close()
