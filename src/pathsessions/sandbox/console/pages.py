"""The console's pages and forms. Reads and writes go through the control API's own handlers
(called in process, with the same validation and the same messages) or, for what the control
API does not list (paths, sessions, enrollments, webhook deliveries), the core's functions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import msgspec

from ...api.context import Context
from ...core import directory, webhooks
from ...core import progress as progress_rules
from ...core.errors import DomainError
from ...core.listing import ListQuery
from ...core.model import Company
from ...core.values import format_date, is_object_id
from ...storage import companies as company_store
from ...storage import sandbox as sandbox_store
from ...storage import sessions as session_store
from ...storage import webhooks as webhook_store
from ...web.asgi import Request, Response
from ...web.routing import Route
from .. import control, learners, state
from ..admin import AdminError
from ..clock import RequestClock
from . import queries
from .auth import COOKIE, LIFETIME_MS, SIGN_IN_COOKIE, cookies, same_origin
from .auth import set_cookie as cookie
from .render import STATIC, Visit, error_page, redirect, refused, url

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

Handler = Callable[[Request, Visit], Awaitable[Response]]
SESSIONS_PAGE = 20
DAY_MS = 86_400_000
PATHS_PAGE = 50
DELIVERIES_PAGE = 25
JOURNAL_FILTERS = ("company", "method", "operation", "status", "path", "limit")


async def call(
    handler: Callable[[Request, Context], Awaitable[Response]],
    visit: Visit,
    *,
    method: str = "GET",
    query: dict[str, str] | None = None,
    body: Any = None,
    params: dict[str, str] | None = None,
) -> Any:
    """A control API handler's answer, decoded; its refusals raise `AdminError`."""
    query_string = urlencode({k: v for k, v in (query or {}).items() if v}).encode()
    raw = b"" if body is None else _encode(body)
    request = Request(
        method,
        visit.request.path,
        query_string,
        {b"content-type": b"application/json"},
        raw,
        params or {},
    )
    response = await handler(request, visit.ctx)
    return _decode(response.body) if response.body else None


async def _companies(visit: Visit) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await call(state.list_companies, visit)
    return found


async def _company(visit: Visit) -> Company | None:
    raw = visit.request.params["companyId"].lower()
    if not is_object_id(raw):
        return None
    return await company_store.get_company(visit.ctx.db, raw)


def _operations(visit: Visit) -> list[str]:
    """The API's operation ids, offered in the journal's and the faults' forms."""
    described = visit.ctx.described
    return sorted({r.operation_id for r, _ in described if not r.path.startswith("/__admin")})


def _no_company() -> Response:
    return error_page(404, "There is no such company.")


# --- Signing in and out ------------------------------------------------------------------------


async def home(request: Request, visit: Visit) -> Response:
    if visit.nonce is None:
        return visit.sign_in_page()
    return visit.page(
        "companies.html", companies=await _companies(visit), done=request.query.get("done")
    )


