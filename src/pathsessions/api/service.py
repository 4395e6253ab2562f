"""Routes that belong to no API version: health, and the API's description."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.errors import DomainError, ErrorCode
from ..storage.database import probe_writes
from ..web.asgi import HTML, Request, Response
from ..web.metrics import CONTENT_TYPE
from . import openapi
from .answers import not_found_body
from .context import Context


async def health(request: Request, ctx: Context) -> Response:
    # Reads and writes both: a database that answers but cannot store (a full disk, a
    # read-only file or server) serves no request that changes anything.
    try:
        ok = await ctx.db.ping()
        await probe_writes(ctx.db)
    except Exception:
        ok = False
    if not ok:
        raise DomainError(ErrorCode.DATABASE_UNAVAILABLE)
    return Response.json({"status": "ok"})


async def metrics(request: Request, ctx: Context) -> Response:
    if ctx.metrics is None:
        # Turned off, it is not there: the unknown route's answer.
        return Response(404, not_found_body(ctx.settings.docs_url))
    return Response(200, await ctx.metrics.render(), CONTENT_TYPE)


def _document(ctx: Context, name: str, build: Callable[[dict[str, Any]], bytes]) -> bytes:
    if name not in ctx.documents:
        ctx.documents[name] = build(openapi.document(ctx.described))
    return ctx.documents[name]


async def openapi_document(request: Request, ctx: Context) -> Response:
    return Response(200, _document(ctx, "openapi", openapi.encode))


async def docs_page(request: Request, ctx: Context) -> Response:
    return Response(200, _document(ctx, "docs", openapi.html_page), HTML)
