"""A test certificate authority and server certificates, made with the openssl command.

The TLS tests trust this CA the way a real client would (a Python SSL context
loading it, Chromium's NSS database holding it), so no test turns verification off.
The ``cryptography`` package is not a dependency; Debian's ``openssl`` is enough.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

OPENSSL = Path("/usr/bin/openssl")


def _openssl(*arguments: str | Path, cwd: Path) -> None:
    subprocess.run(
        [str(OPENSSL), *map(str, arguments)], cwd=cwd, check=True, capture_output=True, timeout=60
    )


@dataclass(frozen=True)
class TestCA:
    """A CA certificate and a server certificate it signed for localhost and 127.0.0.1."""

    __test__ = False  # not a test class, whatever its name

    ca_cert: Path
    cert: Path
    """The server's certificate followed by nothing else: it is signed by the CA itself."""
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this CA alone, with every check on."""
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        return context


def needs_openssl() -> None:
    """Skip without the openssl command (fail under CI, where nothing may skip)."""
    if not OPENSSL.exists():
        message = f"{OPENSSL} is not installed (apt-get install openssl)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def make_ca(directory: Path, name: str = "livepoll test CA") -> TestCA:
    """A fresh CA in ``directory`` and a server certificate for localhost signed by it.

    P-256 keys and a 30-day lifetime: quick to make, and acceptable to Chromium (which
    wants a subjectAltName and refuses leaf certificates valid for over 398 days).
    """
    needs_openssl()
    directory.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
        "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost",
        cwd=directory,
    )  # fmt: skip
    (directory / "server.ext").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "30", "-extfile", "server.ext", "-out", "server.pem",
        cwd=directory,
    )  # fmt: skip
    return TestCA(directory / "ca.pem", directory / "server.pem", directory / "server.key")


async def handshake_ok(port: int, context: ssl.SSLContext) -> bool:
    """Whether a TLS handshake with ``context`` succeeds against localhost:``port``."""
    try:
        _, writer = await asyncio.open_connection(
            "localhost", port, ssl=context, ssl_handshake_timeout=10
        )
    except ssl.SSLCertVerificationError:
        return False
    writer.close()
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        await writer.wait_closed()
    return True
