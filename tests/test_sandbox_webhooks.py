"""Webhooks under the sandbox (docs/sandbox.md, "Time"): deliveries to the loopback allowed,
each company's clock deciding when a retry is due and what `webhook-timestamp` says, moving
that clock through the control API delivering the retries it made due (across processes
under `serve`); a reset leaves no delivery pending."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from pathsessions.settings import Settings
from pathsessions.storage import Database, open_database
from support import World
from support.api import valid_body
from support.realserver import COMPANY, HEADERS, SESSIONS, Servers, load_example, stop_cleanly
from support.sandbox import ADMIN_TOKEN, admin, sandbox_settings
from support.sessions_v2 import create
from support.v2 import v2_headers
from support.webhooks import Receiver, signature

SUBSCRIPTIONS = "/api/v2/webhooks/subscriptions"
FROZEN = "2031-05-01T08:00:00.000Z"
FROZEN_S = 1_935_388_800


@pytest.fixture
def settings(database_url: str) -> Settings:
    # No PATHSESSIONS_WEBHOOK_PRIVATE_TARGETS: the sandbox alone lets deliveries reach the
    # loopback. A short poll, so that the test is quick.
    return dataclasses.replace(sandbox_settings(database_url), webhook_poll_interval=0.05)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.close()


async def statuses(db: Database) -> list[str]:
    return [r[0] for r in await db.fetchall("SELECT status FROM webhook_events ORDER BY id")]


async def until(db: Database, wanted: list[str]) -> None:
    for _ in range(400):
        if await statuses(db) == wanted:
            return
        await asyncio.sleep(0.01)
    assert await statuses(db) == wanted


async def test_retries_follow_the_company_clock(
    client: httpx.AsyncClient, world: World, receiver: Receiver, db: Database
) -> None:
    clock = {"company": world.company}
    r = await admin(client, "PUT", "/clock", params=clock, json={"frozenAt": FROZEN})
    assert r.status_code == 200, r.text
    headers = await v2_headers(client)
    body = {"eventType": "path.session.added", "name": "hook", "url": receiver.url()}
    r = await client.post(SUBSCRIPTIONS, json=body, headers=headers)
    assert r.status_code == 201, r.text
    sub_id = r.json()["_id"]
    secret = (await client.get(f"{SUBSCRIPTIONS}/{sub_id}/secrets", headers=headers)).json()
    receiver.statuses = [500]

    await create(client, headers)
    [first] = await receiver.wait_for(1)
    assert first.headers["webhook-timestamp"] == str(FROZEN_S)
    assert first.json["timestamp"] == FROZEN_S * 1000
    await until(db, ["pending"])
    # Real time passes; the company's does not: the retry, 5 s later by its clock, waits.
    await asyncio.sleep(0.3)
    assert len(receiver.received) == 1

    r = await admin(client, "POST", "/clock/advance", params=clock, json={"ms": 5_000})
    assert r.status_code == 200, r.text
    got = await receiver.wait_for(2)
    await until(db, ["delivered"])
    assert got[1].headers["webhook-id"] == first.headers["webhook-id"]
    assert got[1].headers["webhook-timestamp"] == str(FROZEN_S + 5)
    assert all(g.headers["webhook-signature"] == signature(secret["secret"], g) for g in got)


async def test_a_reset_leaves_no_delivery_pending(
    client: httpx.AsyncClient, world: World, receiver: Receiver, db: Database
) -> None:
    headers = await v2_headers(client)
    body = {"eventType": "path.session.added", "name": "hook", "url": receiver.url()}
    assert (await client.post(SUBSCRIPTIONS, json=body, headers=headers)).status_code == 201
    receiver.statuses = [500]
    await create(client, headers)
    await receiver.wait_for(1)
    await until(db, ["pending"])
    assert (await admin(client, "POST", "/reset")).status_code == 204
    assert await statuses(db) == []


@pytest.mark.e2e
async def test_moving_the_clock_wakes_the_delivery_process_of_a_real_server(
    database_url: str, servers: Servers, receiver: Receiver
) -> None:
    """Under `serve`, the request that moves a clock is served by another process than the
    one delivering: the wake-up crosses to it (a poll far longer than the test would not)."""
    load_example(database_url)
    db = await open_database(database_url, pg_pool_size=1)
    try:
        await db.execute(
            "INSERT INTO webhook_subscriptions (id, company_id, event_type, name, url, status,"
            " secret, created_at, modified_at) VALUES (?, ?, ?, 'hook', ?, 'active', ?, 0, 0)",
            "7b0000000000000000000001",
            COMPANY,
            "path.session.added",
            receiver.url(),
            "a-webhook-secret-for-tests",
        )
    finally:
        await db.close()
    receiver.statuses = [500]
    env = {"PATHSESSIONS_ADMIN_TOKEN": ADMIN_TOKEN, "PATHSESSIONS_WEBHOOK_POLL_INTERVAL": "600"}
    server = servers.start(env=env)
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        r = await client.post(SESSIONS, json=valid_body(), headers=HEADERS)
        assert r.status_code == 200, r.text
        [first] = await receiver.wait_for(1)
        await asyncio.sleep(0.3)  # the retry is due in 5 s by the company's clock
        assert len(receiver.received) == 1
        r = await admin(
            client, "POST", "/clock/advance", params={"company": COMPANY}, json={"ms": 5_000}
        )
        assert r.status_code == 200, r.text
    got = await receiver.wait_for(2, timeout=5)
    assert got[1].headers["webhook-id"] == first.headers["webhook-id"]
    stop_cleanly(server)
