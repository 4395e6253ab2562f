"""Who is enrolled (docs/api-v2.md): a session's audience (read and replace), a path's
enrollments, and the archiving of a self-enrollment. The audience body is read in
enrollment_bodies.py, the answers written in enrollment_views.py."""

from __future__ import annotations

from typing import Any

from ...core import audiences, enrolment
from ...core.audiences import EXCLUDED, GROUPS, MAX_FILTERS, MAX_IDS, MODES, USERS
from ...core.model import Client
from ...web.asgi import Request, Response
from ..context import Context
from . import filters
from . import schemas as s
from .bodies import decode
from .enrollment_bodies import AudienceBody, audience_input
from .enrollment_views import audience_object, enrollment_object
from .operations import Operation, operation
from .pagination import Listing

ENROLLMENTS = Listing(
    "v2.paths.GetEnrollmentsController_getEnrollments",
    5_000,
    {
        "status": filters.choice("published", "archived", operators=("eq",)),
        "createdAt": filters.DATE,
        "modifiedAt": filters.DATE,
        "sessionId": filters.ID,
    },
)


async def get_audience(request: Request, ctx: Context, client: Client) -> Response:
    audience = await audiences.get_audience(
        client.company, ctx.db, request.params["pathId"], request.params["sessionId"]
    )
    return Response.json(audience_object(audience))


async def put_audience(request: Request, ctx: Context, client: Client) -> Response:
    given = audience_input(decode(request, AudienceBody))
    audience = await audiences.put_audience(
        client.company,
        ctx.db,
        ctx.clock,
        request.params["pathId"],
        request.params["sessionId"],
        given,
    )
    return Response.json(audience_object(audience))


async def list_enrollments(request: Request, ctx: Context, client: Client) -> Response:
    asked = ENROLLMENTS.read(request, ctx, client)
    page = await enrolment.path_enrollments_page(
        client.company, ctx.db, asked.query, request.params["pathId"]
    )
    return asked.answer(page, enrollment_object)


async def archive_self_enrollment(request: Request, ctx: Context, client: Client) -> Response:
    await enrolment.archive_self_enrollment(
        client.company,
        ctx.db,
        ctx.clock,
        request.params["pathId"],
        request.params["sessionId"],
        request.params["userId"],
    )
    return Response(204, b"", content_type=b"")


# --- Description -------------------------------------------------------------------------


def _filter(kind: str, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "type": "object",
        "required": ["type", "ids"],
        "properties": {
            "type": {"type": "string", "enum": [kind]},
            "ids": {"type": "array", "maxItems": MAX_IDS[kind], "items": s.OBJECT_ID},
        },
    }


_MODE: dict[str, Any] = {
    "type": "string",
    "enum": list(MODES),
    "description": "How enrollments follow the audience: `dynamic` (learners enrolled and "
    "unenrolled as group membership changes), `dynamicEnrollment` (enrolled only), "
    "`dynamicUnenrollment` (unenrolled only), `manual` (only when the audience is replaced).",
}
_FILTERS = {
    "oneOf": [
        s.ref("SessionUsersAudienceFilter"),
        s.ref("SessionGroupsAudienceFilter"),
        s.ref("SessionExcludedLearnersAudienceFilter"),
    ]
}

SCHEMAS: dict[str, Any] = {
    "SessionUsersAudienceFilter": _filter(USERS, "Session Users Audience Filter"),
    "SessionGroupsAudienceFilter": _filter(GROUPS, "Session Groups Audience Filter"),
    "SessionExcludedLearnersAudienceFilter": _filter(
        EXCLUDED, "Session Excluded Learners Audience Filter"
    ),
    "SessionAudience": {
        "title": "Session Audience",
        "type": "object",
        "required": ["filters", "mode"],
        "properties": {
            "filters": {"type": "array", "items": _FILTERS},
            "mode": _MODE,
        },
    },
    "PutSessionAudience": {
        "title": "Put Session Audience",
        "type": "object",
        "required": ["filters", "mode"],
        "properties": {
            "filters": {
                "type": "array",
                "maxItems": MAX_FILTERS,
                "items": _FILTERS,
                "description": "At most one filter of each type.",
            },
            "mode": _MODE,
        },
    },
    "PathEnrollment": {
        "title": "Path Enrollment",
        "type": "object",
        "required": ["_id", "userId", "sessionId", "createdAt", "isSelfEnrolled", "status"],
        "properties": {
            "_id": s.OBJECT_ID,
            "userId": s.OBJECT_ID,
            "sessionId": s.OBJECT_ID,
            "createdAt": s.DATE_TIME,
            "isSelfEnrolled": {"type": "boolean"},
            "status": {"type": "string", "enum": ["published", "archived"]},
            "archivedAt": {**s.DATE_TIME, "description": "Once archived (unenrolled)."},
            "modifiedAt": s.DATE_TIME,
        },
    },
}

