"""The control API's handlers for state: fixtures, companies, export, snapshots, reset
(docs/sandbox.md §2).

Snapshots copy rows table by table, generically (sandbox/tables.py); a restore changes what
differs, in one transaction.
"""

from __future__ import annotations

import re
from operator import itemgetter
from typing import Any

import msgspec

from ..api.context import Context
from ..core.values import format_date, is_object_id
from ..documents import YAML_TYPES, DocumentError, parse_yaml
from ..loader import FixtureError, load_document
from ..storage import Database, bulk
from ..storage import companies as company_store
from ..storage import sandbox as store
from ..web.asgi import Request, Response
from . import export
from .admin import AdminError, bad_request, json_body, json_object, no_content, not_found
from .tables import KEYS, TABLES, rows_of

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

# --- Fixtures and companies ------------------------------------------------------------------


def parse_document(request: Request) -> Any:
    """JSON; YAML when the content type says so."""
    content_type = (request.header(b"content-type") or "").split(";")[0].strip().lower()
    if content_type in YAML_TYPES:
        try:
            return parse_yaml(request.body.decode("utf-8"))
        except UnicodeDecodeError:
            raise bad_request("$: not UTF-8 text", "invalid_fixture") from None
        except DocumentError as exc:
            raise bad_request(f"$: {exc}", "invalid_fixture") from None
    return json_body(request)


async def load_fixtures(request: Request, ctx: Context) -> Response:
    document = parse_document(request)
    reset = request.query.get("reset", "false").lower()
    if reset not in ("true", "false"):
        raise bad_request("reset: must be true or false")
    try:
        report = await load_document(ctx.db, document, clock=ctx.clock, reset=reset == "true")
    except FixtureError as exc:
        raise bad_request(str(exc), "invalid_fixture") from None
    companies = []
    for company_id in dict.fromkeys(report.company_ids):
        company = await company_store.get_company(ctx.db, company_id)
        key = report.generated_keys.get(company_id)
        companies.append(
            {
                "id": company_id,
                "name": company.name if company is not None else None,
                "apiKeys": [key] if key is not None else [],
                "apiCredentials": [
                    {"clientId": c["clientId"], "clientSecret": c["clientSecret"]}
                    for c in report.generated_credentials
                    if c["company"] == company_id
                ],
            }
        )
    return Response.json({"companies": companies})


COUNTS = {
    "groups": "SELECT COUNT(*) FROM company_groups WHERE company_id = ?",
    "users": "SELECT COUNT(*) FROM users WHERE company_id = ?",
    "paths": "SELECT COUNT(*) FROM paths WHERE company_id = ?",
    "sessions": "SELECT COUNT(*) FROM path_sessions WHERE company_id = ?",
    "enrollments": "SELECT (SELECT COUNT(*) FROM session_users su JOIN path_sessions s"
    " ON s.id = su.session_id WHERE s.company_id = ?) + (SELECT COUNT(*) FROM session_groups"
    " sg JOIN path_sessions s ON s.id = sg.session_id WHERE s.company_id = ?)",
}


async def list_companies(request: Request, ctx: Context) -> Response:
    answer = []
    for company in await company_store.list_companies(ctx.db):
        counts = {}
        for name, sql in COUNTS.items():
            row = await ctx.db.fetchone(sql, *([company.id] * sql.count("?")))
            counts[name] = int(row[0]) if row is not None else 0
        answer.append({"id": company.id, "name": company.name, "counts": counts})
    return Response.json(answer)


async def existing_company(ctx: Context, raw: str) -> str:
    company_id = raw.lower()
    if not is_object_id(company_id) or await company_store.get_company(ctx.db, company_id) is None:
        raise not_found(f"no company {raw}")
    return company_id


async def delete_company(request: Request, ctx: Context) -> Response:
    company_id = await existing_company(ctx, request.params["companyId"])
    async with ctx.db.transaction() as tx:
        await company_store.delete_company(tx, company_id)
        await store.clear_clock(tx, company_id)
    return no_content()


async def export_company(request: Request, ctx: Context) -> Response:
    company_id = await existing_company(ctx, request.params["companyId"])
    return Response.json(await export.company_document(ctx.db, company_id))


# --- Snapshots -------------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


async def create_snapshot(request: Request, ctx: Context) -> Response:
    body = json_object(request)
    name = body.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise bad_request("name: 1 to 100 letters, digits, '.', '_' or '-'")
    unknown = sorted(set(body) - {"name", "company"})
    if unknown:
        raise bad_request(f"{unknown[0]}: unknown field")
    company_id = None
    if body.get("company") is not None:
        if not isinstance(body["company"], str):
            raise bad_request("company: must be a company id")
        company_id = await existing_company(ctx, body["company"])
    async with ctx.db.transaction() as tx:  # one consistent state
        data = await rows_of(tx, company_id)
    now = ctx.clock.now_ms()
    if not await store.save_snapshot(ctx.db, name, company_id, now, _encode(data).decode()):
        raise AdminError(409, "conflict", f"a snapshot named {name} exists")
    return Response.json(_snapshot_view(name, company_id, now), 201)


def _snapshot_view(name: str, company_id: str | None, created_at: int) -> dict[str, Any]:
    return {"name": name, "company": company_id, "createdAt": format_date(created_at)}


