"""Routes that belong to no API version: health, metrics, and the API's description (the
OpenAPI document, each API's part of it, and the /docs page with its assets)."""

from __future__ import annotations

from collections.abc import Callable

from ..core.errors import DomainError, ErrorCode
from ..storage.database import probe_writes
from ..web.asgi import HTML, Request, Response
from ..web.metrics import CONTENT_TYPE
from . import docs, openapi
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
        return _not_found(ctx)
    return Response(200, await ctx.metrics.render(), CONTENT_TYPE)


def _document(ctx: Context, name: str, build: Callable[[], bytes]) -> bytes:
    if name not in ctx.documents:
        ctx.documents[name] = build()
    return ctx.documents[name]


def _not_found(ctx: Context) -> Response:
    return Response(404, not_found_body(ctx.settings.docs_url))


async def openapi_document(request: Request, ctx: Context) -> Response:
    return Response(
        200, _document(ctx, "openapi", lambda: openapi.encode(openapi.document(ctx.described)))
    )


async def openapi_part(request: Request, ctx: Context) -> Response:
    """One API's part: `v1`, `v2`, or `sandbox` when the control API is on."""
    part = request.params["api"]
    if part not in openapi.parts(ctx.described):
        return _not_found(ctx)
    return Response(
        200,
        _document(
            ctx, f"openapi-{part}", lambda: openapi.encode(openapi.document(ctx.described, part))
        ),
    )


async def docs_page(request: Request, ctx: Context) -> Response:
    body = _document(ctx, "docs", lambda: docs.page(openapi.parts(ctx.described)))
    return Response(
        200,
        body,
        HTML,
        headers=[
            (b"content-security-policy", docs.CSP),
            (b"cache-control", docs.PAGE_CACHE),
            (b"x-content-type-options", b"nosniff"),
        ],
    )


async def docs_asset(request: Request, ctx: Context) -> Response:
    found = await docs.asset(request.params["asset"])
    if found is None:
        return _not_found(ctx)
    headers = [
        (b"cache-control", docs.ASSET_CACHE),
        (b"x-content-type-options", b"nosniff"),
        (b"vary", b"accept-encoding"),
    ]
    body = found.body
    if found.gzipped is not found.body and _takes_gzip(request.header(b"accept-encoding")):
        body = found.gzipped
        headers.append((b"content-encoding", b"gzip"))
    return Response(200, body, found.content_type, headers=headers)


def _takes_gzip(accept_encoding: str | None) -> bool:
    for item in (accept_encoding or "").lower().split(","):
        name, _, params = item.partition(";")
        if name.strip() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip()
            return q == "" or not all(c in "0." for c in q)
    return False
