"""HTTPS and WSS served by livepoll itself, from a certificate and key in PEM files.

On a venue server or a VM without a reverse proxy, ``--tls-cert`` and ``--tls-key``
make the one process speak TLS: the page loads over ``https://`` and, because the
page derives its socket's scheme from its own, phones then speak ``wss://``. Phones
insist on HTTPS for much (camera QR scanners open https links first; browsers mark
http pages not secure), and on an open venue Wi-Fi TLS keeps tokens and votes off
the air.

The files are checked at start, so that a wrong path, a key that is not the
certificate's, or a key protected by a passphrase is one clear line before anything
listens, rather than a traceback or a prompt on a server nobody is watching.

Certificates are renewed every few months (Let's Encrypt's last 90 days, and certbot
renews at any hour); restarting the server for that would drop every phone in the
middle of a keynote. So ``serve`` reloads the files on SIGHUP (``systemctl reload``):
new handshakes get the new certificate, open connections are left alone. New files
are checked first; if they are unusable, the server keeps the certificate it has.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

logger = logging.getLogger("livepoll.server")


class TlsError(Exception):
    """The certificate or key cannot be used; the message says why, in one line."""


def _readable(path: Path, what: str) -> None:
    """Fail with the file's own problem (missing, unreadable, a directory)."""
    try:
        with path.open("rb") as file:
            file.read(1)
    except OSError as error:
        reason = error.strerror or str(error)
        raise TlsError(f"cannot read the TLS {what} {path}: {reason}") from None


def _refuse_passphrase() -> str:
    """Called by OpenSSL when the key is encrypted: a server cannot ask anyone."""
    raise TlsError("is protected by a passphrase")


def server_context(certificate: Path, key: Path) -> ssl.SSLContext:
    """An SSL context for the server from a PEM certificate chain and its private key.

    The chain is the server's certificate first, then any intermediates (as
    Let's Encrypt's ``fullchain.pem``). TLS 1.2 is the oldest version offered:
    every phone browser of the last ten years speaks it.

    Raises:
        TlsError: a file is missing or unreadable, the certificate file holds no
            certificate, the key is not a key, is encrypted, or is not the key of
            the certificate.
    """
    _readable(certificate, "certificate")
    _readable(key, "key")
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        probe.load_verify_locations(cafile=certificate)
    except ssl.SSLError:
        raise TlsError(
            f"the TLS certificate {certificate} holds no PEM certificate "
            "(expected -----BEGIN CERTIFICATE-----)"
        ) from None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(certificate, key, password=_refuse_passphrase)
    except TlsError:
        raise TlsError(
            f"the TLS key {key} is protected by a passphrase; give livepoll an "
            "unencrypted key readable only by its user"
        ) from None
    except ssl.SSLError as error:
        if "KEY_VALUES_MISMATCH" in str(error) or "key values mismatch" in str(error):
            raise TlsError(
                f"the TLS key {key} is not the private key of the certificate {certificate}"
            ) from None
        raise TlsError(
            f"the TLS key {key} holds no usable PEM private key "
            "(expected -----BEGIN PRIVATE KEY-----)"
        ) from None
    return context


class ServerTls:
    """The server's TLS: its context, and the files it came from, to reload them."""

    def __init__(self, certificate: Path, key: Path) -> None:
        """Load and check the files.

        Raises:
            TlsError: as :func:`server_context`.
        """
        self.certificate = certificate
        self.key = key
        self.context = server_context(certificate, key)

    def reload(self) -> bool:
        """Load the files again into the live context, if they are usable; log either way.

        Returns:
            Whether the new files are in use (False: the previous ones still are).
        """
        try:
            server_context(self.certificate, self.key)
            self.context.load_cert_chain(self.certificate, self.key, password=_refuse_passphrase)
        except (TlsError, ssl.SSLError, OSError) as error:
            logger.error("TLS: kept the current certificate; the files are unusable: %s", error)
            return False
        logger.info("TLS: reloaded the certificate %s", self.certificate)
        return True
