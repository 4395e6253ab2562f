"""Where a delivery may go: the URL's host resolved once, every address checked, and the
connection made to the address checked (never resolved again, so a name that changes its
answer between the check and the connection, DNS rebinding, gains nothing).

Refused unless allowed: loopback, link-local, private, unspecified, multicast, reserved and
any other non-global address, IPv4 ones written as IPv6 included.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_KINDS = (
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_unspecified", "unspecified"),
    ("is_multicast", "multicast"),
    ("is_private", "private"),
    ("is_reserved", "reserved"),
)


class Refused(Exception):
    """The target may not be called; the message says why (no secret in it)."""


@dataclass(frozen=True)
class Target:
    url: str  # the URL with the checked address in place of the host name
    host: str  # the Host header: the URL's own host (and port)
    sni: str | None  # the name TLS checks the certificate against (https only)


def refusal(address: IPAddress) -> str | None:
    """Why a delivery to `address` is refused, or None if it is a global address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for flag, kind in _KINDS:
        if getattr(address, flag):
            return f"{kind} address {address}"
    if not address.is_global:
        return f"non-global address {address}"
    return None


async def resolve(url: str, allow_private: bool) -> Target:
    """The target of `url`: Refused for a forbidden address; OSError when the name does not
    resolve."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise OSError(f"{host} has no address")
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                raise Refused(f"{host} is a {reason}" if str(address) != host else reason)
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{literal}:{port}"
    host_header = parts.netloc.rpartition("@")[2]
    sni = host if parts.scheme == "https" else None
    return Target(urlunsplit(parts._replace(netloc=netloc)), host_header, sni)


def origin(url: str) -> str:
    """What a log line may say of a URL: its scheme and host, never its path or query (which
    may carry a receiver's token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}"
