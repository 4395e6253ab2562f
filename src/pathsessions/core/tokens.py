"""Bearer tokens: `<payload>.<signature>`, HMAC-SHA256 over the payload.

v1's payload is company, key and expiry; v2's is `v2`, credential and expiry. The two layouts
cannot be taken for each other (v2's starts with a field v1's never has), so a token of one
version is refused by the other however well it is signed. A token names the API key or the
credential it was issued for, so revoking that ends the token too: the check on each request
joins to it, exactly like API-key authentication does.
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
# v2's, under the same discipline: the version tag, the credential's id, the expiry.
_V2_PAYLOAD = re.compile(r"v2\.([0-9a-f]{24})\.([1-9a-f][0-9a-f]{0,12})")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    company_id: str
    key_id: str
    expires_at: int  # milliseconds since the epoch


@dataclass(frozen=True, slots=True)
class CredentialClaims:
    credential_id: str
    expires_at: int  # milliseconds since the epoch


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sign(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def issue(secret: bytes, company_id: str, key_id: str, now: int) -> str:
    payload = f"{company_id}.{key_id}.{now + TOKEN_LIFETIME_MS:x}"
    return f"{payload}.{_sign(secret, payload)}"


def issue_v2(secret: bytes, credential_id: str, now: int) -> str:
    payload = f"v2.{credential_id}.{now + TOKEN_LIFETIME_MS:x}"
    return f"{payload}.{_sign(secret, payload)}"


def _signed_fields(secret: bytes, token: str, layout: re.Pattern[str]) -> tuple[str, ...] | None:
    """The fields of a token whose payload is laid out exactly as `layout` and whose signature
    is ours. The payload is parsed before the signature is checked, so a token signed with our
    secret but laid out otherwise than the issuer lays it out is refused like any other."""
    # Our tokens are ASCII; compare_digest refuses to compare non-ASCII strings.
    if not token.isascii():
        return None
    payload, _, signature = token.rpartition(".")
    fields = layout.fullmatch(payload)
    if fields is None:
        return None
    if not hmac.compare_digest(_sign(secret, payload), signature):
        return None
    return fields.groups()


def verify(secret: bytes, token: str, now: int) -> TokenClaims | None:
    """The claims of a well-signed, unexpired v1 token; None for anything else."""
    fields = _signed_fields(secret, token, _PAYLOAD)
    if fields is None:
        return None
    company_id, key_id, expiry = fields
    expires_at = int(expiry, 16)
    if expires_at <= now:
        return None
    return TokenClaims(company_id, key_id, expires_at)


def verify_v2(secret: bytes, token: str, now: int) -> CredentialClaims | None:
    """The claims of a well-signed, unexpired v2 token; None for anything else."""
    fields = _signed_fields(secret, token, _V2_PAYLOAD)
    if fields is None:
        return None
    credential_id, expiry = fields
    expires_at = int(expiry, 16)
    if expires_at <= now:
        return None
    return CredentialClaims(credential_id, expires_at)
