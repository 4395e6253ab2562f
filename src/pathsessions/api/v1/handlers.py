"""v1's handlers: read the request, make one core call, answer in v1's shapes."""

from __future__ import annotations

from ...core import credentials, directory, enrolment, sessions
from ...core.model import Company
from ...web.asgi import Request, Response
from ...web.body import decode_body
from ..context import Context
from . import requests
from .views import (
    group_object,
    json_array,
    path_object,
    session_detail,
    session_list,
    user_object,
)

# --- Bearer tokens ---------------------------------------------------------------------


async def issue_token(request: Request, ctx: Context) -> Response:
    grant = requests.token_request(decode_body(request.body))
    issued = await credentials.issue_token(
        ctx.db,
        ctx.clock,
        ctx.token_secret,
        grant.client_id,
        grant.client_secret,
        company_id=grant.company_id,
        user_id=grant.user_id,
    )
    return Response.json(
        {
            "token_type": "Bearer",
            "access_token": issued.token,
            "expires_in": str(issued.lifetime_ms // 1000),
        }
    )


# --- Path sessions ---------------------------------------------------------------------


async def create_path_session(request: Request, ctx: Context, company: Company) -> Response:
    read = requests.session_fields(decode_body(request.body))
    session_id = await sessions.create_session(
        company, ctx.db, ctx.clock, request.params["pathId"], read
    )
    return Response.json({"_id": session_id})


async def list_path_sessions(request: Request, ctx: Context, company: Company) -> Response:
    return Response.streamed(session_list(sessions.list_sessions(company, ctx.db)))


async def get_path_session(request: Request, ctx: Context, company: Company) -> Response:
    detail = await sessions.get_session(company, ctx.db, request.params["sessionId"])
    return Response.json(session_detail(detail))


async def update_path_session(request: Request, ctx: Context, company: Company) -> Response:
    read = requests.session_changes(decode_body(request.body))
    detail = await sessions.update_session(
        company, ctx.db, ctx.clock, request.params["sessionId"], read
    )
    return Response.json(session_detail(detail))


async def delete_path_session(request: Request, ctx: Context, company: Company) -> Response:
    await sessions.delete_session(company, ctx.db, ctx.clock, request.params["sessionId"])
    return Response.json({"status": "path_session_deleted"})


async def list_session_users(request: Request, ctx: Context, company: Company) -> Response:
    users = await sessions.enrolled_users(company, ctx.db, request.params["sessionId"])
    return Response.json([user_object(u) for u in users])


async def enrol_users(request: Request, ctx: Context, company: Company) -> Response:
    read = requests.users(decode_body(request.body))
    await enrolment.enrol_users(company, ctx.db, ctx.clock, request.params["sessionId"], read)
    return Response.json({"status": "users_enrolled"})


async def unenrol_users(request: Request, ctx: Context, company: Company) -> Response:
    read = requests.users(decode_body(request.body))
    await enrolment.unenrol_users(company, ctx.db, ctx.clock, request.params["sessionId"], read)
    return Response.json({"status": "users_unenrolled"})


async def enrol_groups(request: Request, ctx: Context, company: Company) -> Response:
    read = requests.groups(decode_body(request.body))
    await enrolment.enrol_groups(company, ctx.db, ctx.clock, request.params["sessionId"], read)
    return Response.json({"status": "groups_enrolled"})


async def unenrol_groups(request: Request, ctx: Context, company: Company) -> Response:
    read = requests.groups(decode_body(request.body))
    await enrolment.unenrol_groups(company, ctx.db, ctx.clock, request.params["sessionId"], read)
    return Response.json({"status": "groups_unenrolled"})


# --- The company's groups, users and paths ----------------------------------------------


async def list_groups(request: Request, ctx: Context, company: Company) -> Response:
    return Response.streamed(json_array(directory.list_groups(company, ctx.db), group_object))


async def get_group(request: Request, ctx: Context, company: Company) -> Response:
    group = await directory.get_group(company, ctx.db, request.params["groupId"])
    return Response.json(group_object(group))


async def list_users(request: Request, ctx: Context, company: Company) -> Response:
    return Response.streamed(json_array(directory.list_users(company, ctx.db), user_object))


async def get_user(request: Request, ctx: Context, company: Company) -> Response:
    user = await directory.get_user(company, ctx.db, request.params["user"])
    return Response.json(user_object(user))


async def list_paths(request: Request, ctx: Context, company: Company) -> Response:
    return Response.streamed(json_array(directory.list_paths(company, ctx.db), path_object))


async def get_path(request: Request, ctx: Context, company: Company) -> Response:
    path = await directory.get_path(company, ctx.db, request.params["pathId"])
    return Response.json(path_object(path))
