"""Reads around sessions: the company's paths, its users, and the roles joining users to
groups. `GET /api/v2/paths` (200 a page), `/paths/{pathId}`, `/users` (500 a page),
`/users/{userId}`, `/users/{userId}/roles` and `/groups/{groupId}/roles` (1,000 a page).

Shapes are the published `PathDTO` and `UserDTO`, less what we do not model (steps are always
empty; no cover picture, duration, login or deletion history).
"""

from __future__ import annotations

from typing import Any

from ...core import directory
from ...core.model import Client, Membership, PathProfile, PathTranslation, UserProfile
from ...core.operators import PATH_STATUSES, ROLES, USER_STATUSES
from ...web.asgi import Request, Response
from ..context import Context
from . import dates, filters
from . import schemas as s
from .operations import Operation, operation
from .pagination import Listing

PATHS = Listing(
    "v2.paths.GetPathsController_getPaths",
    200,
    {
        "createdAt": filters.DATE,
        "modifiedAt": filters.DATE,
        "status": filters.choice(*PATH_STATUSES, operators=("eq",)),
    },
)
USERS = Listing(
    "v2.users.GetUsersController_getUsers",
    500,
    {"mail": filters.MAIL, "username": filters.TEXT, "status": filters.choice(*USER_STATUSES)},
)
USER_ROLES_ID = "v2.users.GetUserRolesInGroupsController_getUserRolesInGroups"
GROUP_ROLES_ID = "v2.groups.GetGroupMembersController_getGroupMembers"
ROLES_PAGE = 1000


def _roles_listing(operation_id: str, owner_id: str) -> Listing:
    """A roles list is one user's or one group's: its page tokens are bound to that id too, so
    that a token of one user's roles is refused for another's."""
    return Listing(f"{operation_id}:{owner_id.lower()}", ROLES_PAGE)


# --- Paths -------------------------------------------------------------------------------


def path_object(p: PathProfile) -> dict[str, Any]:
    o = p.options
    out: dict[str, Any] = {
        "_id": p.path.id,
        "name": p.path.name,
        "groupId": p.path.group_id,
    }
    if p.author_id is not None:
        out["authorId"] = p.author_id
    out |= {
        "coAuthorIds": list(p.co_author_ids),
        "defaultLang": p.default_lang,
        "sourceLang": p.source_lang,
        "options": {
            "linearProgression": o.linear_progression,
            "mandatoryReplay": o.mandatory_replay,
            "displayForum": o.display_forum,
            "displayClassroomMessages": o.display_classroom_messages,
            "automatedReminders": o.automated_reminders,
            "notificationOnStepCreation": o.notification_on_step_creation,
        },
        "steps": [],
        "translations": [_translation(t) for t in p.translations],
        "status": p.path.status,
        "createdAt": dates.to_wire(p.path.created_at),
        "modifiedAt": dates.to_wire(p.path.modified_at),
    }
    for key, value in (
        ("certificateId", p.certificate_id),
        ("description", p.description),
        ("additionalInformation", p.additional_information),
    ):
        if value is not None:
            out[key] = value
    return out


def _translation(t: PathTranslation) -> dict[str, Any]:
    fields = {
        key: value
        for key, value in (
            ("name", t.translated_fields.name),
            ("description", t.translated_fields.description),
        )
        if value is not None
    }
    return {
        "lang": t.lang,
        "published": t.published,
        "translatorIds": list(t.translator_ids),
        "translatedFields": fields,
    }


async def list_paths(request: Request, ctx: Context, client: Client) -> Response:
    asked = PATHS.read(request, ctx, client)
    page = await directory.paths_page(client.company, ctx.db, asked.query)
    return asked.answer(page, path_object)


async def get_path(request: Request, ctx: Context, client: Client) -> Response:
    path = await directory.get_path_profile(client.company, ctx.db, request.params["pathId"])
    return Response.json(path_object(path))


# --- Users -------------------------------------------------------------------------------


