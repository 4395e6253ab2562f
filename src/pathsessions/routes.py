"""Thin handlers: decode the request, call one service function, encode the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import openapi, service
from .body import decode_body
from .domain import Company
from .errors import ApiError
from .http import HTML, Request, Response

if TYPE_CHECKING:
    from .app import App


def _company(company: Company | None) -> Company:
    if company is None:  # only authenticated routes call this
        raise RuntimeError("route is missing authentication")
    return company


async def create_path_session(request: Request, company: Company | None, app: App) -> Response:
    session_id = await service.create_path_session(
        _company(company), app.db, request.params["pathId"], decode_body(request.body)
    )
    return Response.json({"_id": session_id})


async def health(request: Request, company: Company | None, app: App) -> Response:
    try:
        ok = await app.db.ping()
    except Exception:
        ok = False
    if not ok:
        raise ApiError("database_unavailable")
    return Response.json({"status": "ok"})


async def openapi_document(request: Request, company: Company | None, app: App) -> Response:
    if "openapi" not in app.cache:
        app.cache["openapi"] = openapi.encode(openapi.document(app.router.routes, app.settings))
    return Response(200, app.cache["openapi"])


async def docs_page(request: Request, company: Company | None, app: App) -> Response:
    if "docs" not in app.cache:
        app.cache["docs"] = openapi.html_page(openapi.document(app.router.routes, app.settings))
    return Response(200, app.cache["docs"], HTML)
