"""Webhook deliveries through the real app, to a receiver on 127.0.0.1: what each write
fires (v1 and v2 alike, once committed), the signed request, retries by the schedule against
the settable clock, rotation, refused targets, redirects, and a lease taken back."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from pathsessions.app import App
from pathsessions.core import webhooks
from pathsessions.core.clock import SettableClock
from pathsessions.core.webhook_records import DueEvent, SubscriptionSecrets
from pathsessions.delivery import worker
from pathsessions.delivery.targets import Refused, Target, resolve
from pathsessions.settings import Settings
from pathsessions.storage import Database
from pathsessions.storage import webhooks as store
from support import World
from support.api import valid_body
from support.sessions_v2 import create, session_url
from support.v2 import v2_headers
from support.webhooks import Receiver, signature, signed_by

SUBSCRIPTIONS = "/api/v2/webhooks/subscriptions"
KINDS = (
    "path.session.added",
    "path.session.removed",
    "path.session.users.enrolled",
    "path.session.users.unenrolled",
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The receiver is on the loopback; a short poll, so a test that moves the clock is quick.
    return dataclasses.replace(settings, webhook_private_targets=True, webhook_poll_interval=0.05)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.close()


async def subscribe(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, kind: str = KINDS[0]
) -> tuple[str, str]:
    """A subscription to `kind` at `url`; answers its id and secret."""
    r = await client.post(
        SUBSCRIPTIONS, json={"eventType": kind, "name": kind, "url": url}, headers=headers
    )
    assert r.status_code == 201, r.text
    sub_id = r.json()["_id"]
    r = await client.get(f"{SUBSCRIPTIONS}/{sub_id}/secrets", headers=headers)
    return sub_id, r.json()["secret"]


async def event_log(
    client: httpx.AsyncClient, headers: dict[str, str], sub_id: str
) -> list[dict[str, Any]]:
    r = await client.get(f"{SUBSCRIPTIONS}/{sub_id}/events", headers=headers)
    assert r.status_code == 200, r.text
    log: list[dict[str, Any]] = r.json()
    return log


async def settled(db: Database, count: int = 1, status: str = "delivered") -> None:
    """Wait until `count` events are in `status`."""
    for _ in range(1000):
        row = await db.fetchone("SELECT COUNT(*) FROM webhook_events WHERE status = ?", status)
        if row is not None and row[0] >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not {count} events {status}")


async def first_attempt(db: Database) -> Any:
    """(number, status code, error) of the first attempt recorded, once there is one."""
    for _ in range(1000):
        row = await db.fetchone("SELECT number, status_code, error FROM webhook_attempts")
        if row is not None:
            return row
        await asyncio.sleep(0.01)
    raise AssertionError("no attempt recorded")


async def test_a_session_added_through_v2_is_delivered_signed(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    headers = await v2_headers(client)
    sub_id, secret = await subscribe(client, headers, receiver.url())
    session = await create(client, headers)
    (got,) = await receiver.wait_for(1)
    assert got.path == "/hook"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-signature"] == signature(secret, got)
    assert got.json == {
        "type": "path.session.added",
        "timestamp": got.json["timestamp"],
        "data": {
            "pathId": world.path,
            "sessionId": session["_id"],
            "name": "Cohort 1",
            "createdAt": session["createdAt"],
        },
    }
    assert int(got.headers["webhook-timestamp"]) == got.json["timestamp"] // 1000
    (event,) = await event_log(client, headers, sub_id)
    assert event["_id"] == got.headers["webhook-id"]
    assert event["payload"] == got.json
    for _ in range(100):
        if (await event_log(client, headers, sub_id))[0]["status"] == "delivered":
            break
        await asyncio.sleep(0.01)
    assert (await event_log(client, headers, sub_id))[0]["status"] == "delivered"


async def test_each_active_subscription_to_a_type_gets_its_own_event(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    headers = await v2_headers(client)
    subscriptions = [await subscribe(client, headers, receiver.url(f"/hook{i}")) for i in range(3)]
    r = await client.patch(
        f"{SUBSCRIPTIONS}/{subscriptions[1][0]}", json={"status": "inactive"}, headers=headers
    )
    assert r.status_code == 200, r.text
    session = await create(client, headers)
    got = await receiver.wait_for(2)
    await asyncio.sleep(0.2)  # time for a third, were there one, to arrive
    assert sorted(g.path for g in got) == ["/hook0", "/hook2"]
    assert {g.json["data"]["sessionId"] for g in got} == {session["_id"]}
    for (sub_id, secret), path in ((subscriptions[0], "/hook0"), (subscriptions[2], "/hook2")):
        (event,) = await event_log(client, headers, sub_id)
        [delivery] = [g for g in got if g.path == path]
        assert delivery.headers["webhook-id"] == event["_id"]
        assert delivery.headers["webhook-signature"] == signature(secret, delivery)
    assert got[0].headers["webhook-id"] != got[1].headers["webhook-id"]
    assert await event_log(client, headers, subscriptions[1][0]) == []


async def test_v1_and_v2_writes_fire_each_kind_of_event(
    client: httpx.AsyncClient, world: World, receiver: Receiver, db: Database
) -> None:
    headers = await v2_headers(client)
    secrets = {}
    for kind in KINDS:
        _, secrets[kind] = await subscribe(client, headers, receiver.url(f"/{kind}"), kind)
    r = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    v1_session = r.json()["_id"]
    users = f"/api/v1/paths/sessions/{v1_session}/users"
    for _ in range(2):  # the second changes nothing, and fires nothing
        r = await client.patch(users, json={"userIds": [world.owner]}, headers=world.headers)
        assert r.status_code == 200, r.text
    r = await client.request(
        "DELETE", users, json={"userIds": [world.owner]}, headers=world.headers
    )
    assert r.status_code == 200, r.text
    r = await client.delete(f"/api/v1/paths/sessions/{v1_session}", headers=world.headers)
    assert r.status_code == 200, r.text
    v2_session = (await create(client, headers, name="Second"))["_id"]
    r = await client.delete(session_url(v2_session), headers=headers)
    assert r.status_code == 204
    got = await receiver.wait_for(6)
    await asyncio.sleep(0.1)  # nothing more comes
    seen = [(g.path[1:], g.json["data"]["sessionId"]) for g in receiver.received]
    assert sorted(seen) == sorted(
        [
            ("path.session.added", v1_session),
            ("path.session.users.enrolled", v1_session),
            ("path.session.users.unenrolled", v1_session),
            ("path.session.removed", v1_session),
            ("path.session.added", v2_session),
            ("path.session.removed", v2_session),
        ]
    )
    for g in got:
        kind = g.path[1:]
        assert g.json["type"] == kind
        assert g.headers["webhook-signature"] == signature(secrets[kind], g)
        data = g.json["data"]
        at = {"path.session.added": "createdAt", "path.session.removed": "deletedAt"}.get(
            kind, "enrolledAt" if kind.endswith(".enrolled") else "unenrolledAt"
        )
        named = {"name"} if kind in KINDS[:2] else set()
        assert set(data) == {"pathId", "sessionId", at} | named, data
        assert data["pathId"] == world.path
    await settled(db, 6)


async def test_a_write_that_fails_or_rolls_back_fires_nothing(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = await v2_headers(client)
    await subscribe(client, headers, receiver.url())
    r = await client.post(f"/api/v2/paths/{world.archived_path}/sessions", json={}, headers=headers)
    assert r.status_code == 400
    real = store.queue_events

    async def queue_then_fail(*args: Any) -> list[str]:
        await real(*args)
        raise RuntimeError("the write fails after its event is queued")

    monkeypatch.setattr(store, "queue_events", queue_then_fail)
    r = await client.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    assert r.status_code == 500
    monkeypatch.undo()
    await asyncio.sleep(0.3)
    assert receiver.received == []
    for table in ("webhook_events", "path_sessions"):
        row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")
        assert row is not None
        assert row[0] == 0, table


async def test_an_inactive_subscription_gets_nothing_and_a_child_session_fires_nothing(
    client: httpx.AsyncClient, world: World, receiver: Receiver, db: Database
) -> None:
    headers = await v2_headers(client)
    sub_id, _ = await subscribe(client, headers, receiver.url())
    await client.patch(f"{SUBSCRIPTIONS}/{sub_id}", json={"status": "inactive"}, headers=headers)
    root = (await create(client, headers))["_id"]
    await subscribe(client, headers, receiver.url("/removed"), "path.session.removed")
    await db.execute(
        "INSERT INTO path_sessions (id, company_id, path_id, name, start_date, owner_group_id,"
        " created_at, modified_at, root_session_id)"
        " SELECT ?, company_id, path_id, name, start_date, owner_group_id, created_at,"
        " modified_at, id FROM path_sessions WHERE id = ?",
        "6d00000000000000000000c1",
        root,
    )
    r = await client.delete(
        "/api/v1/paths/sessions/6d00000000000000000000c1", headers=world.headers
    )
    assert r.status_code == 200, r.text
    await asyncio.sleep(0.3)
    assert receiver.received == []
    row = await db.fetchone("SELECT COUNT(*) FROM webhook_events")
    assert row is not None
    assert row[0] == 0


async def test_a_failing_target_is_retried_by_the_schedule_with_the_same_id(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    db: Database,
    app: App,
    settable_clock: SettableClock,
) -> None:
    headers = await v2_headers(client)
    sub_id, secret = await subscribe(client, headers, receiver.url())
    receiver.statuses = [500, 503]
    settable_clock.set(settable_clock.now_ms())
    await create(client, headers)
    await receiver.wait_for(1)
    await settled(db, 1, "pending")
    await asyncio.sleep(0.15)  # not due yet: nothing more is sent
    assert len(receiver.received) == 1
    assert app.deliveries is not None
    settable_clock.advance(5_000)
    app.deliveries.wake()
    await receiver.wait_for(2)
    await settled(db, 1, "pending")
    settable_clock.advance(4 * 60_000)
    app.deliveries.wake()
    await asyncio.sleep(0.15)
    assert len(receiver.received) == 2  # the second retry comes 5 minutes after
    settable_clock.advance(60_000)
    app.deliveries.wake()
    got = await receiver.wait_for(3)
    await settled(db)
    assert len({g.headers["webhook-id"] for g in got}) == 1
    assert all(g.headers["webhook-signature"] == signature(secret, g) for g in got)
    assert [int(g.headers["webhook-timestamp"]) for g in got] == sorted(
        int(g.headers["webhook-timestamp"]) for g in got
    )
    (event,) = await event_log(client, headers, sub_id)
    attempts = await store.attempts_of(db, event["_id"])
    assert [(a[0], a[2], a[3]) for a in attempts] == [
        (1, 500, None),
        (2, 503, None),
        (3, 204, None),
    ]
    assert attempts[1][1] - attempts[0][1] >= 5_000


async def test_eight_failed_attempts_make_an_event_failed(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    db: Database,
    app: App,
    settable_clock: SettableClock,
) -> None:
    headers = await v2_headers(client)
    await subscribe(client, headers, receiver.url())
    receiver.default = 400
    settable_clock.set(settable_clock.now_ms())
    await create(client, headers)
    assert app.deliveries is not None
    for n, delay in enumerate((*webhooks.RETRY_DELAYS_MS, 0), start=1):
        await receiver.wait_for(n)
        await settled(db, 1, "pending" if n < webhooks.ATTEMPTS else "failed")
        settable_clock.advance(delay)
        app.deliveries.wake()
    await asyncio.sleep(0.15)
    assert len(receiver.received) == webhooks.ATTEMPTS == 8


async def test_after_a_rotation_both_secrets_sign_for_a_day(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    settable_clock: SettableClock,
) -> None:
    headers = await v2_headers(client)
    sub_id, old = await subscribe(client, headers, receiver.url())
    r = await client.post(f"{SUBSCRIPTIONS}/{sub_id}/secrets/rotate", headers=headers)
    new = r.json()["secret"]
    await create(client, headers)
    (got,) = await receiver.wait_for(1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert signed_by(new, got)
    assert signed_by(old, got)
    assert got.headers["webhook-signature"].startswith(signature(new, got))
    settable_clock.advance(24 * 3600 * 1000)
    headers = await v2_headers(client)
    await create(client, headers, name="Later")
    got = (await receiver.wait_for(2))[1]
    assert got.headers["webhook-signature"] == signature(new, got)


async def test_a_private_target_is_refused_by_default(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    db: Database,
    app: App,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert app.deliveries is not None
    app.deliveries.allow_private_targets = False
    headers = await v2_headers(client)
    sub_id, secret = await subscribe(client, headers, receiver.url("/hook?token=hidden"))
    with caplog.at_level(logging.WARNING, logger="pathsessions.webhooks"):
        await create(client, headers)
        await settled(db, 1, "failed")
    assert receiver.received == []
    (line,) = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "loopback address 127.0.0.1" in line
    assert secret not in line
    assert "hidden" not in line
    (event,) = await event_log(client, headers, sub_id)
    assert event["status"] == "failed"
    ((number, _, status, error),) = await store.attempts_of(db, event["_id"])
    assert (number, status) == (1, None)
    assert error.startswith("refused: loopback address")


async def test_a_redirect_is_not_followed_but_failed(
    client: httpx.AsyncClient, world: World, receiver: Receiver, db: Database
) -> None:
    headers = await v2_headers(client)
    await subscribe(client, headers, receiver.url())
    receiver.statuses = [302]
    receiver.extra = f"location: {receiver.url('/elsewhere')}\r\n"
    await create(client, headers)
    await receiver.wait_for(1)
    row = await first_attempt(db)
    await asyncio.sleep(0.1)
    assert [g.path for g in receiver.received] == ["/hook"]
    assert tuple(row) == (1, 302, None)
    await settled(db, 1, "pending")


async def test_an_event_held_by_a_worker_that_died_is_taken_back_after_its_lease(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    db: Database,
    app: App,
    settable_clock: SettableClock,
) -> None:
    headers = await v2_headers(client)
    sub_id, _ = await subscribe(client, headers, receiver.url())
    settable_clock.set(settable_clock.now_ms())
    assert app.deliveries is not None
    await app.deliveries.stop()
    await create(client, headers)
    # A worker of another process took the event, and died before its attempt.
    now = settable_clock.now_ms()
    await db.execute(
        "UPDATE webhook_events SET status = 'sending', lease_until = ?, claim = 'dead'",
        now + webhooks.LEASE_MS,
    )
    row = await db.fetchone("SELECT id, payload FROM webhook_events")
    assert row is not None
    held = DueEvent(row[0], row[1], 0, 0, "", SubscriptionSecrets(""), "dead", "", sub_id)
    await app.deliveries.start()
    assert app.deliveries is not None
    app.deliveries.wake()
    await asyncio.sleep(0.2)
    assert receiver.received == []
    assert await webhooks.take_due(db, settable_clock, 10) == []
    settable_clock.advance(webhooks.LEASE_MS)
    app.deliveries.wake()
    (got,) = await receiver.wait_for(1)
    assert got.headers["webhook-id"] == held.id
    await settled(db)
    # The dead worker's late result no longer counts.
    assert not await webhooks.record_delivered(db, settable_clock, held, 200)
    assert len(await store.attempts_of(db, held.id)) == 1


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "100.64.0.1",
        "[::1]",
        "[fe80::1]",
        "[fc00::1]",
        "[::ffff:127.0.0.1]",
        "[::]",
    ],
)
async def test_every_non_global_address_is_refused_unless_allowed(address: str) -> None:
    with pytest.raises(Refused):
        await resolve(f"http://{address}:8080/hook", allow_private=False)
    target = await resolve(f"http://{address}:8080/hook", allow_private=True)
    assert target.host == f"{address}:8080"
    assert target.url.endswith(":8080/hook")


async def test_a_name_is_resolved_once_and_its_checked_address_connected_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = {"hooks.example.com": "93.184.216.34", "inside.example.com": "10.0.0.7"}
    looked_up: list[str] = []

    async def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        looked_up.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    target = await resolve("https://hooks.example.com/in?x=1", allow_private=False)
    assert target == Target(
        "https://93.184.216.34:443/in?x=1", "hooks.example.com", "hooks.example.com"
    )
    target = await resolve("http://hooks.example.com:8080/in", allow_private=False)
    assert target == Target("http://93.184.216.34:8080/in", "hooks.example.com:8080", None)
    with pytest.raises(Refused, match=r"inside\.example\.com is a private address 10\.0\.0\.7"):
        await resolve("https://inside.example.com/", allow_private=False)
    assert looked_up == ["hooks.example.com", "hooks.example.com", "inside.example.com"]


async def test_a_target_that_does_not_answer_in_time_is_a_failure(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    app: App,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hung: list[asyncio.StreamWriter] = []

    async def never_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hung.append(writer)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # The 15 s of the contract, shortened: the worker's client is made again with it.
    monkeypatch.setattr(worker, "TIMEOUT", 0.2)
    assert app.deliveries is not None
    await app.deliveries.stop()
    await app.deliveries.start()
    try:
        headers = await v2_headers(client)
        await subscribe(client, headers, f"http://127.0.0.1:{port}/slow")
        await create(client, headers)
        row = await first_attempt(db)
        assert tuple(row) == (1, None, "timeout")
        await settled(db, 1, "pending")
        assert len(hung) == 1
    finally:
        for writer in hung:
            writer.close()
        server.close()
