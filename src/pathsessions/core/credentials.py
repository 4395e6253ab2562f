"""Credentials -> company: API keys, and bearer tokens issued for them.

A version's façade reads the credentials from the request (its headers, query, or token
request body); these functions decide. Every failure is UNAUTHENTICATED, or INVALID_CLIENT
when a token is asked for.
"""

from __future__ import annotations

import msgspec

from ..storage import Database
from ..storage import companies as store
from . import tokens
from .clock import Clock
from .errors import DomainError, ErrorCode
from .keys import matching_key
from .model import Company
from .values import is_object_id


async def company_for_key(db: Database, company_id: str | None, key: str | None) -> Company:
    """The company whose active API key `key` is."""
    if not key or company_id is None or not is_object_id(company_id):
        raise DomainError(ErrorCode.UNAUTHENTICATED)
    company, active = await store.active_keys(db, company_id.lower())
    # The key is hashed and compared even when the company has no active key (against a
    # dummy digest), so an unknown company takes the time a wrong key does.
    key_id = matching_key(key, active)
    if company is None or key_id is None:
        raise DomainError(ErrorCode.UNAUTHENTICATED)
    return company


async def company_for_token(db: Database, clock: Clock, secret: bytes, token: str) -> Company:
    """The company of a well-signed, unexpired token whose key is still active."""
    claims = tokens.verify(secret, token, clock.now_ms())
    if claims is None:
        raise DomainError(ErrorCode.UNAUTHENTICATED)
    company = await store.company_for_key_id(db, claims.company_id, claims.key_id)
    if company is None:  # the key was revoked (or its company deleted) since
        raise DomainError(ErrorCode.UNAUTHENTICATED)
    return company


class IssuedToken(msgspec.Struct, frozen=True):
    token: str
    lifetime_ms: int


async def issue_token(
    db: Database, clock: Clock, secret: bytes, client_id: str, client_secret: str
) -> IssuedToken:
    """A bearer token for the API key `client_secret` of company `client_id`."""
    if not is_object_id(client_id):
        raise DomainError(ErrorCode.INVALID_CLIENT)
    company_id = client_id.lower()
    _, active = await store.active_keys(db, company_id)
    key_id = matching_key(client_secret, active)  # hashed and compared even with no key
    if key_id is None:
        raise DomainError(ErrorCode.INVALID_CLIENT)
    token = tokens.issue(secret, company_id, key_id, clock.now_ms())
    return IssuedToken(token, tokens.TOKEN_LIFETIME_MS)
