"""Credentials -> who a request acts as: API keys and v1 bearer tokens -> a company; v2 API
credentials and v2 bearer tokens -> a `Client` (a company and the credential's scopes).

A version's façade reads the credentials from the request (its headers, query, or token
request body); these functions decide. Every failure is UNAUTHENTICATED (v1) or
INVALID_TOKEN (v2), or INVALID_CLIENT / NON_EXISTING_USER when a token is asked for.
"""

from __future__ import annotations

import msgspec

from ..storage import Database
from ..storage import companies as store
from ..storage import credentials as credential_store
from ..storage import users as user_store
from . import tokens
from .clock import Clock
from .errors import DomainError, ErrorCode
from .keys import is_client_id, matching_key, secret_matches
from .model import Client, Company
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


async def client_for_token(db: Database, clock: Clock, secret: bytes, token: str) -> Client:
    """Who a well-signed, unexpired v2 token acts as, while its credential is not revoked,
    with the credential's scopes as they are now. One indexed query."""
    claims = tokens.verify_v2(secret, token, clock.now_ms())
    if claims is None:
        raise DomainError(ErrorCode.INVALID_TOKEN)
    client = await credential_store.client_for_credential(db, claims.credential_id)
    if client is None:  # revoked (or its company deleted) since
        raise DomainError(ErrorCode.INVALID_TOKEN)
    return client


class IssuedToken(msgspec.Struct, frozen=True):
    token: str
    lifetime_ms: int


# A v2 credential's client id; a v1 client id is a company id (24 hexadecimal characters).
_V2_CLIENT_ID_LENGTH = 32


async def issue_token(
    db: Database,
    clock: Clock,
    secret: bytes,
    client_id: str,
    client_secret: str,
    *,
    company_id: object = None,
    user_id: object = None,
) -> IssuedToken:
    """A bearer token: for v1, for the API key `client_secret` of company `client_id`; for v2,
    for the credential `client_id` whose secret `client_secret` is. `company_id` and `user_id`
    (None when not sent) concern v2 only: when sent, they must name the credential's company
    and a non-deleted user of it."""
    if len(client_id) == _V2_CLIENT_ID_LENGTH:
        return await _issue_v2_token(
            db, clock, secret, client_id, client_secret, company_id, user_id
        )
    if not is_object_id(client_id):
        raise DomainError(ErrorCode.INVALID_CLIENT)
    company_id = client_id.lower()
    _, active = await store.active_keys(db, company_id)
    key_id = matching_key(client_secret, active)  # hashed and compared even with no key
    if key_id is None:
        raise DomainError(ErrorCode.INVALID_CLIENT)
    token = tokens.issue(secret, company_id, key_id, clock.now_ms())
    return IssuedToken(token, tokens.TOKEN_LIFETIME_MS)


async def _issue_v2_token(
    db: Database,
    clock: Clock,
    secret: bytes,
    client_id: str,
    client_secret: str,
    company_id: object,
    user_id: object,
) -> IssuedToken:
    # Looked up whatever the client id is, and the secret hashed and compared even when
    # there is no such credential: a refusal takes the same time either way.
    wanted = client_id.lower()
    credential_id, owner, secret_hash = await credential_store.secret_hash_for_client(
        db, wanted if is_client_id(wanted) else ""
    )
    if not secret_matches(client_secret, secret_hash) or credential_id is None or owner is None:
        raise DomainError(ErrorCode.INVALID_CLIENT)
    if company_id is not None and not (isinstance(company_id, str) and company_id.lower() == owner):
        raise DomainError(ErrorCode.INVALID_CLIENT)
    if user_id is not None and not (
        isinstance(user_id, str)
        and is_object_id(user_id)
        and await user_store.user_is_member(db, owner, user_id.lower())
    ):
        raise DomainError(ErrorCode.NON_EXISTING_USER)
    token = tokens.issue_v2(secret, credential_id, clock.now_ms())
    return IssuedToken(token, tokens.TOKEN_LIFETIME_MS)
