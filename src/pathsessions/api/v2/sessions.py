"""Path sessions (docs/api-v2.md): create, list (of a path, of the company), read, edit,
delete, and edit a child session. The same rows as v1's sessions. The bodies are read in
session_bodies.py, the PathSession object is written in session_views.py.

Routes: `/api/v2/paths/sessions` is matched before any route of the form
`/api/v2/paths/{pathId}` (routes.MODULES lists this module first), so that a path whose id
were `sessions` could never take the company-wide list.
"""

from __future__ import annotations

from typing import Any

from ...core import path_sessions
from ...core.model import Client
from ...core.values import MAX_ADDITIONAL_INFORMATION, MAX_INSTRUCTORS, MAX_SESSION_NAME
from ...web.asgi import Request, Response
from ..context import Context
from . import filters
from . import schemas as s
from .bodies import decode
from .operations import Operation, operation
from .pagination import Listing
from .session_bodies import (
    ChildEditBody,
    CreateBody,
    EditBody,
    child_edit,
    session_edit,
    session_input,
)
from .session_views import path_session, without_translations

# --- Handlers ----------------------------------------------------------------------------

DATES = {
    "createdAt": filters.DATE,
    "modifiedAt": filters.DATE,
    "startDate": filters.DATE,
    "endDate": filters.DATE,
}
PATH_SESSIONS = Listing("v2.paths.GetPathSessionsController_getPathSessions", 100, DATES)
ALL_SESSIONS = Listing(
    "v2.paths.GetAllPathSessionsController_getAllPathSessions",
    500,
    {**DATES, "sessionId": filters.ID, "pathId": filters.ID},
)


async def create_path_session(request: Request, ctx: Context, client: Client) -> Response:
    given = session_input(decode(request, CreateBody))
    session = await path_sessions.create_path_session(
        client.company, ctx.db, ctx.clock, request.params["pathId"], given
    )
    return Response.json(path_session(session))


async def list_path_sessions(request: Request, ctx: Context, client: Client) -> Response:
    asked = PATH_SESSIONS.read(request, ctx, client)
    page = await path_sessions.path_sessions_page(
        client.company, ctx.db, asked.query, request.params["pathId"]
    )
    return asked.answer(page, path_session)


async def list_all_sessions(request: Request, ctx: Context, client: Client) -> Response:
    asked = ALL_SESSIONS.read(request, ctx, client)
    page = await path_sessions.sessions_page(client.company, ctx.db, asked.query)
    return asked.answer(page, without_translations)


async def get_path_session(request: Request, ctx: Context, client: Client) -> Response:
    session = await path_sessions.get_path_session(
        client.company, ctx.db, request.params["pathId"], request.params["sessionId"]
    )
    return Response.json(path_session(session))


async def edit_path_session(request: Request, ctx: Context, client: Client) -> Response:
    edit = session_edit(decode(request, EditBody))
    session = await path_sessions.edit_path_session(
        client.company,
        ctx.db,
        ctx.clock,
        request.params["pathId"],
        request.params["sessionId"],
        edit,
    )
    return Response.json(path_session(session))


async def delete_path_session(request: Request, ctx: Context, client: Client) -> Response:
    await path_sessions.delete_path_session(
        client.company, ctx.db, ctx.clock, request.params["pathId"], request.params["sessionId"]
    )
    return Response(204, b"", content_type=b"")


async def edit_child_session(request: Request, ctx: Context, client: Client) -> Response:
    edit = child_edit(decode(request, ChildEditBody))
    session = await path_sessions.edit_child_session(
        client.company,
        ctx.db,
        ctx.clock,
        request.params["pathId"],
        request.params["childSessionId"],
        edit,
    )
    return Response.json(path_session(session))


# --- Description -------------------------------------------------------------------------

