"""The sandbox is on only with an admin token; the token opens /__admin/ and nothing else."""

from __future__ import annotations

import httpx
import pytest

from pathsessions.sandbox.routes import ROUTES
from pathsessions.settings import SettingsError, load_settings
from pathsessions.storage import Database
from support import ACME, ACME_KEY, World
from support.sandbox import ADMIN, ADMIN_TOKEN, admin, sandbox_settings
from support.v2 import v2_headers

ADMIN_PATHS = ["/__admin/clock", "/__admin/requests", "/__admin/faults", "/__admin/nothing"]


@pytest.fixture
def settings(database_url: str) -> object:
    return sandbox_settings(database_url)


@pytest.mark.backend_independent
def test_a_short_admin_token_is_refused_at_start() -> None:
    with pytest.raises(SettingsError, match="PATHSESSIONS_ADMIN_TOKEN must be at least 32"):
        load_settings({"PATHSESSIONS_ADMIN_TOKEN": "x" * 31})
    assert load_settings({"PATHSESSIONS_ADMIN_TOKEN": "x" * 32}).admin_token == "x" * 32


async def test_every_admin_call_needs_the_token(client: httpx.AsyncClient, world: World) -> None:
    for path in ADMIN_PATHS:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
            {"Authorization": f"Basic {ADMIN_TOKEN}"},
            {"X-apiKey": ACME_KEY, "X-company-id": ACME},
            await v2_headers(client),
        ):
            r = await client.get(path, headers=headers)
            assert (r.status_code, r.json()) == (401, {"error": "unauthorized"}), (path, headers)
    r = await admin(client, "GET", "/clock")
    assert r.status_code == 200


async def test_the_admin_token_opens_no_api_route(client: httpx.AsyncClient, world: World) -> None:
    r = await client.get("/api/v1/paths", headers=ADMIN)
    assert r.status_code == 401
    r = await client.get("/api/v2/paths", headers={**ADMIN, "360-api-version": "v2.0"})
    assert r.status_code == 401


async def test_an_unknown_admin_route_is_not_found(client: httpx.AsyncClient, db: Database) -> None:
    r = await admin(client, "GET", "/nothing")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    assert r.json()["message"]
    r = await admin(client, "PATCH", "/clock")
    assert r.status_code == 404


async def test_a_body_too_large_is_413(client: httpx.AsyncClient, db: Database) -> None:
    r = await admin(client, "POST", "/faults", content=b"x" * (64 * 1024 * 1024 + 1))
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"


async def test_the_openapi_document_describes_the_control_api(
    client: httpx.AsyncClient, db: Database
) -> None:
    document = (await client.get("/openapi.json")).json()
    sandbox = {
        (method, path)
        for path, methods in document["paths"].items()
        for method, op in methods.items()
        if op["tags"] == ["sandbox"]
    }
    assert sandbox == {(r.method.lower(), r.path) for r in ROUTES}
    clock = document["paths"]["/__admin/clock"]["get"]
    assert clock["responses"]["401"]["content"]["application/json"]["examples"]
    assert (await client.get("/docs")).status_code == 200
