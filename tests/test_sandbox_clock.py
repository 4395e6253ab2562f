"""The sandbox's clocks: the server's, a company's, frozen, moved, back to real time."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pathsessions.core.clock import SettableClock
from pathsessions.core.values import format_date, parse_date
from pathsessions.settings import Settings
from pathsessions.storage import sandbox as sandbox_store
from support import World, created_id, valid_body
from support.sandbox import admin, sandbox_settings
from support.v2 import TOKEN_URL, VERSION_HEADER

FROZEN = "2031-05-06T07:08:09.123Z"
REAL = parse_date("2030-06-01T00:00:00.000Z")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return sandbox_settings(database_url)


@pytest.fixture
def settable_clock() -> SettableClock:
    """The machine's time, as the app sees it: frozen, so that answers can be exact."""
    return SettableClock(REAL)


async def create(client: httpx.AsyncClient, world: World, **body: Any) -> dict[str, Any]:
    session_id = created_id(
        await client.post(world.sessions_url(), json=valid_body(**body), headers=world.headers)
    )
    r = await client.get(f"/api/v1/paths/sessions/{session_id}", headers=world.headers)
    assert r.status_code == 200
    answer: dict[str, Any] = r.json()
    return answer


async def test_real_time_until_set(client: httpx.AsyncClient, world: World) -> None:
    r = await admin(client, "GET", "/clock")
    assert (r.status_code, r.json()) == (
        200,
        {"now": "2030-06-01T00:00:00.000Z", "frozen": False, "offsetMs": 0},
    )
    assert (await create(client, world))["createdAt"] == "2030-06-01T00:00:00.000Z"


async def test_a_frozen_clock_dates_every_write(client: httpx.AsyncClient, world: World) -> None:
    r = await admin(client, "PUT", "/clock", json={"frozenAt": FROZEN})
    assert r.status_code == 200
    assert r.json() == {
        "now": FROZEN,
        "frozen": True,
        "offsetMs": parse_date(FROZEN) - REAL,  # type: ignore[operator]
    }
    session = await create(client, world, startDate="2031-06-01T00:00:00.000Z", endDate=None)
    assert session["createdAt"] == session["modifiedAt"] == FROZEN
    # The "in the past" rule reads the same clock: a start before the frozen instant is past.
    url = f"/api/v1/paths/sessions/{session['sessionId']}"
    past = valid_body(startDate="2031-05-01T00:00:00.000Z", endDate=None)
    r = await client.patch(url, json=past, headers=world.headers)
    assert r.status_code == 400, r.text
    assert "start date is in the past" in r.json()["error"]
    future = valid_body(startDate="2031-05-07T00:00:00.000Z", endDate=None)
    r = await client.patch(url, json=future, headers=world.headers)
    assert r.status_code == 200, r.text
    assert r.json()["modifiedAt"] == FROZEN


async def test_now_runs_on_and_offset_moves(
    client: httpx.AsyncClient, world: World, settable_clock: SettableClock
) -> None:
    r = await admin(client, "PUT", "/clock", json={"now": FROZEN})
    assert r.json()["frozen"] is False
    assert r.json()["now"] == FROZEN
    settable_clock.advance(1500)  # real time passes: the clock runs with it
    assert (await admin(client, "GET", "/clock")).json()["now"] == "2031-05-06T07:08:10.623Z"
    r = await admin(client, "PUT", "/clock", json={"offsetMs": -1000})
    assert r.json() == {"now": "2030-06-01T00:00:00.500Z", "frozen": False, "offsetMs": -1000}
    r = await admin(client, "POST", "/clock/advance", json={"ms": 3000})
    assert r.json() == {"now": "2030-06-01T00:00:03.500Z", "frozen": False, "offsetMs": 2000}


async def test_advance_moves_a_frozen_instant(client: httpx.AsyncClient, world: World) -> None:
    await admin(client, "PUT", "/clock", json={"frozenAt": FROZEN})
    r = await admin(client, "POST", "/clock/advance", json={"ms": 86_400_000})
    assert r.json()["now"] == "2031-05-07T07:08:09.123Z"
    assert r.json()["frozen"] is True
    session = await create(client, world, startDate="2031-06-01T00:00:00.000Z", endDate=None)
    assert session["createdAt"] == "2031-05-07T07:08:09.123Z"


