"""Webhook deliveries from real `pathsessions serve` processes: events pending when the server
is SIGKILLed are all delivered after it restarts, and two worker processes deliver each event
exactly once."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest

from pathsessions.storage import open_database
from support.api import valid_body
from support.realserver import (
    COMPANY,
    HEADERS,
    SESSIONS,
    Servers,
    free_port,
    load_example,
    stop_cleanly,
)
from support.webhooks import Receiver, signature

pytestmark = pytest.mark.e2e

SUBSCRIPTION = "7b0000000000000000000001"
SECRET = "a-webhook-secret-for-tests"
ENV = {"PATHSESSIONS_WEBHOOK_PRIVATE_TARGETS": "true", "PATHSESSIONS_WEBHOOK_POLL_INTERVAL": "0.05"}


async def subscribe(database_url: str, url: str) -> None:
    db = await open_database(database_url, pg_pool_size=1)
    try:
        await db.execute(
            "INSERT INTO webhook_subscriptions (id, company_id, event_type, name, url, status,"
            " secret, created_at, modified_at) VALUES (?, ?, ?, ?, ?, 'active', ?, 0, 0)",
            SUBSCRIPTION,
            COMPANY,
            "path.session.added",
            "test",
            url,
            SECRET,
        )
    finally:
        await db.close()


async def statuses(database_url: str) -> list[str]:
    db = await open_database(database_url, pg_pool_size=1)
    try:
        rows = await db.fetchall("SELECT status FROM webhook_events")
        return sorted(row[0] for row in rows)
    finally:
        await db.close()


async def attempted(database_url: str) -> int:
    db = await open_database(database_url, pg_pool_size=1)
    try:
        row = await db.fetchone("SELECT COUNT(DISTINCT event_id) FROM webhook_attempts")
        return int(row[0]) if row else 0
    finally:
        await db.close()


async def create_sessions(base_url: str, count: int) -> set[str]:
    async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=30) as client:
        answers = await asyncio.gather(
            *(client.post(SESSIONS, json=valid_body(sessionName=f"S{i}")) for i in range(count))
        )
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
    return {r.json()["_id"] for r in answers}


async def test_events_pending_at_a_sigkill_are_delivered_after_a_restart(
    database_url: str, servers: Servers
) -> None:
    load_example(database_url)
    port = free_port()  # nothing listens there yet: every first attempt is refused
    await subscribe(database_url, f"http://127.0.0.1:{port}/hook")
    server = servers.start(env=ENV)
    created = await create_sessions(server.base_url, 20)
    async with asyncio.timeout(20):
        while await attempted(database_url) < 20:
            await asyncio.sleep(0.05)
    assert set(await statuses(database_url)) <= {"pending", "sending"}
    server.stop(signal.SIGKILL)
    receiver = await Receiver().start(port)
    try:
        again = servers.start(env=ENV)
        got = await receiver.wait_for(20, timeout=30)
        await asyncio.sleep(0.3)
        assert {g.json["data"]["sessionId"] for g in got} == created
        assert len({g.headers["webhook-id"] for g in got}) == len(got) == 20
        assert all(g.headers["webhook-signature"] == signature(SECRET, g) for g in got)
        async with asyncio.timeout(10):
            while await statuses(database_url) != ["delivered"] * 20:
                await asyncio.sleep(0.05)
        stop_cleanly(again)
        assert SECRET not in again.stdout + again.stderr
    finally:
        await receiver.close()


async def test_two_worker_processes_deliver_each_event_exactly_once(
    database_url: str, servers: Servers
) -> None:
    receiver = await Receiver().start()
    try:
        load_example(database_url)
        await subscribe(database_url, receiver.url())
        server = servers.start("serve", "--workers", "2", env=ENV)
        created = set()
        for _ in range(4):
            created |= await create_sessions(server.base_url, 25)
        got = await receiver.wait_for(100, timeout=30)
        await asyncio.sleep(1.0)  # time for a duplicate, were there one, to arrive
        assert len(receiver.received) == 100
        assert len({g.headers["webhook-id"] for g in got}) == 100
        assert {g.json["data"]["sessionId"] for g in got} == created
        assert await statuses(database_url) == ["delivered"] * 100
        stop_cleanly(server)
    finally:
        await receiver.close()
