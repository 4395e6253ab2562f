"""`POST /api/v2/oauth2/token`: an API key exchanged for a one-hour bearer token."""

from __future__ import annotations

from typing import Any

from . import tokens
from .domain import is_object_id, now_ms
from .errors import ApiError
from .keys import matching_key
from .storage import Database, repository


async def issue_token(db: Database, secret: bytes, fields: dict[str, Any] | None) -> dict[str, str]:
    if fields is None:
        raise ApiError("invalid_request")
    values = [fields.get(k) for k in ("grant_type", "client_id", "client_secret")]
    strings = [v for v in values if isinstance(v, str) and v]
    if len(strings) != len(values):
        raise ApiError("invalid_request")
    grant_type, client_id, client_secret = strings
    if grant_type != "client_credentials":
        raise ApiError("unsupported_grant_type")
    if not is_object_id(client_id):
        raise ApiError("invalid_client")
    company_id = client_id.lower()
    _, active = await repository.active_keys(db, company_id)
    key_id = matching_key(client_secret, active)
    if key_id is None:
        raise ApiError("invalid_client")
    return {
        "token_type": "Bearer",
        "access_token": tokens.issue(secret, company_id, key_id, now_ms()),
        "expires_in": str(tokens.TOKEN_LIFETIME_MS // 1000),
    }
