"""Which network addresses a download or an upload link may reach: IP literals and public ranges."""

from __future__ import annotations

import ipaddress
import re
import socket
from ipaddress import IPv4Address, IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def ip_literal(host: str) -> IPv4Address | IPv6Address | None:
    """The address if ``host`` is an IP literal, including forms like ``2130706433`` or ``0x7f.1``.

    Those legacy IPv4 spellings are accepted by ``inet_aton`` and so by most resolvers.
    """
    text = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and re.fullmatch(r"[0-9a-fA-FxX.]+", text) and any(c.isdigit() for c in text):
        try:
            return IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def is_public_address(ip: IPv4Address | IPv6Address) -> bool:
    """True only for globally routable unicast addresses (IPv4 embedded in IPv6 is judged as IPv4)."""
    if isinstance(ip, IPv6Address):
        embedded = (
            ip.ipv4_mapped or ip.sixtofour or (IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        )
        if embedded is not None:
            return is_public_address(embedded)
    blocked = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
    return ip.is_global and not blocked and not ip.is_unspecified
