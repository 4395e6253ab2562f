from __future__ import annotations

import httpx

from conftest import World, count_rows, valid_body
from pathsessions.storage import Database


async def test_create_returns_id(client: httpx.AsyncClient, world: World, db: Database) -> None:
    r = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["_id"]
    assert await count_rows(db, "path_sessions") == 1
