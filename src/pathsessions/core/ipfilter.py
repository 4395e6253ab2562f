"""The addresses a session's IP filtering may authorise: an IPv4 or IPv6 address, a CIDR block
of either, or an IPv4 address with `*` for whole octets (`56.231.*.85`).

Imports nothing of ours.
"""

from __future__ import annotations

import ipaddress
import re

# Decimal octets without leading zeros (`010` is octal to some parsers, decimal to others).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_WILDCARD = re.compile(rf"(?:{_OCTET}|\*)(?:\.(?:{_OCTET}|\*)){{3}}")


def is_authorizable(address: str) -> bool:
    """Whether `address` is one of the accepted forms. Zone ids (`fe80::1%eth0`) are not: an
    interface name means nothing to a remote server."""
    if "%" in address or address != address.strip():
        return False
    if "*" in address:
        return _WILDCARD.fullmatch(address) is not None
    try:
        if "/" in address:
            # Host bits may be set (`96.127.36.47/28`): the block is the one holding them.
            ipaddress.ip_network(address, strict=False)
        else:
            ipaddress.ip_address(address)
    except ValueError:
        return False
    return True