def user_object(u: UserProfile) -> dict[str, Any]:
    out: dict[str, Any] = {"_id": u.id, "mail": u.mail}
    if u.username is not None:
        out["username"] = u.username
    out["status"] = u.status
    out["lang"] = u.lang
    # Names are stored empty when unknown: absent, as UserDTO gives them at least a letter.
    if u.first_name:
        out["firstName"] = u.first_name
    if u.last_name:
        out["lastName"] = u.last_name
    for key, value in (
        ("job", u.job),
        ("organization", u.organization),
        ("phone", u.phone),
        ("custom", u.custom),
        ("primaryGroupId", u.primary_group_id),
    ):
        if value is not None:
            out[key] = value
    return out


async def list_users(request: Request, ctx: Context, client: Client) -> Response:
    asked = USERS.read(request, ctx, client)
    page = await directory.users_page(client.company, ctx.db, asked.query)
    return asked.answer(page, user_object)


async def get_user(request: Request, ctx: Context, client: Client) -> Response:
    user = await directory.get_user_profile(client.company, ctx.db, request.params["userId"])
    return Response.json(user_object(user))


def _group_role(m: Membership) -> dict[str, Any]:
    return {"groupId": m.group_id, "role": m.role}


def _user_role(m: Membership) -> dict[str, Any]:
    return {"userId": m.user_id, "role": m.role}


async def list_user_roles(request: Request, ctx: Context, client: Client) -> Response:
    user_id = request.params["userId"]
    asked = _roles_listing(USER_ROLES_ID, user_id).read(request, ctx, client)
    page = await directory.user_roles_page(client.company, ctx.db, user_id, asked.query)
    return asked.answer(page, _group_role)


async def list_group_roles(request: Request, ctx: Context, client: Client) -> Response:
    group_id = request.params["groupId"]
    asked = _roles_listing(GROUP_ROLES_ID, group_id).read(request, ctx, client)
    page = await directory.group_roles_page(client.company, ctx.db, group_id, asked.query)
    return asked.answer(page, _user_role)


# --- The description ---------------------------------------------------------------------

_ROLE = {"type": "string", "enum": list(ROLES)}
_LANG_DOC = "A language code, e.g. `en`, `fr`, `pt_BR`."

SCHEMAS: dict[str, Any] = {
    "Path": {
        "title": "Path",
        "type": "object",
        "required": [
            "_id",
            "name",
            "groupId",
            "authorId",
            "coAuthorIds",
            "defaultLang",
            "sourceLang",
            "options",
            "steps",
            "translations",
            "status",
            "createdAt",
            "modifiedAt",
        ],
        "properties": {
            "_id": s.OBJECT_ID,
            "name": {"type": "string", "description": "The title of the path."},
            "groupId": {**s.OBJECT_ID, "description": "The owner group of the path."},
            "authorId": {
                **s.OBJECT_ID,
                "description": "The main author: the platform owner unless one was set.",
            },
            "coAuthorIds": {"type": "array", "items": s.OBJECT_ID},
            "defaultLang": {"type": "string", "enum": list(directory.PATH_LANGS)},
            "sourceLang": {"type": "string", "enum": list(directory.PATH_LANGS)},
            "options": {
                "type": "object",
                "required": [
                    "linearProgression",
                    "mandatoryReplay",
                    "displayForum",
                    "displayClassroomMessages",
                    "automatedReminders",
                    "notificationOnStepCreation",
                ],
                "properties": {
                    name: {"type": "boolean"}
                    for name in (
                        "linearProgression",
                        "mandatoryReplay",
                        "displayForum",
                        "displayClassroomMessages",
                        "automatedReminders",
                        "notificationOnStepCreation",
                    )
                },
            },
            "steps": {
                "type": "array",
                "maxItems": 0,
                "items": {"type": "object"},
                "description": "Always empty: this server does not model steps.",
            },
            "translations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["lang", "published", "translatorIds", "translatedFields"],
                    "properties": {
                        "lang": {"type": "string", "description": _LANG_DOC},
                        "published": {"type": "boolean"},
                        "translatorIds": {"type": "array", "items": s.OBJECT_ID},
                        "translatedFields": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string", "minLength": 1},
                                "description": {"type": "string", "minLength": 1},
                            },
                        },
                    },
                },
            },
            "status": {"type": "string", "enum": list(PATH_STATUSES)},
            "createdAt": s.DATE_TIME,
            "modifiedAt": s.DATE_TIME,
            "certificateId": {**s.OBJECT_ID, "description": "Absent when not set."},
            "description": {"type": "string", "description": "Absent when not set."},
            "additionalInformation": {"type": "string", "description": "Absent when not set."},
        },
    },
    "User": {
        "title": "User",
        "type": "object",
        "required": ["_id", "status", "lang"],
        "properties": {
            "_id": s.OBJECT_ID,
            "mail": {"type": "string", "minLength": 1},
            "username": {"type": "string", "minLength": 1},
            "status": {"type": "string", "enum": list(USER_STATUSES)},
            "lang": {"type": "string", "enum": list(directory.USER_LANGS)},
            "firstName": {"type": "string", "minLength": 1},
            "lastName": {"type": "string", "minLength": 1},
            "job": {"type": "string", "minLength": 1},
            "organization": {"type": "string", "minLength": 1},
            "phone": {"type": "string", "minLength": 1},
            "custom": {"type": "string", "minLength": 1},
            "primaryGroupId": s.OBJECT_ID,
        },
    },
    "UserRole": {
        "title": "User Role",
        "type": "object",
        "required": ["userId", "role"],
        "properties": {"userId": s.OBJECT_ID, "role": _ROLE},
    },
    "Membership": {
        "title": "Membership",
        "type": "object",
        "required": ["groupId", "role"],
        "properties": {"groupId": s.OBJECT_ID, "role": _ROLE},
    },
}

