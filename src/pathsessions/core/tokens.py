"""Bearer tokens: `<payload>.<signature>`, HMAC-SHA256 over company, key and expiry.

A token names the API key it was issued for, so revoking that key ends the token too: the
check on each request joins to the key, exactly like API-key authentication does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from .values import is_object_id

TOKEN_LIFETIME_MS = 3_600_000


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
    """The claims of a well-signed, unexpired token; None for anything else."""
    parts = token.split(".")
    # Our tokens are ASCII; compare_digest refuses to compare non-ASCII strings.
    if len(parts) != 4 or not token.isascii():
        return None
    company_id, key_id, expiry, signature = parts
    if not hmac.compare_digest(_sign(secret, f"{company_id}.{key_id}.{expiry}"), signature):
        return None
    if not (is_object_id(company_id) and is_object_id(key_id)):
        return None
    expires_at = int(expiry, 16)
    if expires_at <= now:
        return None
    return TokenClaims(company_id, key_id, expires_at)
