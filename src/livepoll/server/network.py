"""Finding the address phones should use, without sending any traffic.

The join URL printed under the QR code must name an address the phones in the room
can reach: the laptop's address on the venue network, not 127.0.0.1. Asking the
kernel which local address it *would* use to reach the outside world answers that:
``connect()`` on a UDP socket only selects a route and sends nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

_ROUTE_PROBES = (
    # Documentation-only addresses (RFC 5737 / RFC 3849): never contacted, because a
    # UDP connect() sends no packet; they only make the kernel pick the outgoing route.
    (socket.AF_INET, "192.0.2.1"),
    (socket.AF_INET6, "2001:db8::1"),
)

WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


def lan_address() -> str | None:
    """The local address of the default route, or None on a machine with no network."""
    for family, probe in _ROUTE_PROBES:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe_socket:
                probe_socket.connect((probe, 9))
                address = str(probe_socket.getsockname()[0])
        except OSError:
            continue
        if not ipaddress.ip_address(address).is_loopback:
            return address
    return None


def url_host(host: str) -> str:
    """A host as it goes in a URL: IPv6 literals need brackets."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


def join_url(
    bind_host: str | None, port: int, public_url: str | None, *, tls: bool = False
) -> tuple[str, str | None]:
    """The URL attendees open, and a warning for the chair when it may not work.

    Args:
        bind_host: the address the server listens on (None or a wildcard: all).
        port: the port it listens on.
        public_url: the chair's explicit choice (a tunnel, a venue DNS name, the
            ``https://`` name of a reverse proxy), used as given.
        tls: the server speaks HTTPS itself, so a URL it makes up says ``https``.
    """
    scheme = "https" if tls else "http"
    if public_url:
        url = public_url if public_url.endswith("/") else public_url + "/"
        if tls and urlsplit(url).scheme.lower() == "http":
            return url, "--public-url says http:// but this server speaks only HTTPS"
        return url, None
    no_name = (
        "phones will be warned unless the certificate names this address: "
        "give its host name with --public-url https://NAME:PORT/"
    )
    if bind_host is None or bind_host in WILDCARD_HOSTS:
        address = lan_address()
        if address is None:
            no_network = "no network found: phones cannot reach this laptop; use --public-url"
            return f"{scheme}://127.0.0.1:{port}/", no_network
        return f"{scheme}://{url_host(address)}:{port}/", no_name if tls else None
    warning: str | None = None
    try:
        if ipaddress.ip_address(bind_host).is_loopback:
            warning = f"listening on {bind_host} only: phones cannot reach it (use --host 0.0.0.0)"
        elif tls:
            warning = no_name  # a certificate names a host; an address rarely
    except ValueError:
        pass  # a host name, as the certificate would have it
    return f"{scheme}://{url_host(bind_host)}:{port}/", warning