_PATH_ID = s.path_id("pathId", "The unique ID of the path.")
_SESSION_ID = s.path_id("sessionId", "The unique ID of the path session.")
_USER_ID = s.path_id("userId", "The unique ID of the learner.")
_ONE = ["pathNotFound", "sessionNotFound", "sessionNotBelongToPath"]
_TAGS = ["Paths"]
_AUDIENCE = "/api/v2/paths/{pathId}/sessions/{sessionId}/audiences"

OPERATIONS: list[Operation] = [
    operation(
        "GET",
        "/api/v2/paths/{pathId}/enrollments",
        ENROLLMENTS.operation_id,
        list_enrollments,
        "paths:read",
        tags=_TAGS,
        summary="List the enrollments of a path",
        description="Every enrollment in the path's sessions, published and archived "
        "(unenrolled), whichever API version or audience made it.",
        parameters=[_PATH_ID, *s.filter_parameters(dict(ENROLLMENTS.filters))],
        success=s.page(s.ref("PathEnrollment"), ENROLLMENTS.page_size, "enrollments"),
        errors=["pathNotFound"],
    ),
    operation(
        "GET",
        _AUDIENCE,
        "v2.paths.GetSessionAudienceController_getSessionAudience",
        get_audience,
        "paths:read",
        tags=_TAGS,
        summary="Retrieve a session's audience",
        description="A session created through v2 starts with no filter, in `manual` mode.",
        parameters=[_PATH_ID, _SESSION_ID],
        success=s.ok("The session's audience.", s.ref("SessionAudience")),
        errors=[*_ONE, "sessionIsNotAudienceBuilder"],
    ),
    operation(
        "PUT",
        _AUDIENCE,
        "v2.paths.UpdateSessionAudienceController_updateSessionAudience",
        put_audience,
        "paths:write",
        tags=_TAGS,
        summary="Replace a session's audience",
        description="The audience given replaces the session's, and is applied at once: "
        "the learners it includes (the users of `users`, the members of the groups of "
        "`groups` and of their sub-groups, minus `excludedLearners`, minus deleted users) are "
        "enrolled, the others unenrolled, except that `dynamicEnrollment` never unenrols and "
        "`dynamicUnenrollment` never enrols. Self-enrollments stay.",
        parameters=[_PATH_ID, _SESSION_ID],
        requestBody={
            "required": True,
            "content": {"application/json": {"schema": SCHEMAS["PutSessionAudience"]}},
        },
        success=s.ok("The session's audience as stored.", s.ref("SessionAudience")),
        errors=[
            *_ONE,
            "sessionIsNotAudienceBuilder",
            "pathArchived",
            "childPathSession",
            "sessionEnded",
            "invalidAudienceBuilderShape",
            "usersNotFound",
            "groupsNotFound",
        ],
    ),
    operation(
        "DELETE",
        "/api/v2/paths/{pathId}/sessions/{sessionId}/self-enrollments/{userId}",
        "v2.paths.ArchiveSelfEnrollmentController_archiveSelfEnrollment",
        archive_self_enrollment,
        "paths:write",
        tags=_TAGS,
        summary="Archive a self-enrollment",
        description="Archives the enrollment of a learner who enrolled themselves. A learner "
        "enrolled otherwise is refused: change the session's audience instead.",
        parameters=[_PATH_ID, _SESSION_ID, _USER_ID],
        success={"status": 204, "description": "Archived; no body."},
        errors=[
            *_ONE,
            "childPathSession",
            "sessionEnded",
            "learnerNotEnrolled",
            "learnerNotSelfEnrolled",
        ],
    ),
]
