"""Where v1 reads credentials from a request.

`Authorization: Bearer <token>` decides alone when present. Otherwise query parameters
`company` + `apiKey`, or headers `X-company-id` + `X-apiKey`: each of the two values is taken
from its header when present, else from the query. Missing or wrong: 401.
"""

from __future__ import annotations

from typing import Any

from ...core import credentials
from ...core.model import Company
from ...web.asgi import Request
from ...web.routing import Route
from ..context import Context


async def authenticate(ctx: Context, request: Request, route: Route[Context, Any]) -> Company:
    """The company the credentials name; every v1 route needs the same credentials."""
    authorization = request.header(b"authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            return await credentials.company_for_token(
                ctx.db, ctx.clock, ctx.token_secret, token.strip()
            )
    company_id = request.header(b"x-company-id")
    key = request.header(b"x-apikey")
    if company_id is None or key is None:
        query = request.query
        company_id = company_id if company_id is not None else query.get("company")
        key = key if key is not None else query.get("apiKey")
    return await credentials.company_for_key(ctx.db, company_id, key)
