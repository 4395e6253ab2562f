"""Without an admin token there is no sandbox: /__admin/ is an unknown route."""

from __future__ import annotations

import httpx

from support import World
from support.sandbox import ADMIN


async def test_admin_urls_answer_the_unknown_route_404(
    client: httpx.AsyncClient, world: World
) -> None:
    unknown = await client.get("/no/such/route")
    for method in ("GET", "POST", "PUT", "DELETE"):
        for path in ("/__admin", "/__admin/", "/__admin/clock", "/__admin/requests/1"):
            r = await client.request(method, path, headers=ADMIN)
            assert r.status_code == 404
            assert r.content == unknown.content
            assert r.headers["content-type"] == unknown.headers["content-type"]


async def test_nothing_is_journalled_without_the_sandbox(
    client: httpx.AsyncClient, world: World, app: object
) -> None:
    r = await client.get("/api/v1/paths", params={"company": world.company, "apiKey": world.key})
    assert r.status_code == 200
    db = app.db  # type: ignore[attr-defined]
    assert await db.fetchall("SELECT id FROM sandbox_journal") == []
    assert app.pipeline.sandbox is None  # type: ignore[attr-defined]


async def test_the_openapi_document_has_no_sandbox(client: httpx.AsyncClient, world: World) -> None:
    document = (await client.get("/openapi.json")).json()
    assert not [p for p in document["paths"] if p.startswith("/__admin")]