async def sign_in(request: Request, visit: Visit) -> Response:
    fields = visit.form()
    pre = cookies(request).get(SIGN_IN_COOKIE)
    if (
        not same_origin(request)
        or pre is None
        or not visit.keys.csrf_matches(pre, "sign-in", fields.get("csrf"))
    ):
        return refused()
    if not visit.keys.token_matches(fields.get("token", "")):
        return visit.sign_in_page(401, "That is not the admin token.")
    session = visit.keys.new_session(visit.ctx.clock.now_ms())
    return redirect(
        url("/"),
        [
            cookie(COOKIE, session, LIFETIME_MS // 1000, visit.secure),
            cookie(SIGN_IN_COOKIE, "", 0, visit.secure),
        ],
    )


async def sign_out(request: Request, visit: Visit) -> Response:
    if visit.accepted("sign-out") is None:
        return refused()
    return redirect(url("/"), [cookie(COOKIE, "", 0, visit.secure)])


async def static(request: Request, visit: Visit) -> Response:
    found = STATIC.get(request.params["name"])
    if found is None:
        return error_page(404, "There is no such file.")
    body, content_type = found
    return Response(200, body, content_type, headers=[(b"cache-control", b"no-cache")])


# --- Companies, paths, sessions -----------------------------------------------------------------


async def company(request: Request, visit: Visit) -> Response:
    found = await _company(visit)
    if found is None:
        return _no_company()
    listed = await _companies(visit)
    counts: dict[str, int] = next((c["counts"] for c in listed if c["id"] == found.id), {})
    after = request.query.get("after") or None
    page = await directory.paths_page(found, visit.ctx.db, ListQuery(after=after, limit=PATHS_PAGE))
    return visit.page(
        "company.html", company=found, counts=counts, paths=page.items, next_after=page.next_after
    )


def _day(raw: str | None, label: str) -> int | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{label}: must be a date such as 2026-01-31") from None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


async def sessions(request: Request, visit: Visit) -> Response:
    found = await _company(visit)
    if found is None:
        return _no_company()
    q = request.query
    filters = {k: q.get(k, "") for k in ("name", "path", "from", "to")}
    items: list[queries.FoundSession] = []
    next_after = None
    try:
        start_from = _day(filters["from"], "Start date from")
        to = _day(filters["to"], "Start date to")
        path_id = filters["path"].lower() or None
        if path_id is not None and not is_object_id(path_id):
            raise ValueError("Path: must be a path id (24 hexadecimal characters)")
    except ValueError as exc:
        error: str | None = str(exc)
    else:
        error = None
        items, next_after = await queries.search_sessions(
            visit.ctx.db,
            found.id,
            name=filters["name"].strip() or None,
            path_id=path_id,
            start_from=start_from,
            # The day given is included: up to the start of the next one.
            start_before=None if to is None else to + DAY_MS,
            after=q.get("after") or None,
            limit=SESSIONS_PAGE,
        )
    return visit.page(
        "sessions.html",
        400 if error else 200,
        company=found,
        filters=filters,
        sessions=items,
        next_after=next_after,
        paged=bool(q.get("after")),
        error=error,
    )


async def _company_clock(visit: Visit, company_id: str) -> RequestClock:
    clock = RequestClock(visit.ctx.clock, await sandbox_store.clocks(visit.ctx.db))
    clock.company = company_id
    return clock


async def session(request: Request, visit: Visit) -> Response:
    return await _session_page(visit)


async def _session_page(
    visit: Visit, status: int = 200, error: str | None = None, fields: dict[str, str] | None = None
) -> Response:
    request = visit.request
    found = await _company(visit)
    session_id = request.params["sessionId"].lower()
    if found is None:
        return _no_company()
    stored = (
        await session_store.get_session(visit.ctx.db, found.id, session_id)
        if is_object_id(session_id)
        else None
    )
    if stored is None:
        return error_page(404, "There is no such session in this company.")
    clock = await _company_clock(visit, found.id)
    db = visit.ctx.db
    try:
        counts = await progress_rules.session_counts(found, db, clock, stored.path_id, stored.id)
        page = await progress_rules.session_stats_page(
            found,
            db,
            clock,
            stored.path_id,
            stored.id,
            ListQuery(after=request.query.get("after") or None, limit=100),
        )
    except DomainError:  # deleted meanwhile
        return error_page(404, "There is no such session in this company.")
    mails = await queries.user_mails(db, found.id, [s.enrollment.user_id for s in page.items])
    return visit.page(
        "session.html",
        status,
        company=found,
        session=stored,
        counts=counts,
        stats=page.items,
        mails=mails,
        next_after=page.next_after,
        statuses=progress_rules.STATUSES,
        error=error,
        fields=fields or {},
        done=request.query.get("done"),
    )


def progress_body(fields: dict[str, str]) -> dict[str, Any]:
    """The body of `PUT …/enrollments/{id}/progress` from the form's fields."""
    raw = fields.get("progress", "").strip()
    try:
        body: dict[str, Any] = {"progress": int(raw)}
    except ValueError:
        raise AdminError(400, "invalid_request", "Progress: a whole number from 0 to 100") from None
    if fields.get("status"):
        body["status"] = {"type": fields["status"]}
    raw = fields.get("score", "").strip()
    if raw:
        try:
            body["score"] = float(raw)
        except ValueError:
            raise AdminError(400, "invalid_request", "Score: a number from 0 to 100") from None
    return body


async def set_progress(request: Request, visit: Visit) -> Response:
    fields = visit.accepted("set-progress")
    if fields is None:
        return refused()
    params = {
        "companyId": request.params["companyId"],
        "enrollmentId": fields.get("enrollment", ""),
    }
    try:
        await call(
            learners.put_progress, visit, method="PUT", body=progress_body(fields), params=params
        )
    except AdminError as exc:
        return await _session_page(visit, exc.status, exc.message, fields)
    where = f"/companies/{request.params['companyId']}/sessions/{request.params['sessionId']}"
    return redirect(url(where, done="progress"))


# --- The journal ------------------------------------------------------------------------------


def _journal_filters(request: Request) -> dict[str, str]:
    return {k: request.query.get(k, "").strip() for k in JOURNAL_FILTERS}


async def _entries(
    visit: Visit, filters: dict[str, str], since: str | None = None
) -> tuple[list[Any], str | None]:
    try:
        found = await call(control.list_requests, visit, query={**filters, "since": since or ""})
    except AdminError as exc:
        return [], exc.message
    return found, None


async def journal(request: Request, visit: Visit) -> Response:
    filters = _journal_filters(request)
    entries, error = await _entries(visit, filters)
    return visit.page(
        "journal.html",
        400 if error else 200,
        filters=filters,
        entries=entries,
        error=error,
        companies=await _companies(visit),
        operations=_operations(visit),
        rows_url=url("/journal/rows", **filters),
    )


async def journal_rows(request: Request, visit: Visit) -> Response:
    """The entries newer than `since`, as HTML for the live journal to put on top."""
    entries, error = await _entries(visit, _journal_filters(request), request.query.get("since"))
    if error:
        return error_page(400, error)
    return visit.page("journal_rows.html", entries=entries)


async def journal_entry(request: Request, visit: Visit) -> Response:
    try:
        entry = await call(
            control.get_request, visit, params={"entryId": request.params["entryId"]}
        )
    except AdminError as exc:
        return error_page(exc.status, exc.message)
    return visit.page("journal_entry.html", entry=entry)


# --- Faults -------------------------------------------------------------------------------------

FAULT_TEXT = ("operation", "method", "path", "company", "action", "when")
FAULT_INTEGERS = {"status": "Status", "delayMs": "Delay", "times": "Times"}


def fault_body(fields: dict[str, str]) -> dict[str, Any]:
    """The control API's fault body from the form's fields; empty fields are left out."""
    body: dict[str, Any] = {k: fields[k].strip() for k in FAULT_TEXT if fields.get(k, "").strip()}
    for name, label in FAULT_INTEGERS.items():
        raw = fields.get(name, "").strip()
        if raw:
            try:
                body[name] = int(raw)
            except ValueError:
                raise AdminError(400, "invalid_fault", f"{label}: must be a whole number") from None
    raw = fields.get("probability", "").strip()
    if raw:
        try:
            body["probability"] = float(raw)
        except ValueError:
            raise AdminError(
                400, "invalid_fault", "Probability: must be a number from 0 to 1"
            ) from None
    for name, label in (("body", "Answer body"), ("headers", "Answer headers")):
        raw = fields.get(name, "").strip()
        if raw:
            try:
                body[name] = _decode(raw)
            except (msgspec.DecodeError, RecursionError):
                raise AdminError(400, "invalid_fault", f"{label}: not valid JSON") from None
    return body


async def _faults_page(
    visit: Visit, status: int = 200, error: str | None = None, fields: dict[str, str] | None = None
) -> Response:
    return visit.page(
        "faults.html",
        status,
        faults=await call(control.list_faults, visit),
        companies=await _companies(visit),
        error=error,
        fields=fields or {},
        operations=_operations(visit),
        done=visit.request.query.get("done"),
    )


async def faults(request: Request, visit: Visit) -> Response:
    return await _faults_page(visit)


async def add_fault(request: Request, visit: Visit) -> Response:
    fields = visit.accepted("add-fault")
    if fields is None:
        return refused()
    try:
        await call(control.create_fault, visit, method="POST", body=fault_body(fields))
    except AdminError as exc:
        return await _faults_page(visit, exc.status, exc.message, fields)
    return redirect(url("/faults", done="added"))


async def remove_fault(request: Request, visit: Visit) -> Response:
    if visit.accepted("remove-fault") is None:
        return refused()
    try:
        await call(
            control.delete_fault,
            visit,
            method="DELETE",
            params={"faultId": request.params["faultId"]},
        )
    except AdminError as exc:
        return await _faults_page(visit, exc.status, exc.message)
    return redirect(url("/faults", done="removed"))


# --- The clock ----------------------------------------------------------------------------------

UNITS = {"seconds": 1000, "minutes": 60_000, "hours": 3_600_000, "days": 86_400_000}


async def _clock_page(visit: Visit, status: int = 200, error: str | None = None) -> Response:
    companies = await _companies(visit)
    own = await sandbox_store.clocks(visit.ctx.db)
    clocks = [("Server-wide", "", await call(control.get_clock, visit))]
    for c in companies:
        if c["id"] in own:
            clocks.append(
                (
                    c["name"],
                    c["id"],
                    await call(control.get_clock, visit, query={"company": c["id"]}),
                )
            )
    return visit.page(
        "clock.html",
        status,
        clocks=clocks,
        companies=companies,
        error=error,
        done=visit.request.query.get("done"),
        units=list(UNITS),
    )


async def clock(request: Request, visit: Visit) -> Response:
    return await _clock_page(visit)


def _instant(raw: str) -> str:
    """A datetime-local field's value (UTC unless it names an offset) as the API's date-time."""
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise AdminError(400, "invalid_request", "Freeze at: must be a date and time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    ms = int(parsed.timestamp() * 1000)
    if not 0 <= ms <= control.MAX_MS:
        raise AdminError(400, "invalid_request", "Freeze at: from 1970 to 9999")
    return format_date(ms)


async def _clock_form(
    visit: Visit, form: str, act: Callable[[dict[str, str], dict[str, str]], Awaitable[Any]]
) -> Response:
    fields = visit.accepted(form)
    if fields is None:
        return refused()
    scope = {"company": fields.get("company", "").strip()}
    try:
        await act(fields, scope)
    except AdminError as exc:
        return await _clock_page(visit, exc.status, exc.message)
    return redirect(url("/clock", done=form))


async def freeze_clock(request: Request, visit: Visit) -> Response:
    async def act(fields: dict[str, str], scope: dict[str, str]) -> None:
        at = fields.get("at", "").strip()
        frozen_at = (
            _instant(at) if at else (await call(control.get_clock, visit, query=scope))["now"]
        )
        await call(
            control.put_clock, visit, method="PUT", query=scope, body={"frozenAt": frozen_at}
        )

    return await _clock_form(visit, "freeze", act)


async def advance_clock(request: Request, visit: Visit) -> Response:
    async def act(fields: dict[str, str], scope: dict[str, str]) -> None:
        raw, unit = fields.get("amount", "").strip(), fields.get("unit", "")
        if unit not in UNITS:
            raise AdminError(400, "invalid_request", f"Unit: one of {', '.join(UNITS)}")
        try:
            amount = float(raw)
        except ValueError:
            raise AdminError(400, "invalid_request", "Advance by: must be a number") from None
        if not -1e12 < amount < 1e12:
            raise AdminError(400, "invalid_request", "Advance by: too large")
        body = {"ms": round(amount * UNITS[unit])}
        await call(control.advance_clock, visit, method="POST", query=scope, body=body)

    return await _clock_form(visit, "advance", act)


async def real_clock(request: Request, visit: Visit) -> Response:
    async def act(fields: dict[str, str], scope: dict[str, str]) -> None:
        await call(control.delete_clock, visit, method="DELETE", query=scope)

    return await _clock_form(visit, "real", act)


# --- Webhooks -----------------------------------------------------------------------------------


async def webhook_subscriptions(request: Request, visit: Visit) -> Response:
    companies = await _companies(visit)
    chosen = (request.query.get("company") or (companies[0]["id"] if companies else "")).lower()
    found = await company_store.get_company(visit.ctx.db, chosen) if is_object_id(chosen) else None
    subscriptions: list[Any] = []
    if found is not None:
        page = await webhooks.subscriptions_page(found, visit.ctx.db, ListQuery(limit=100))
        subscriptions = list(page.items)
    return visit.page(
        "webhooks.html", companies=companies, company=found, subscriptions=subscriptions
    )


async def deliveries(request: Request, visit: Visit) -> Response:
    found = await _company(visit)
    if found is None:
        return _no_company()
    db = visit.ctx.db
    query = ListQuery(after=request.query.get("after") or None, limit=DELIVERIES_PAGE)
    try:
        subscription = await webhooks.get_subscription(found, db, request.params["subscriptionId"])
        page = await webhooks.events_page(found, db, subscription.id, query)
    except DomainError:
        return error_page(404, "There is no such webhook subscription in this company.")
    events = [
        (event, _decode(event.payload), await webhook_store.attempts_of(db, event.id))
        for event in page.items
    ]
    return visit.page(
        "deliveries.html",
        company=found,
        subscription=subscription,
        events=events,
        next_after=page.next_after,
    )


# --- Routes -------------------------------------------------------------------------------------

ConsoleRoute = Route[Visit, Any]


def _r(method: str, path: str, name: str, handler: Handler) -> ConsoleRoute:
    # Pages open before signing in are named `open:…`; every other one needs the cookie.
    return ConsoleRoute(method, path, name, public=handler)


ROUTES: list[ConsoleRoute] = [
    _r("GET", "/", "open:home", home),
    _r("POST", "/sign-in", "open:signIn", sign_in),
    _r("GET", "/static/{name}", "open:static", static),
    _r("POST", "/sign-out", "signOut", sign_out),
    _r("GET", "/companies/{companyId}", "company", company),
    _r("GET", "/companies/{companyId}/sessions", "sessions", sessions),
    _r("GET", "/companies/{companyId}/sessions/{sessionId}", "session", session),
    _r("POST", "/companies/{companyId}/sessions/{sessionId}/progress", "setProgress", set_progress),
    _r("GET", "/companies/{companyId}/webhooks/{subscriptionId}", "deliveries", deliveries),
    _r("GET", "/journal", "journal", journal),
    _r("GET", "/journal/rows", "journalRows", journal_rows),
    _r("GET", "/journal/{entryId}", "journalEntry", journal_entry),
    _r("GET", "/faults", "faults", faults),
    _r("POST", "/faults", "addFault", add_fault),
    _r("POST", "/faults/{faultId}/remove", "removeFault", remove_fault),
    _r("GET", "/clock", "clock", clock),
    _r("POST", "/clock/freeze", "freezeClock", freeze_clock),
    _r("POST", "/clock/advance", "advanceClock", advance_clock),
    _r("POST", "/clock/real", "realClock", real_clock),
    _r("GET", "/webhooks", "webhooks", webhook_subscriptions),
]
