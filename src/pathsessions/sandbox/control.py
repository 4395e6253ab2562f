"""The control API's handlers for time, the journal and faults (docs/sandbox.md §3-5)."""

from __future__ import annotations

from typing import Any

import msgspec

from ..api.context import Context
from ..core.events import queued
from ..core.ids import new_id
from ..core.values import is_object_id, parse_date
from ..storage import companies as company_store
from ..storage import sandbox as store
from ..storage.sandbox import SERVER, ClockSetting
from ..web.asgi import Request, Response
from . import faults as f
from .admin import bad_request, json_object, no_content, not_found
from .clock import describe, now_of, setting_for
from .journal import entry_view

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
MAX_OFFSET = 10**13


async def _company_param(request: Request, ctx: Context, *, must_exist: bool = True) -> str | None:
    company = request.query.get("company")
    if company is None:
        return None
    if not is_object_id(company):
        raise bad_request("company: must be a company id (24 hexadecimal characters)")
    company = company.lower()
    if must_exist and await company_store.get_company(ctx.db, company) is None:
        raise not_found(f"no company {company}")
    return company


# --- Time ------------------------------------------------------------------------------------


async def _clock_answer(ctx: Context, company: str | None) -> Response:
    # Moved time may have made webhook retries due: this process's worker looks now (the
    # others at their next look, within PATHSESSIONS_WEBHOOK_POLL_INTERVAL).
    queued()
    settings = await store.clocks(ctx.db)
    return Response.json(describe(setting_for(settings, company), ctx.clock.now_ms()))


async def get_clock(request: Request, ctx: Context) -> Response:
    return await _clock_answer(ctx, await _company_param(request, ctx))


def _integer(value: Any, name: str, bound: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > bound:
        raise bad_request(f"{name}: must be an integer of at most {bound} in magnitude")
    return value


async def put_clock(request: Request, ctx: Context) -> Response:
    company = await _company_param(request, ctx)
    body = json_object(request)
    if len(body) != 1 or next(iter(body)) not in ("frozenAt", "now", "offsetMs"):
        raise bad_request("body: give exactly one of frozenAt, now, offsetMs")
    name, value = next(iter(body.items()))
    real = ctx.clock.now_ms()
    if name == "offsetMs":
        setting = ClockSetting(None, _integer(value, name, MAX_OFFSET))
    else:
        instant = parse_date(value)
        if instant is None:
            raise bad_request(f"{name}: must be a date-time such as 2026-01-31T09:00:00.000Z")
        setting = (
            ClockSetting(instant, 0) if name == "frozenAt" else ClockSetting(None, instant - real)
        )
    await store.set_clock(ctx.db, SERVER if company is None else company, setting)
    return await _clock_answer(ctx, company)


async def advance_clock(request: Request, ctx: Context) -> Response:
    company = await _company_param(request, ctx)
    body = json_object(request)
    if set(body) != {"ms"}:
        raise bad_request("ms: required, and the only field")
    ms = _integer(body["ms"], "ms", MAX_OFFSET)
    settings = await store.clocks(ctx.db)
    key = SERVER if company is None else company
    # A company without a clock of its own starts from the server's as it is now.
    start = setting_for(settings, company) or ClockSetting(None, 0)
    if now_of(start, ctx.clock.now_ms()) + ms > MAX_MS:
        raise bad_request("ms: the clock would pass the year 9999")
    await store.advance_clock(ctx.db, key, ms, start)
    return await _clock_answer(ctx, company)


async def delete_clock(request: Request, ctx: Context) -> Response:
    company = await _company_param(request, ctx, must_exist=False)
    await store.clear_clock(ctx.db, SERVER if company is None else company)
    return await _clock_answer(ctx, company)


# --- The journal -----------------------------------------------------------------------------

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _int_param(request: Request, name: str, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 15 or not low <= int(raw) <= high:
        raise bad_request(f"{name}: must be an integer from {low} to {high}")
    return int(raw)


async def list_requests(request: Request, ctx: Context) -> Response:
    query = request.query
    company = query.get("company")
    rows = await store.entries(
        ctx.db,
        ctx.settings.journal_size,
        company=company.lower() if company is not None else None,
        method=query["method"].upper() if "method" in query else None,
        operation=query.get("operation"),
        status=_int_param(request, "status", 100, 599),
        path=query.get("path"),
        since=_int_param(request, "since", 0, 10**15),
        limit=_int_param(request, "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT,
    )
    return Response.json([entry_view(row) for row in rows])


async def get_request(request: Request, ctx: Context) -> Response:
    raw = request.params["entryId"]
    keep = ctx.settings.journal_size
    row = await store.entry(ctx.db, int(raw), keep) if raw.isdigit() and len(raw) <= 15 else None
    if row is None:
        raise not_found(f"no journal entry {raw}")
    return Response.json(entry_view(row))


async def delete_requests(request: Request, ctx: Context) -> Response:
    company = await _company_param(request, ctx, must_exist=False)
    await store.clear_journal(ctx.db, company)
    return no_content()


# --- Faults ----------------------------------------------------------------------------------


def _listed(fault_id: str, definition: dict[str, Any], fired: int) -> dict[str, Any]:
    return {"id": fault_id, **definition, "fired": fired}


async def create_fault(request: Request, ctx: Context) -> Response:
    body = json_object(request)
    try:
        definition = f.definition(body)
    except f.InvalidFault as exc:
        raise bad_request(str(exc), "invalid_fault") from None
    if "company" in definition:
        definition["company"] = definition["company"].lower()
    fault_id = new_id()
    await store.add_fault(ctx.db, fault_id, _encode(definition).decode(), definition.get("times"))
    return Response.json(_listed(fault_id, definition, 0), 201)


async def list_faults(request: Request, ctx: Context) -> Response:
    return Response.json(
        [_listed(i, _decode(d), fired) for i, d, fired in await store.faults(ctx.db)]
    )


async def delete_fault(request: Request, ctx: Context) -> Response:
    fault_id = request.params["faultId"]
    if not await store.delete_fault(ctx.db, fault_id):
        raise not_found(f"no fault {fault_id}")
    return no_content()


async def delete_faults(request: Request, ctx: Context) -> Response:
    await store.clear_faults(ctx.db)
    return no_content()
