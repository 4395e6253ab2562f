"""Thin handlers: decode the request, call one service function, encode the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import oauth, openapi, reads, service
from .body import decode_body
from .domain import Company
from .errors import ApiError
from .http import HTML, Request, Response
from .views import group_object, json_array, path_object, session_item, user_object

if TYPE_CHECKING:
    from .app import App


def _company(company: Company | None) -> Company:
    if company is None:  # only authenticated routes call this
        raise RuntimeError("route is missing authentication")
    return company


# --- Bearer tokens ---------------------------------------------------------------------


async def issue_token(request: Request, company: Company | None, app: App) -> Response:
    answer = await oauth.issue_token(app.db, app.token_secret, decode_body(request.body))
    return Response.json(answer)


# --- Path sessions ---------------------------------------------------------------------


async def create_path_session(request: Request, company: Company | None, app: App) -> Response:
    session_id = await service.create_path_session(
        _company(company), app.db, request.params["pathId"], decode_body(request.body)
    )
    return Response.json({"_id": session_id})


async def list_path_sessions(request: Request, company: Company | None, app: App) -> Response:
    batches = service.list_path_sessions(_company(company), app.db)
    return Response.streamed(json_array(batches, session_item))


async def get_path_session(request: Request, company: Company | None, app: App) -> Response:
    return Response.json(
        await service.get_path_session(_company(company), app.db, request.params["sessionId"])
    )


async def update_path_session(request: Request, company: Company | None, app: App) -> Response:
    updated = await service.update_path_session(
        _company(company), app.db, request.params["sessionId"], decode_body(request.body)
    )
    return Response.json(updated)


async def delete_path_session(request: Request, company: Company | None, app: App) -> Response:
    await service.delete_path_session(_company(company), app.db, request.params["sessionId"])
    return Response.json({"status": "path_session_deleted"})


async def list_session_users(request: Request, company: Company | None, app: App) -> Response:
    users = await service.enrolled_users(_company(company), app.db, request.params["sessionId"])
    return Response.json([user_object(u) for u in users])


async def enrol_users(request: Request, company: Company | None, app: App) -> Response:
    await service.enrol_users(
        _company(company), app.db, request.params["sessionId"], decode_body(request.body)
    )
    return Response.json({"status": "users_enrolled"})


async def unenrol_users(request: Request, company: Company | None, app: App) -> Response:
    await service.unenrol_users(
        _company(company), app.db, request.params["sessionId"], decode_body(request.body)
    )
    return Response.json({"status": "users_unenrolled"})


async def enrol_groups(request: Request, company: Company | None, app: App) -> Response:
    await service.enrol_groups(
        _company(company), app.db, request.params["sessionId"], decode_body(request.body)
    )
    return Response.json({"status": "groups_enrolled"})


async def unenrol_groups(request: Request, company: Company | None, app: App) -> Response:
    await service.unenrol_groups(
        _company(company), app.db, request.params["sessionId"], decode_body(request.body)
    )
    return Response.json({"status": "groups_unenrolled"})


# --- The company's groups, users and paths ----------------------------------------------


async def list_groups(request: Request, company: Company | None, app: App) -> Response:
    return Response.streamed(json_array(reads.list_groups(_company(company), app.db), group_object))


async def get_group(request: Request, company: Company | None, app: App) -> Response:
    return Response.json(
        await reads.get_group(_company(company), app.db, request.params["groupId"])
    )


async def list_users(request: Request, company: Company | None, app: App) -> Response:
    return Response.streamed(json_array(reads.list_users(_company(company), app.db), user_object))


async def get_user(request: Request, company: Company | None, app: App) -> Response:
    user = await reads.get_user(_company(company), app.db, request.params["user"])
    return Response.json(user_object(user))


async def list_paths(request: Request, company: Company | None, app: App) -> Response:
    batches = reads.list_paths(_company(company), app.db)
    return Response.streamed(json_array(batches, lambda item: path_object(*item)))


async def get_path(request: Request, company: Company | None, app: App) -> Response:
    return Response.json(await reads.get_path(_company(company), app.db, request.params["pathId"]))


# --- Service routes ---------------------------------------------------------------------


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