async def test_delete_goes_back_to_real_time(client: httpx.AsyncClient, world: World) -> None:
    await admin(client, "PUT", "/clock", json={"frozenAt": FROZEN})
    r = await admin(client, "DELETE", "/clock")
    assert r.json() == {"now": format_date(REAL), "frozen": False, "offsetMs": 0}  # type: ignore[arg-type]
    assert (await create(client, world))["createdAt"] == format_date(REAL)  # type: ignore[arg-type]


async def test_a_company_clock_overrides_the_server_clock(
    client: httpx.AsyncClient, world: World
) -> None:
    await admin(client, "PUT", "/clock", json={"frozenAt": "2030-07-01T00:00:00.000Z"})
    r = await admin(client, "PUT", f"/clock?company={world.company}", json={"frozenAt": FROZEN})
    assert r.json()["now"] == FROZEN
    assert (await admin(client, "GET", "/clock")).json()["now"] == "2030-07-01T00:00:00.000Z"
    assert (await admin(client, "GET", f"/clock?company={world.other_company}")).json()[
        "now"
    ] == "2030-07-01T00:00:00.000Z"
    session = await create(client, world, startDate="2031-06-01T00:00:00.000Z", endDate=None)
    assert session["createdAt"] == FROZEN
    other = created_id(
        await client.post(
            world.sessions_url(world.other_path),
            json={
                "sessionName": "x",
                "startDate": "2031-06-01T00:00:00.000Z",
                "sessionOwnerGroup": world.other_group,
            },
            headers=world.other_headers,
        )
    )
    r = await client.get(f"/api/v1/paths/sessions/{other}", headers=world.other_headers)
    assert r.json()["createdAt"] == "2030-07-01T00:00:00.000Z"
    # Deleting the company's clock: it follows the server's again.
    r = await admin(client, "DELETE", f"/clock?company={world.company}")
    assert r.json()["now"] == "2030-07-01T00:00:00.000Z"


async def test_token_expiry_follows_the_company_clock(
    client: httpx.AsyncClient, world: World
) -> None:
    credential = world.credential
    r = await client.post(
        TOKEN_URL,
        json={
            "grant_type": "client_credentials",
            "client_id": credential.client_id,
            "client_secret": credential.client_secret,
        },
    )
    token = r.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", **VERSION_HEADER}
    assert (await client.get("/api/v2/paths", headers=headers)).status_code == 200
    # An hour later for this company alone: the token has expired for it.
    await admin(client, "POST", f"/clock/advance?company={world.company}", json={"ms": 3_600_000})
    assert (await client.get("/api/v2/paths", headers=headers)).status_code == 401
    await admin(client, "DELETE", f"/clock?company={world.company}")
    assert (await client.get("/api/v2/paths", headers=headers)).status_code == 200
    # A token issued while the company's clock is frozen in the past expires an hour after it.
    await admin(
        client,
        "PUT",
        f"/clock?company={world.company}",
        json={"frozenAt": "2020-01-01T00:00:00.000Z"},
    )
    r = await client.post(
        TOKEN_URL,
        json={
            "grant_type": "client_credentials",
            "client_id": credential.client_id,
            "client_secret": credential.client_secret,
        },
    )
    old = {"Authorization": f"Bearer {r.json()['access_token']}", **VERSION_HEADER}
    assert (await client.get("/api/v2/paths", headers=old)).status_code == 200
    await admin(client, "DELETE", f"/clock?company={world.company}")
    assert (await client.get("/api/v2/paths", headers=old)).status_code == 401


async def test_bad_clock_requests(client: httpx.AsyncClient, world: World) -> None:
    for body in ({}, {"frozenAt": "yesterday"}, {"offsetMs": "1"}, {"now": FROZEN, "offsetMs": 1}):
        r = await admin(client, "PUT", "/clock", json=body)
        assert r.status_code == 400, body
        assert set(r.json()) == {"error", "message"}
    r = await admin(client, "POST", "/clock/advance", json={"ms": 1.5})
    assert r.status_code == 400
    r = await admin(client, "GET", "/clock?company=5f1b2c3d4e5f60718293a4ff")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    r = await admin(client, "GET", "/clock?company=nope")
    assert r.status_code == 400
    assert (await admin(client, "GET", "/clock")).json()["frozen"] is False


async def test_a_request_goes_on_when_the_sandbox_state_cannot_be_read(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await admin(client, "PUT", "/clock", json={"frozenAt": FROZEN})

    async def unreadable(db: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(sandbox_store, "request_state", unreadable)
    # Real time then: the clock could not be read.
    assert (await create(client, world))["createdAt"] == format_date(REAL)  # type: ignore[arg-type]
