"""Learners' progress (docs/api-v2.md §6), scope `pathStats:read`: a session's counts by
status (`…/user-statuses`), its learners' statistics (`…/user-stats`, 2,000 a page), and every
learner's across the company (`/api/v2/paths/stats`, 2,000 a page). Shapes are in
progress_views.py.

Routes: `/api/v2/paths/stats` comes before any route of the form `/api/v2/paths/{pathId}`
(routes.MODULES lists this module before the reads), so that a path whose id were `stats`
could never take the company-wide list.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ...core import progress
from ...core.model import Client
from ...web.asgi import Request, Response
from ..context import Context
from . import filters
from . import schemas as s
from .operations import Operation, operation
from .pagination import Listing
from .progress_views import path_user_stat, session_counts, user_stat

# --- Handlers ----------------------------------------------------------------------------

SESSION_STATS = Listing(
    "v2.paths.GetUserStatsController_getUserStats",
    2000,
    {"completedAt": filters.DATE, "userId": filters.ID},
)
PATH_STATS = Listing(
    "v2.paths.GetPathStatsController_getPathStats",
    2000,
    {
        "status": filters.choice("archived", "published", operators=("eq",)),
        "completedAt": filters.DATE,
        "pathId": filters.ID,
        "userId": filters.ID,
    },
)
SESSION_COUNTS_ID = "v2.paths.v2.paths.GetSessionStatsController_getSessionStats"


async def get_session_counts(request: Request, ctx: Context, client: Client) -> Response:
    counts = await progress.session_counts(
        client.company, ctx.db, ctx.clock, request.params["pathId"], request.params["sessionId"]
    )
    return Response.json(session_counts(counts))


async def list_session_stats(request: Request, ctx: Context, client: Client) -> Response:
    session_id = request.params["sessionId"]
    # A page token of one session's list is refused for another's.
    bound = f"{SESSION_STATS.operation_id}:{session_id.lower()}"
    listing = replace(SESSION_STATS, operation_id=bound)
    asked = listing.read(request, ctx, client)
    page = await progress.session_stats_page(
        client.company, ctx.db, ctx.clock, request.params["pathId"], session_id, asked.query
    )
    return asked.answer(page, user_stat)


async def list_path_stats(request: Request, ctx: Context, client: Client) -> Response:
    asked = PATH_STATS.read(request, ctx, client)
    page = await progress.company_stats_page(client.company, ctx.db, ctx.clock, asked.query)
    return asked.answer(page, path_user_stat)


# --- Description -------------------------------------------------------------------------

_STATUS_TEXT = {
    "awaitingCorrection": "The learner reached an assessment step not yet validated.",
    "late": "The session is running and the learner is behind.",
    "notYetStarted": "The session is running and the learner has not started.",
    "onTime": "The session is running and the learner has started.",
    "sessionNotOpened": "The session has not started yet.",
    "successful": "The learner completed the path.",
    "toRetake": "The learner must take some mandatory steps again.",
    "unsuccessful": "The learner did not complete the path; `sessionEnded` when the session "
    "ended first.",
}


def _status_schema(name: str) -> str:
    return name[0].upper() + name[1:] + "Status"


def _status(name: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "type": {"type": "string", "enum": [name], "description": _STATUS_TEXT[name]}
    }
    reasons = progress.REASONS.get(name)
    if reasons:
        properties["reason"] = {"type": "string", "enum": sorted(reasons)}
    return {"type": "object", "required": ["type"], "properties": properties}


_DATE = s.DATE_TIME
_STAT_PROPERTIES: dict[str, Any] = {
    "_id": {**s.OBJECT_ID, "description": "The enrollment."},
    "userId": s.OBJECT_ID,
    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
    "status": {
        "oneOf": [s.ref(_status_schema(n)) for n in progress.STATUSES],
        "description": "The recorded status, or else the one the session's dates give.",
    },
    "timeSpent": {"type": "number", "description": "Milliseconds."},
    "enrolledAt": _DATE,
    "selfEnrolled": {"type": "boolean"},
    "completedAt": _DATE,
    "score": {"type": "integer", "minimum": 0, "maximum": 100},
    "unenrolledAt": {**_DATE, "description": "Set when the learner was unenrolled."},
    "certificateId": s.OBJECT_ID,
    "startedAt": _DATE,
    "dueDate": {**_DATE, "description": "The session's end date, when it has one."},
}
_STAT_REQUIRED = ["_id", "progress", "status", "timeSpent", "userId", "enrolledAt", "selfEnrolled"]

SCHEMAS: dict[str, Any] = {
    **{_status_schema(n): _status(n) for n in progress.STATUSES},
    "SessionUserStat": {
        "title": "Session User Stat",
        "type": "object",
        "required": _STAT_REQUIRED,
        "properties": _STAT_PROPERTIES,
    },
    "PathSessionUserStat": {
        "title": "Path Session User Stat",
        "type": "object",
        "required": [*_STAT_REQUIRED, "pathId", "sessionId"],
        "properties": {**_STAT_PROPERTIES, "pathId": s.OBJECT_ID, "sessionId": s.OBJECT_ID},
    },
    "UsersCountByStatus": {
        "title": "Users Count By Status",
        "type": "object",
        "required": list(progress.STATUSES),
        "properties": {n: {"type": "integer", "minimum": 0} for n in progress.STATUSES},
    },
    "AggregatedSessionStat": {
        "title": "Aggregated Session Stat",
        "type": "object",
        "required": ["certificates", "usersCountByStatus"],
        "properties": {
            "certificates": {
                "type": "integer",
                "minimum": 0,
                "description": "The learners with a certificate recorded.",
            },
            "usersCountByStatus": s.ref("UsersCountByStatus"),
        },
    },
}

_PATH_ID = s.path_id("pathId", "The unique ID of the path.")
_SESSION_ID = s.path_id("sessionId", "The unique ID of the path session.")
_ONE = ["pathNotFound", "sessionNotFound", "sessionNotBelongToPath"]
_TAGS = ["Paths"]
_RULE = (
    "A learner's status is the one recorded with their progress, or else follows from the "
    "session's dates: `sessionNotOpened` before the start, `notYetStarted` or `onTime` "
    "while it runs, `unsuccessful` (`sessionEnded`) once it has ended."
)

OPERATIONS: list[Operation] = [
    operation(
        "GET",
        "/api/v2/paths/stats",
        PATH_STATS.operation_id,
        list_path_stats,
        "pathStats:read",
        tags=_TAGS,
        summary="List all user statistics for all paths",
        description="Every enrollment of the company, unenrolled ones included "
        "(`status[eq]=published` leaves them out), with its learner's statistics. " + _RULE,
        parameters=s.filter_parameters(dict(PATH_STATS.filters)),
        success=s.page(s.ref("PathSessionUserStat"), PATH_STATS.page_size, "user statistics"),
        errors=[],
    ),
    operation(
        "GET",
        "/api/v2/paths/{pathId}/sessions/{sessionId}/user-statuses",
        SESSION_COUNTS_ID,
        get_session_counts,
        "pathStats:read",
        tags=_TAGS,
        summary="Retrieve metrics for a path session",
        description="The session's enrolled learners counted by status, and the "
        "certificates among them. " + _RULE,
        parameters=[_PATH_ID, _SESSION_ID],
        success=s.ok("The session's counts.", s.ref("AggregatedSessionStat")),
        errors=_ONE,
    ),
    operation(
        "GET",
        "/api/v2/paths/{pathId}/sessions/{sessionId}/user-stats",
        SESSION_STATS.operation_id,
        list_session_stats,
        "pathStats:read",
        tags=_TAGS,
        summary="List all user statistics for a path session",
        description="The session's enrollments, unenrolled ones included (with "
        "`unenrolledAt`), with their learners' statistics. " + _RULE,
        parameters=[_PATH_ID, _SESSION_ID, *s.filter_parameters(dict(SESSION_STATS.filters))],
        success=s.page(s.ref("SessionUserStat"), SESSION_STATS.page_size, "user statistics"),
        errors=_ONE,
    ),
]
