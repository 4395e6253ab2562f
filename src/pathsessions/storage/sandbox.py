"""The sandbox's tables (migration 0006): clocks, the request journal, faults, snapshots.

Every statement here is one atomic step, so that several worker processes (and servers) on
the same database agree: a fault's remaining `times` is decremented by a conditional UPDATE,
journal ids come from one counter row incremented in the transaction that writes the entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .database import Database, Row

SERVER = ""  # the key of the server's own clock


@dataclass(frozen=True, slots=True)
class ClockSetting:
    frozen_at: int | None
    offset_ms: int


# --- Clocks -----------------------------------------------------------------------------------


async def request_state(
    db: Database,
) -> tuple[dict[str, ClockSetting], list[tuple[str, str, int]]]:
    """What a request needs of the sandbox, in one query (one round trip to PostgreSQL): the
    clocks set (as `clocks`) and the faults not spent (as `faults`)."""
    rows = await db.fetchall(
        "SELECT company_id, frozen_at, offset_ms, NULL, NULL FROM sandbox_clocks"
        " UNION ALL SELECT id, NULL, position, definition, fired FROM sandbox_faults"
        " WHERE times_left IS NULL OR times_left > 0"
    )
    settings = {r[0]: ClockSetting(r[1], int(r[2])) for r in rows if r[3] is None}
    found = sorted((int(r[2]), r[0], r[3], int(r[4])) for r in rows if r[3] is not None)
    return settings, [(fault_id, definition, fired) for _, fault_id, definition, fired in found]


async def clocks(db: Database) -> dict[str, ClockSetting]:
    """Every clock set: '' for the server's, else by company id."""
    rows = await db.fetchall("SELECT company_id, frozen_at, offset_ms FROM sandbox_clocks")
    return {r[0]: ClockSetting(r[1], int(r[2])) for r in rows}


async def set_clock(db: Database, company_id: str, setting: ClockSetting) -> None:
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM sandbox_clocks WHERE company_id = ?", company_id)
        await tx.execute(
            "INSERT INTO sandbox_clocks (company_id, frozen_at, offset_ms) VALUES (?, ?, ?)",
            company_id,
            setting.frozen_at,
            setting.offset_ms,
        )


async def advance_clock(db: Database, company_id: str, ms: int, start: ClockSetting) -> None:
    """Move the clock `ms` forward in one statement (a frozen clock's instant, a running one's
    offset); a clock not set yet starts as `start`."""
    async with db.transaction() as tx:
        changed = await tx.execute(
            "UPDATE sandbox_clocks SET frozen_at = frozen_at + ?, offset_ms = CASE WHEN"
            " frozen_at IS NULL THEN offset_ms + ? ELSE offset_ms END WHERE company_id = ?",
            ms,
            ms,
            company_id,
        )
        if not changed:
            frozen = None if start.frozen_at is None else start.frozen_at + ms
            offset = start.offset_ms + ms if start.frozen_at is None else start.offset_ms
            await tx.execute(
                "INSERT INTO sandbox_clocks (company_id, frozen_at, offset_ms) VALUES (?, ?, ?)",
                company_id,
                frozen,
                offset,
            )


async def clear_clock(db: Database, company_id: str | None) -> None:
    """One clock back to the server's (a company) or real time (the server); None: all."""
    if company_id is None:
        await db.execute("DELETE FROM sandbox_clocks")
    else:
        await db.execute("DELETE FROM sandbox_clocks WHERE company_id = ?", company_id)


async def _next(tx: Database, counter: str, count: int = 1) -> int:
    """Move a counter `count` on; answer its new value (the last of the `count` taken)."""
    # An upsert, so a counter needs no row to begin with. fetchall: SQLite's cursor must run
    # the statement to its end before the commit.
    rows = await tx.fetchall(
        "INSERT INTO sandbox_counters (name, value) VALUES (?, ?) ON CONFLICT (name)"
        " DO UPDATE SET value = sandbox_counters.value + ? RETURNING value",
        counter,
        count,
        count,
    )
    return int(rows[0][0])


# --- Journal ----------------------------------------------------------------------------------

JOURNAL_COLUMNS = (
    "id, at, company_id, method, path, query, headers, body, body_truncated, status,"
    " response_body, response_body_truncated, duration_ms, operation, fault_id"
)


