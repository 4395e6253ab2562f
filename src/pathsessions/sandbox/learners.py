"""The control API's handlers for what no API writes: a learner's progress and a group's
members (docs/sandbox.md §6). Both act by the company's clock."""

from __future__ import annotations

from typing import Any

from ..api.context import Context
from ..api.v2.progress_views import user_stat
from ..core import learners
from ..core.clock import Clock
from ..core.model import Progress
from ..core.operators import ROLE_ALIASES, ROLES
from ..core.progress import REASONS, STATUSES
from ..core.values import is_object_id, parse_date
from ..storage import sandbox as store
from ..web.asgi import Request, Response
from .admin import bad_request, json_object, not_found
from .clock import RequestClock
from .state import existing_company

PROGRESS_KEYS = (
    "progress",
    "status",
    "timeSpent",
    "score",
    "completedAt",
    "startedAt",
    "certificateId",
)
MEMBERS_KEYS = ("add", "remove", "role")
MAX_MEMBERS = 20_000


async def _company_clock(ctx: Context, company_id: str) -> Clock:
    clock = RequestClock(ctx.clock, await store.clocks(ctx.db))
    clock.company = company_id
    return clock


def _known_keys(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in body:
        if key not in allowed:
            raise bad_request(f"{key}: unknown field (known: {', '.join(allowed)})")


def _date(body: dict[str, Any], key: str) -> int | None:
    if body.get(key) is None:
        return None
    parsed = parse_date(body[key])
    if parsed is None:
        raise bad_request(f"{key}: not a valid date")
    return parsed


def progress_of(body: dict[str, Any]) -> Progress:
    """The body's progress, as v2's user stats show it (`status` as `{"type", "reason"?}`)."""
    _known_keys(body, PROGRESS_KEYS)
    value = body.get("progress")
    if type(value) is not int or not 0 <= value <= 100:
        raise bad_request("progress: required, an integer from 0 to 100")
    status = reason = None
    if body.get("status") is not None:
        given = body["status"]
        if not isinstance(given, dict) or set(given) - {"type", "reason"}:
            raise bad_request('status: must be {"type", "reason"?}')
        status = given.get("type")
        if status not in STATUSES:
            raise bad_request(f"status.type: must be one of {', '.join(STATUSES)}")
        reason = given.get("reason")
        if reason is not None and reason not in REASONS.get(status, ()):
            allowed = sorted(REASONS.get(status, ()))
            raise bad_request(
                f"status.reason: must be {' or '.join(allowed)}"
                if allowed
                else f"status.reason: {status} takes no reason"
            )
    time_spent = body.get("timeSpent")
    if time_spent is not None and (type(time_spent) is not int or time_spent < 0):
        raise bad_request("timeSpent: a number of milliseconds, at least 0")
    score = body.get("score")
    if score is not None and (
        type(score) not in (int, float) or score != score or not 0 <= score <= 100
    ):
        raise bad_request("score: a number from 0 to 100")
    certificate = body.get("certificateId")
    if certificate is not None and not is_object_id(certificate):
        raise bad_request("certificateId: not a valid id (24 hexadecimal characters)")
    return Progress(
        progress=value,
        status=status,
        reason=reason,
        time_spent=time_spent,
        score=score,
        completed_at=_date(body, "completedAt"),
        started_at=_date(body, "startedAt"),
        certificate_id=None if certificate is None else certificate.lower(),
    )


async def put_progress(request: Request, ctx: Context) -> Response:
    company_id = await existing_company(ctx, request.params["companyId"])
    enrollment_id = request.params["enrollmentId"].lower()
    progress = progress_of(json_object(request))
    clock = await _company_clock(ctx, company_id)
    try:
        stat = await learners.record_progress(ctx.db, clock, company_id, enrollment_id, progress)
    except learners.UnknownObject:
        raise not_found(f"no enrollment {request.params['enrollmentId']}") from None
    return Response.json(user_stat(stat))


def _ids(body: dict[str, Any], key: str) -> list[str]:
    given = body.get(key, [])
    if not isinstance(given, list) or len(given) > MAX_MEMBERS:
        raise bad_request(f"{key}: an array of at most {MAX_MEMBERS:,} user ids")
    for k, item in enumerate(given):
        if not is_object_id(item):
            raise bad_request(f"{key}[{k}]: not a valid id (24 hexadecimal characters)")
    return list(dict.fromkeys(str(item).lower() for item in given))


async def put_members(request: Request, ctx: Context) -> Response:
    company_id = await existing_company(ctx, request.params["companyId"])
    group_id = request.params["groupId"].lower()
    body = json_object(request)
    _known_keys(body, MEMBERS_KEYS)
    add, remove = _ids(body, "add"), _ids(body, "remove")
    if both := sorted(set(add) & set(remove)):
        raise bad_request(f"remove: {both[0]} is also in add")
    given = body.get("role", "learner")
    role = ROLE_ALIASES.get(given, given) if isinstance(given, str) else given
    if role not in ROLES:
        raise bad_request(f"role: must be one of {', '.join(ROLES)}")
    clock = await _company_clock(ctx, company_id)
    try:
        members = await learners.change_members(
            ctx.db, clock, company_id, group_id, add, remove, role
        )
    except learners.UnknownObject as exc:
        if exc.kind == "group":
            raise not_found(f"no group {request.params['groupId']}") from None
        raise bad_request(f"users: not users of the company: {', '.join(exc.ids)}") from None
    return Response.json([{"userId": user, "role": held} for user, held in members])
