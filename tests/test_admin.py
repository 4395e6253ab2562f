"""Operator actions under concurrency."""

from __future__ import annotations

import asyncio

from pathsessions.core import operators as admin
from pathsessions.core.clock import SYSTEM_CLOCK
from pathsessions.core.keys import MAX_ACTIVE_KEYS
from pathsessions.core.model import NewKey
from pathsessions.storage import Database
from pathsessions.storage import companies as q
from support import World


async def test_concurrent_key_creations_never_pass_the_limit(db: Database, world: World) -> None:
    while await q.count_active_keys(db, world.company) < MAX_ACTIVE_KEYS - 1:
        await admin.create_key(db, SYSTEM_CLOCK, world.company, "filler")
    if db.dialect == "postgresql":
        # Open every pooled connection first, so the creations below really run side by side.
        await asyncio.gather(*(db.fetchone("SELECT pg_sleep(0.05)") for _ in range(4)))
    results = await asyncio.gather(
        *(admin.create_key(db, SYSTEM_CLOCK, world.company, f"race {i}") for i in range(10)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, NewKey) for r in results) == 1
    assert all(isinstance(r, NewKey | admin.OperatorError) for r in results)
    assert await q.count_active_keys(db, world.company) == MAX_ACTIVE_KEYS