async def record(db: Database, entries: Sequence[Sequence[Any]], keep: int) -> list[int]:
    """Write journal entries (each every column but the id, in `JOURNAL_COLUMNS` order) in
    one transaction; answer their ids. What is older than the newest `keep` is no longer
    read (`entries`), and deleted a hundredth of `keep` at a time: a DELETE with every
    write cost a round trip each time on PostgreSQL."""
    count = len(entries)
    async with db.transaction() as tx:
        last = await _next(tx, "journal", count)
        first = last - count + 1
        await tx.executemany(
            f"INSERT INTO sandbox_journal ({JOURNAL_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(first + i, *entry) for i, entry in enumerate(entries)],
        )
        every = max(1, keep // 100)
        if last > keep and (last // every) != ((first - 1) // every):
            await tx.execute("DELETE FROM sandbox_journal WHERE id <= ?", last - keep)
    return list(range(first, last + 1))


async def entries(
    db: Database,
    keep: int,
    *,
    company: str | None,
    method: str | None,
    operation: str | None,
    status: int | None,
    path: str | None,
    since: int | None,
    limit: int,
) -> list[Row]:
    # Only the newest `keep`, whatever is still stored (`record`).
    where: list[str] = [
        "id > (SELECT COALESCE(MAX(value), 0) FROM sandbox_counters WHERE name = 'journal') - ?"
    ]
    args: list[Any] = [keep]
    for column, value in (
        ("company_id", company),
        ("method", method),
        ("operation", operation),
        ("status", status),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if path is not None:
        # A prefix, compared as text: LIKE would read `%` and `_` in it as wildcards.
        where.append("substr(path, 1, ?) = ?")
        args += [len(path), path]
    if since is not None:
        where.append("id > ?")
        args.append(since)
    clause = f" WHERE {' AND '.join(where)}"
    return await db.fetchall(
        f"SELECT {JOURNAL_COLUMNS} FROM sandbox_journal{clause} ORDER BY id DESC LIMIT ?",
        *args,
        limit,
    )


async def entry(db: Database, entry_id: int, keep: int) -> Row | None:
    return await db.fetchone(
        f"SELECT {JOURNAL_COLUMNS} FROM sandbox_journal WHERE id = ? AND id >"
        " (SELECT COALESCE(MAX(value), 0) FROM sandbox_counters WHERE name = 'journal') - ?",
        entry_id,
        keep,
    )


async def clear_journal(db: Database, company_id: str | None) -> None:
    if company_id is None:
        await db.execute("DELETE FROM sandbox_journal")
    else:
        await db.execute("DELETE FROM sandbox_journal WHERE company_id = ?", company_id)


# --- Faults -----------------------------------------------------------------------------------


async def add_fault(db: Database, fault_id: str, definition: str, times: int | None) -> None:
    async with db.transaction() as tx:
        position = await _next(tx, "faults")
        await tx.execute(
            "INSERT INTO sandbox_faults (id, position, definition, times_left, fired)"
            " VALUES (?, ?, ?, ?, 0)",
            fault_id,
            position,
            definition,
            times,
        )


async def faults(db: Database) -> list[tuple[str, str, int]]:
    """The faults not spent, oldest first: id, definition, fired."""
    rows = await db.fetchall(
        "SELECT id, definition, fired FROM sandbox_faults"
        " WHERE times_left IS NULL OR times_left > 0 ORDER BY position"
    )
    return [(r[0], r[1], int(r[2])) for r in rows]


async def fire(db: Database, fault_id: str) -> bool:
    """Count one answer of the fault, if it has one left: exact across processes, as the
    row is checked and changed by one statement. A fault spent now is deleted."""
    changed = await db.execute(
        "UPDATE sandbox_faults SET fired = fired + 1, times_left = times_left - 1"
        " WHERE id = ? AND (times_left IS NULL OR times_left > 0)",
        fault_id,
    )
    if changed:
        await db.execute(
            "DELETE FROM sandbox_faults WHERE id = ? AND times_left IS NOT NULL"
            " AND times_left <= 0",
            fault_id,
        )
    return changed > 0


async def delete_fault(db: Database, fault_id: str) -> bool:
    return (
        await db.execute(
            "DELETE FROM sandbox_faults WHERE id = ? AND (times_left IS NULL OR times_left > 0)",
            fault_id,
        )
        > 0
    )


async def clear_faults(db: Database) -> None:
    await db.execute("DELETE FROM sandbox_faults")


# --- Snapshots --------------------------------------------------------------------------------


async def save_snapshot(
    db: Database, name: str, company_id: str | None, created_at: int, data: str
) -> bool:
    """False when a snapshot of that name exists."""
    async with db.transaction() as tx:
        if await tx.fetchone("SELECT 1 FROM sandbox_snapshots WHERE name = ?", name):
            return False
        await tx.execute(
            "INSERT INTO sandbox_snapshots (name, company_id, created_at, data)"
            " VALUES (?, ?, ?, ?)",
            name,
            company_id,
            created_at,
            data,
        )
    return True


async def snapshots(db: Database) -> list[Row]:
    """Name, company, created_at, size of the data, by name."""
    return await db.fetchall(
        "SELECT name, company_id, created_at, length(data) FROM sandbox_snapshots ORDER BY name"
    )


async def snapshot(db: Database, name: str) -> Row | None:
    return await db.fetchone(
        "SELECT name, company_id, created_at, data FROM sandbox_snapshots WHERE name = ?", name
    )


async def delete_snapshot(db: Database, name: str) -> bool:
    return await db.execute("DELETE FROM sandbox_snapshots WHERE name = ?", name) > 0


async def clear_snapshots(db: Database) -> None:
    await db.execute("DELETE FROM sandbox_snapshots")


# --- Tables, generically (snapshots, counts, deletion) ----------------------------------------


async def columns(db: Database) -> dict[str, list[str]]:
    """Every table of the schema, with its columns in order: one query (information_schema
    is slow on PostgreSQL, a query per table cost a tenth of a second)."""
    if db.dialect == "sqlite":
        rows = await db.fetchall(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p"
            " WHERE m.type = 'table' ORDER BY m.name, p.cid"
        )
    else:
        rows = await db.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(str(table), []).append(str(column))
    return found


async def credential_company(
    db: Database, *, client_id: str | None = None, credential_id: str | None = None
) -> str | None:
    """The company of a v2 credential, by client id or by id."""
    if client_id is not None:
        row = await db.fetchone(
            "SELECT company_id FROM api_credentials WHERE client_id = ?", client_id
        )
    else:
        row = await db.fetchone(
            "SELECT company_id FROM api_credentials WHERE id = ?", credential_id
        )
    return None if row is None else str(row[0])