_REGISTRATION: dict[str, Any] = {
    "type": "string",
    "enum": list(path_sessions.REGISTRATION_OPTIONS),
    "description": "Who validates a registration request: `disabled` (nobody), "
    "`instructors`, `managers`, `adminsAndManagers`, `adminsCoachesInstructorsManagers`.",
}
_INSTRUCTOR_IDS: dict[str, Any] = {
    "type": "array",
    "maxItems": MAX_INSTRUCTORS,
    "items": s.OBJECT_ID,
    "description": "The co-instructors, the main one excluded, in order; an id listed "
    "twice is kept once.",
}
_NAME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_SESSION_NAME}
_INFORMATION: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_ADDITIONAL_INFORMATION,
}
_USER_LIMIT: dict[str, Any] = {
    "type": "integer",
    "minimum": 1,
    "description": "The most learners that may enrol themselves.",
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


SCHEMAS: dict[str, Any] = {
    "CertificationExpiryDateAutomaticReenrollment": {
        "type": "object",
        "required": ["type", "delayDays"],
        "properties": {
            "type": {"type": "string", "enum": ["certificationExpiryDate"]},
            "delayDays": {"type": "number", "minimum": 0},
        },
    },
    "PathCompletionDateAutomaticReenrollment": {
        "type": "object",
        "required": ["type", "delayDays", "recurrenceMonths"],
        "properties": {
            "type": {"type": "string", "enum": ["pathCompletionDate"]},
            "delayDays": {"type": "number", "minimum": 0},
            "recurrenceMonths": {"type": "number", "minimum": 1},
        },
    },
    "AutomaticReenrollment": {
        "oneOf": [
            s.ref("CertificationExpiryDateAutomaticReenrollment"),
            s.ref("PathCompletionDateAutomaticReenrollment"),
        ],
    },
    "IpFiltering": {
        "type": "object",
        "required": ["active", "authorizedAddresses"],
        "properties": {
            "active": {"type": "boolean"},
            "authorizedAddresses": {
                "type": "array",
                "maxItems": path_sessions.MAX_AUTHORIZED_ADDRESSES,
                "items": {"type": "string"},
                "description": "IPv4 or IPv6 addresses, CIDR blocks, or IPv4 addresses with "
                "`*` octets (`56.231.*.85`).",
            },
        },
    },
    "PathSessionTranslation": {
        "type": "object",
        "required": ["lang", "published", "translatorIds", "translatedFields"],
        "properties": {
            "lang": {"type": "string"},
            "published": {"type": "boolean"},
            "translatorIds": {"type": "array", "items": s.OBJECT_ID},
            "translatedFields": {
                "type": "object",
                "properties": {"name": {"type": "string", "minLength": 1}},
            },
        },
    },
    "PathSessionWithoutTranslations": {
        "title": "Path Session Without Translations",
        "type": "object",
        "required": [
            "_id",
            "pathId",
            "name",
            "startDate",
            "mainInstructorId",
            "instructorIds",
            "groupId",
            "registrationRequestValidation",
            "isAudienceBuilder",
            "createdAt",
            "modifiedAt",
        ],
        "properties": {
            "_id": s.OBJECT_ID,
            "pathId": s.OBJECT_ID,
            "name": {"type": "string"},
            "startDate": s.DATE_TIME,
            "endDate": s.DATE_TIME,
            "mainInstructorId": s.OBJECT_ID,
            "instructorIds": {"type": "array", "items": s.OBJECT_ID},
            "groupId": {**s.OBJECT_ID, "description": "The owner group."},
            "registrationRequestValidation": _REGISTRATION,
            "userLimit": _USER_LIMIT,
            "automaticReenrollment": s.ref("AutomaticReenrollment"),
            "ipFiltering": s.ref("IpFiltering"),
            "isAudienceBuilder": {"type": "boolean"},
            "additionalInformation": {"type": "string"},
            "rootSessionId": {**s.OBJECT_ID, "description": "Set on a child session only."},
            "createdAt": s.DATE_TIME,
            "modifiedAt": s.DATE_TIME,
        },
    },
    "PathSession": {
        "title": "Path Session",
        "allOf": [
            s.ref("PathSessionWithoutTranslations"),
            {
                "type": "object",
                "required": ["translations"],
                "properties": {
                    "translations": {
                        "type": "array",
                        "items": s.ref("PathSessionTranslation"),
                    }
                },
            },
        ],
    },
    "InputPathSession": {
        "title": "Input Path Session",
        "type": "object",
        "required": ["mainInstructorId", "registrationRequestValidation", "startDate", "name"],
        "properties": {
            "mainInstructorId": s.OBJECT_ID,
            "registrationRequestValidation": _REGISTRATION,
            "startDate": s.DATE_TIME,
            "endDate": s.DATE_TIME,
            "name": _NAME,
            "userLimit": _USER_LIMIT,
            "automaticReenrollment": s.ref("AutomaticReenrollment"),
            "ipFiltering": s.ref("IpFiltering"),
            "additionalInformation": _INFORMATION,
            "instructorIds": _INSTRUCTOR_IDS,
        },
    },
    "PatchPathSession": {
        "title": "Patch Path Session",
        "type": "object",
        "description": "A field left out keeps its value; null clears a nullable one.",
        "properties": {
            "name": _NAME,
            "startDate": s.DATE_TIME,
            "endDate": _nullable(s.DATE_TIME),
            "mainInstructorId": s.OBJECT_ID,
            "instructorIds": _INSTRUCTOR_IDS,
            "groupId": s.OBJECT_ID,
            "registrationRequestValidation": _REGISTRATION,
            "userLimit": _nullable(_USER_LIMIT),
            "automaticReenrollment": _nullable(s.ref("AutomaticReenrollment")),
            "ipFiltering": _nullable(s.ref("IpFiltering")),
            "additionalInformation": _nullable(_INFORMATION),
        },
    },
    "PatchChildPathSession": {
        "title": "Patch Child Path Session",
        "type": "object",
        "properties": {
            "additionalInformation": _nullable(_INFORMATION),
            "mainInstructorId": s.OBJECT_ID,
            "instructorIds": _INSTRUCTOR_IDS,
        },
    },
}


def _body(name: str) -> dict[str, Any]:
    # Inline, not a reference: the /docs page lists a body's fields from its schema.
    return {"required": True, "content": {"application/json": {"schema": SCHEMAS[name]}}}


_PATH_ID = s.path_id("pathId", "The unique ID of the path.")
_SESSION_ID = s.path_id("sessionId", "The unique ID of the path session.")
_CHILD_ID = s.path_id("childSessionId", "The unique ID of the child path session.")
_ONE = ["pathNotFound", "sessionNotFound", "sessionNotBelongToPath"]
_TAGS = ["Paths"]

OPERATIONS: list[Operation] = [
    operation(
        "GET",
        "/api/v2/paths/sessions",
        ALL_SESSIONS.operation_id,
        list_all_sessions,
        "paths:read",
        tags=_TAGS,
        summary="List all sessions",
        description="Every path session of the company, child sessions included, without "
        "their translations.",
        parameters=s.filter_parameters(dict(ALL_SESSIONS.filters)),
        success=s.page(
            s.ref("PathSessionWithoutTranslations"), ALL_SESSIONS.page_size, "path sessions"
        ),
        errors=[],
    ),
    operation(
        "POST",
        "/api/v2/paths/{pathId}/sessions",
        "v2.paths.CreatePathSessionController_createPathSession",
        create_path_session,
        "paths:write",
        tags=_TAGS,
        summary="Create a path session",
        description="The owner group is chosen among the groups where the main instructor "
        "holds `admin`, `editor`, `contributor` or `owner`: public first, then the "
        "shallowest, then the most members, then the smallest id; with none, the path's "
        "group. The session enrols through an audience (`isAudienceBuilder`).",
        parameters=[_PATH_ID],
        requestBody=_body("InputPathSession"),
        success=s.ok("The session created.", s.ref("PathSession")),
        errors=[
            "pathNotFound",
            "pathArchived",
            "usersNotFound",
            "invalidStartOrEndDate",
            "invalidIpFiltering",
            "missingCertificate",
            "invalidRegistrationRequestOption",
        ],
    ),
    operation(
        "GET",
        "/api/v2/paths/{pathId}/sessions",
        PATH_SESSIONS.operation_id,
        list_path_sessions,
        "paths:read",
        tags=_TAGS,
        summary="List all sessions in a path",
        parameters=[_PATH_ID, *s.filter_parameters(dict(PATH_SESSIONS.filters))],
        success=s.page(s.ref("PathSession"), PATH_SESSIONS.page_size, "path sessions"),
        errors=["pathNotFound"],
    ),
    operation(
        "GET",
        "/api/v2/paths/{pathId}/sessions/{sessionId}",
        "v2.paths.GetPathSessionController_getPathSession",
        get_path_session,
        "paths:read",
        tags=_TAGS,
        summary="Retrieve a path session",
        parameters=[_PATH_ID, _SESSION_ID],
        success=s.ok("The session.", s.ref("PathSession")),
        errors=_ONE,
    ),
    operation(
        "PATCH",
        "/api/v2/paths/{pathId}/sessions/{sessionId}",
        "v2.paths.ModifyPathSessionController_modifyPathSession",
        edit_path_session,
        "paths:write",
        tags=_TAGS,
        summary="Edit a path session",
        description="A partial edit. A change of `mainInstructorId` or `instructorIds` is "
        "copied to the session's child sessions. An ended session (an `endDate` at or before "
        "now) cannot be edited.",
        parameters=[_PATH_ID, _SESSION_ID],
        requestBody=_body("PatchPathSession"),
        success=s.ok("The session as edited.", s.ref("PathSession")),
        errors=[
            *_ONE,
            "childPathSession",
            "unsupportedEndDateUpdate",
            "sessionEnded",
            "groupNotFound",
            "usersNotFound",
            "invalidStartOrEndDate",
            "invalidIpFiltering",
            "missingCertificate",
            "invalidRegistrationRequestOption",
        ],
    ),
    operation(
        "DELETE",
        "/api/v2/paths/{pathId}/sessions/{sessionId}",
        "v2.paths.DeletePathSessionController_deletePathSession",
        delete_path_session,
        "paths:write",
        tags=_TAGS,
        summary="Delete a path session",
        description="The session goes with its enrolments and its child sessions.",
        parameters=[_PATH_ID, _SESSION_ID],
        success={"status": 204, "description": "Deleted; no body."},
        errors=_ONE,
    ),
    operation(
        "PATCH",
        "/api/v2/paths/{pathId}/child-sessions/{childSessionId}",
        "v2.paths.ModifyChildPathSessionController_modifyChildPathSession",
        edit_child_session,
        "paths:write",
        tags=_TAGS,
        summary="Edit a child path session",
        parameters=[_PATH_ID, _CHILD_ID],
        requestBody=_body("PatchChildPathSession"),
        success=s.ok("The child session as edited.", s.ref("PathSession")),
        errors=[*_ONE, "rootPathSession", "sessionEnded", "usersNotFound"],
    ),
]
