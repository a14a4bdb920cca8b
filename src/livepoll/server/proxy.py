"""Which address a phone has when a reverse proxy stands in front of the server.

Behind a TLS proxy (Caddy, nginx) every connection comes from the proxy, so the
per-address cap, the limits on wrong codes, tickets and tokens, and the log lines
would all see one address: a single guesser would lock the whole room out, and the
cap would refuse the second phone. The proxy says whom it forwarded in
``X-Forwarded-For``; but anyone can send that header, so it is believed only from
a peer the operator named with ``--trusted-proxy``, and never from anyone else.

The rule (as nginx's ``real_ip_recursive`` and Caddy's own ``trusted_proxies``):
read the header's addresses from the right, skip the ones that are themselves
trusted proxies (a chain: a load balancer, then Caddy), and take the first that is
not. Everything left of it was written by the client and proves nothing. When the
header is absent, or an entry on that walk is not an address, the TCP peer's
address counts: a broken proxy must not let phones pick their own address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_FOR = "X-Forwarded-For"


def parse_network(text: str) -> IPNetwork:
    """A ``--trusted-proxy`` value: an IP address (one host) or a network in CIDR form.

    Raises:
        ValueError: with a message fit to show the operator as it is.
    """
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an IP address or network (e.g. 127.0.0.1, 10.0.0.0/8, ::1)"
        ) from None


def _plain(address: IPAddress) -> IPAddress:
    """An IPv4 address seen through a dual-stack socket (``::ffff:a.b.c.d``) as IPv4,
    so that ``--trusted-proxy 127.0.0.1`` also matches a server listening on ``::``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _forwarded_entry(text: str) -> IPAddress | None:
    """One X-Forwarded-For entry as an address, or None when it is not one.

    Besides a bare address, some proxies write a port (``192.0.2.7:51000``,
    ``[2001:db8::7]:51000``) or a bracketed IPv6 address; those are accepted too.
    """
    entry = text.strip()
    if entry.startswith("["):
        host, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        entry = host
    elif entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if not port.isdigit():
            return None
        entry = host
    try:
        return _plain(ipaddress.ip_address(entry))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The peers whose ``X-Forwarded-For`` is believed; none by default."""

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, values: Iterable[str]) -> TrustedProxies:
        """From ``--trusted-proxy`` values.

        Raises:
            ValueError: a value is not an address or network (the message says which).
        """
        return cls(tuple(parse_network(value) for value in values))

    def trusts(self, address: IPAddress) -> bool:
        """Whether ``address`` is one of the trusted proxies."""
        plain = _plain(address)
        return any(plain in network for network in self.networks)

    def client_address(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The address that counts for a connection from ``peer``.

        Args:
            peer: the TCP peer's address, as the socket reports it.
            forwarded_for: every ``X-Forwarded-For`` header value of the request, in
                order (several headers read as one list, as HTTP defines).
        """
        if not self.networks:
            return peer
        try:
            peer_address = ipaddress.ip_address(peer)
        except ValueError:
            return peer
        if not self.trusts(peer_address):
            return peer
        entries = [item for value in forwarded_for for item in value.split(",")]
        entries = [item for item in entries if item.strip()]
        chosen: IPAddress | None = None
        for text in reversed(entries):
            address = _forwarded_entry(text)
            if address is None:
                return peer
            chosen = address
            if not self.trusts(address):
                return str(address)
        # Every hop was a trusted proxy: the left-most is the nearest we know of the phone.
        return str(chosen) if chosen is not None else peer


NO_PROXIES = TrustedProxies()
"""The default: no peer is a proxy, so X-Forwarded-For is never read."""