_PATH_ID = s.path_id("pathId", "The unique ID of the path.")
_USER_ID = s.path_id("userId", "The unique ID of the user.")

OPERATIONS: list[Operation] = [
    operation(
        "GET",
        "/api/v2/paths",
        PATHS.operation_id,
        list_paths,
        "paths:read",
        tags=["Paths"],
        summary="List all paths",
        parameters=s.filter_parameters(dict(PATHS.filters)),
        success=s.page(s.ref("Path"), PATHS.page_size, "paths"),
        errors=[],
    ),
    operation(
        "GET",
        "/api/v2/paths/{pathId}",
        "v2.paths.GetPathController_getPath",
        get_path,
        "paths:read",
        tags=["Paths"],
        summary="Retrieve a path",
        parameters=[_PATH_ID],
        success=s.ok("The path.", s.ref("Path")),
        errors=["pathNotFound"],
    ),
    operation(
        "GET",
        "/api/v2/groups/{groupId}/roles",
        GROUP_ROLES_ID,
        list_group_roles,
        "groups:read",
        tags=["Groups"],
        summary="List all memberships in a group",
        description="The users holding a role in the group, by user id.",
        parameters=[
            s.path_id("groupId", "The unique ID of the group."),
            *s.filter_parameters({}),
        ],
        success=s.page(s.ref("UserRole"), ROLES_PAGE, "memberships"),
        errors=["groupNotFound"],
    ),
    operation(
        "GET",
        "/api/v2/users",
        USERS.operation_id,
        list_users,
        "users:read",
        tags=["Users"],
        summary="List all users",
        description="Deleted users included: `status[ne]=deleted` leaves them out. E-mail "
        "addresses are compared case-insensitively, usernames exactly.",
        parameters=s.filter_parameters(dict(USERS.filters)),
        success=s.page(s.ref("User"), USERS.page_size, "users"),
        errors=[],
    ),
    operation(
        "GET",
        "/api/v2/users/{userId}",
        "v2.users.GetUserController_getUser",
        get_user,
        "users:read",
        tags=["Users"],
        summary="Retrieve a user",
        description="Deleted users are found, with their status.",
        parameters=[_USER_ID],
        success=s.ok("The user.", s.ref("User")),
        errors=["userNotFound"],
    ),
    operation(
        "GET",
        "/api/v2/users/{userId}/roles",
        USER_ROLES_ID,
        list_user_roles,
        "users:read",
        tags=["Users"],
        summary="List all memberships of a user",
        description="The groups where the user holds a role, by group id.",
        parameters=[_USER_ID, *s.filter_parameters({})],
        success=s.page(s.ref("Membership"), ROLES_PAGE, "memberships"),
        errors=["userNotFound"],
    ),
]