async def list_snapshots(request: Request, ctx: Context) -> Response:
    return Response.json(
        [_snapshot_view(r[0], r[1], int(r[2])) for r in await store.snapshots(ctx.db)]
    )


async def restore_snapshot(request: Request, ctx: Context) -> Response:
    name = request.params["name"]
    found = await store.snapshot(ctx.db, name)
    if found is None:
        raise not_found(f"no snapshot {name}")
    data: dict[str, Any] = _decode(found[3])
    async with ctx.db.transaction() as tx:
        await restore(tx, found[1], data)
    return no_content()


async def restore(db: Database, company_id: str | None, data: dict[str, Any]) -> None:
    """Make the rows of every company (None) or of one exactly those of `data`, changing only
    what differs: rows gone since are deleted (children first), rows changed are updated and
    rows missing inserted (parents first). A test that changed a few things of a large
    company is back in milliseconds; rewriting every row of 10,000 sessions took over a
    second on PostgreSQL, where each row written or deleted runs a trigger per foreign key."""
    now = await rows_of(db, company_id, ordered=False)
    changes = []
    for table, _ in TABLES:
        if table not in data:
            continue
        columns: list[str] = data[table]["columns"]
        there = now.get(table, {"columns": columns, "rows": []})
        if there["columns"] != columns:
            raise AdminError(409, "conflict", "the snapshot was taken by another schema version")
        key = [columns.index(k) for k in KEYS.get(table, ("id",))]
        gone, changed, missing = _differences(key, data[table]["rows"], there["rows"])
        changes.append((table, columns, key, gone, changed, missing))
    for table, columns, key, gone, _, _ in reversed(changes):
        if not gone:
            continue
        names = [columns[i] for i in key]
        if len(names) == 1:
            # One statement for the lot (rows a test added by thousands), not one a row.
            ids = db.array([k[0] for k in gone])
            await db.execute(f"DELETE FROM {table} WHERE {db.any_of(names[0])}", ids)
        else:
            where = " AND ".join(f"{n} = ?" for n in names)
            await db.executemany(f"DELETE FROM {table} WHERE {where}", gone)
    for table, columns, key, _, changed, missing in changes:
        if missing:
            await insertrows_of(db, table, columns, missing)
        if changed:
            names = [columns[i] for i in key]
            others = [i for i in range(len(columns)) if i not in key]
            sets = ", ".join(f"{columns[i]} = ?" for i in others)
            where = " AND ".join(f"{n} = ?" for n in names)
            await db.executemany(
                f"UPDATE {table} SET {sets} WHERE {where}",
                [[row[i] for i in others] + [row[i] for i in key] for row in changed],
            )


def _differences(
    key: list[int], snapshot: list[list[Any]], present: list[tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The keys of the rows to delete, the rows to update and the rows to insert to make
    `present` (tuples) `snapshot` (lists). Whole rows first: the many that are unchanged
    cost a set lookup, and the keys are only taken of the few that differ. With nothing
    present (a deleted company, after a reset) every row is to insert, compared with nothing:
    the comparisons took as long as the inserts themselves."""
    wanted = [tuple(row) for row in snapshot]
    if not present:
        return [], [], wanted
    present_set = set(present)
    lacking = [row for row in wanted if row not in present_set]
    wanted_set = set(wanted)
    extra = [row for row in present if row not in wanted_set]
    if not extra:
        return [], [], lacking
    pick = itemgetter(*key)  # a value for one column, a tuple for several
    extra_keys = {pick(row) for row in extra}
    lacking_keys = {pick(row) for row in lacking}
    gone = [k if len(key) > 1 else (k,) for k in extra_keys if k not in lacking_keys]
    changed = [row for row in lacking if pick(row) in extra_keys]
    missing = [row for row in lacking if pick(row) not in extra_keys]
    return gone, changed, missing


async def deleterows_of(db: Database, company_id: str | None) -> None:
    """Every company's rows (None), or one company's: table by table, children first. Set
    by set rather than by the foreign keys' cascades, which go row by row (on PostgreSQL,
    a trigger per row: 10,000 sessions took a third of a second); what other tables hold of
    these rows still goes by the cascades."""
    for table, condition in reversed(TABLES):
        if company_id is None:
            await db.execute(f"DELETE FROM {table}")
        else:
            await db.execute(f"DELETE FROM {table} WHERE {condition}", company_id)


async def insertrows_of(db: Database, table: str, columns: list[str], rows: list[Any]) -> None:
    """The fixture loader's bulk path (storage/bulk.py: COPY on PostgreSQL)."""
    await bulk.insert_rows(db, table, columns, rows)


async def delete_snapshot(request: Request, ctx: Context) -> Response:
    name = request.params["name"]
    if not await store.delete_snapshot(ctx.db, name):
        raise not_found(f"no snapshot {name}")
    return no_content()


# --- Reset -----------------------------------------------------------------------------------


async def reset(request: Request, ctx: Context) -> Response:
    body = json_object(request, required=False)
    snapshots = body.get("snapshots", False)
    if not isinstance(snapshots, bool) or set(body) - {"snapshots"}:
        raise bad_request('body: only {"snapshots": true|false}')
    async with ctx.db.transaction() as tx:
        await deleterows_of(tx, None)
        await store.clear_journal(tx, None)
        await store.clear_faults(tx)
        await store.clear_clock(tx, None)
        if snapshots:
            await store.clear_snapshots(tx)
    return no_content()
