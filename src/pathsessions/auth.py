"""Credentials -> company, in one place.

`Authorization: Bearer <token>` decides alone when present. Otherwise query parameters
`company` + `apiKey`, or headers `X-company-id` + `X-apiKey`: each of the two values is taken
from its header when present, else from the query. Missing or wrong: 401.
"""

from __future__ import annotations

from . import tokens
from .domain import Company, is_object_id, now_ms
from .errors import ApiError
from .http import Request
from .keys import matching_key
from .storage import Database, repository


async def authenticate(db: Database, request: Request, token_secret: bytes) -> Company:
    authorization = request.header(b"authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            return await _bearer(db, token.strip(), token_secret)
    company_id = request.header(b"x-company-id")
    key = request.header(b"x-apikey")
    if company_id is None or key is None:
        query = request.query
        company_id = company_id if company_id is not None else query.get("company")
        key = key if key is not None else query.get("apiKey")
    if not key or company_id is None or not is_object_id(company_id):
        raise ApiError("unauthorized")
    company, active = await repository.active_keys(db, company_id.lower())
    if company is None or matching_key(key, active) is None:
        raise ApiError("unauthorized")
    return company


async def _bearer(db: Database, token: str, token_secret: bytes) -> Company:
    claims = tokens.verify(token_secret, token, now_ms())
    if claims is None:
        raise ApiError("unauthorized")
    company = await repository.company_for_key_id(db, claims.company_id, claims.key_id)
    if company is None:  # the key was revoked (or its company deleted) since
        raise ApiError("unauthorized")
    return company
