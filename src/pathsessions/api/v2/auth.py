"""Who a v2 request acts as, and whether it may: in the order the contract gives.

`Authorization: Bearer <token>` from a v2 API credential, else 401 `invalid_token` (v1 keys and
the tokens made from them included); then the `360-api-version: v2.0` header, else 400
`invalidApiVersion`; then the route's scope among the token's, else 403 `invalid_scope`.
All of it runs before the rate limit, as the pipeline calls it.
"""

from __future__ import annotations

from ...core import credentials
from ...core.errors import DomainError, ErrorCode
from ...core.model import Client
from ...web.asgi import Request
from ..context import Context

VERSION_HEADER = b"360-api-version"
VERSION = "v2.0"


async def authenticate(ctx: Context, request: Request, scope: str) -> Client:
    authorization = request.header(b"authorization") or ""
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise DomainError(ErrorCode.INVALID_TOKEN)
    client = await credentials.client_for_token(ctx.db, ctx.clock, ctx.token_secret, token)
    if request.header(VERSION_HEADER) != VERSION:
        raise DomainError(ErrorCode.INVALID_API_VERSION)
    if scope not in client.scopes:
        raise DomainError(ErrorCode.INSUFFICIENT_SCOPE)
    return client
