"""Bearer tokens: `<payload>.<signature>`, HMAC-SHA256 over company, key and expiry.

A token names the API key it was issued for, so revoking that key ends the token too: the
check on each request joins to the key, exactly like API-key authentication does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

TOKEN_LIFETIME_MS = 3_600_000

# The payload exactly as `issue` writes it, and nothing else: ids in lower-case hex, the expiry
# in lower-case hex without sign, prefix, separator, space or leading zero, and at most 13
# digits (milliseconds up to the year 144,000; `int` reads whatever the pattern lets through).
# `int(expiry, 16)` alone would take `+1f`, ` 1f`, `0x1f` and `1_f`, and raise on garbage.
_PAYLOAD = re.compile(r"([0-9a-f]{24})\.([0-9a-f]{24})\.([1-9a-f][0-9a-f]{0,12})")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    company_id: str
    key_id: str
    expires_at: int  # milliseconds since the epoch


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sign(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def issue(secret: bytes, company_id: str, key_id: str, now: int) -> str:
    payload = f"{company_id}.{key_id}.{now + TOKEN_LIFETIME_MS:x}"
    return f"{payload}.{_sign(secret, payload)}"


def verify(secret: bytes, token: str, now: int) -> TokenClaims | None:
    """The claims of a well-signed, unexpired token; None for anything else.

    The payload is parsed before the signature is checked, so a token signed with our secret
    but laid out otherwise than `issue` lays it out is refused like any other."""
    # Our tokens are ASCII; compare_digest refuses to compare non-ASCII strings.
    if not token.isascii():
        return None
    payload, _, signature = token.rpartition(".")
    fields = _PAYLOAD.fullmatch(payload)
    if fields is None:
        return None
    if not hmac.compare_digest(_sign(secret, payload), signature):
        return None
    company_id, key_id, expiry = fields.groups()
    expires_at = int(expiry, 16)
    if expires_at <= now:
        return None
    return TokenClaims(company_id, key_id, expires_at)
