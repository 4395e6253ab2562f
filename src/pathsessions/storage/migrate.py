"""The migrations runner: ordered, recorded in `schema_migrations`, one transaction each."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources

from ..core.clock import SYSTEM_CLOCK, Clock
from ..core.ids import new_id
from .database import Database

_NAME = re.compile(r"(\d{4})_(\w+)\.sql")
# Any constant works; it only has to be the same for every process migrating one database.
_PG_LOCK = 7_366_354_117


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer version of this program."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def available() -> list[Migration]:
    found = []
    for entry in resources.files("pathsessions.storage.migrations").iterdir():
        m = _NAME.fullmatch(entry.name)
        if m is None:
            continue
        text = entry.read_text(encoding="utf-8")
        # Our migration files hold no semicolons inside strings, so this split is exact.
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        statements = tuple(s.strip() for s in body.split(";") if s.strip())
        found.append(Migration(int(m.group(1)), m.group(2), statements))
    found.sort(key=lambda m: m.version)
    return found


async def _enrollment_ids(tx: Database) -> None:
    """Enrollments written before 0005 get ids made as the program makes them: SQL has no
    portable way to make an ObjectId."""
    rows = await tx.fetchall("SELECT session_id, user_id FROM session_users WHERE id IS NULL")
    await tx.executemany(
        "UPDATE session_users SET id = ? WHERE session_id = ? AND user_id = ?",
        [(new_id(), session_id, user_id) for session_id, user_id in rows],
    )


# Steps run after a migration's SQL, in its transaction, for what SQL cannot do alike on both
# engines.
_AFTER: dict[int, Callable[[Database], Awaitable[None]]] = {5: _enrollment_ids}


async def _lock(tx: Database) -> None:
    if tx.dialect == "postgresql":
        # Serialises concurrent migrators (several servers starting at once).
        await tx.fetchone("SELECT pg_advisory_xact_lock(?)", _PG_LOCK)


async def migrate(db: Database, clock: Clock = SYSTEM_CLOCK) -> list[int]:
    """Bring the schema to the current version; answer the versions applied now."""
    async with db.transaction() as tx:
        await _lock(tx)
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
        )
    migrations = available()
    applied: list[int] = []
    for migration in migrations:
        async with db.transaction() as tx:
            await _lock(tx)
            done = await tx.fetchone(
                "SELECT 1 FROM schema_migrations WHERE version = ?", migration.version
            )
            if done is not None:
                continue
            for statement in migration.statements:
                await tx.execute(statement)
            if (after := _AFTER.get(migration.version)) is not None:
                await after(tx)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                migration.version,
                migration.name,
                clock.now_ms(),
            )
            applied.append(migration.version)
    newest = await db.fetchone("SELECT MAX(version) FROM schema_migrations")
    latest_known = migrations[-1].version if migrations else 0
    if newest is not None and newest[0] is not None and newest[0] > latest_known:
        raise SchemaTooNewError(
            f"the database is at schema version {newest[0]}, newer than this program's "
            f"{latest_known}; upgrade pathsessions"
        )
    return applied


async def current_version(db: Database) -> int:
    row = await db.fetchone("SELECT MAX(version) FROM schema_migrations")
    return int(row[0]) if row is not None and row[0] is not None else 0
