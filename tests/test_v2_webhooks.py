"""v2 webhook subscriptions through the real app: create, list, read, edit, delete, secrets,
the event log and its retries, with every documented error (docs/api-v2.md §8)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from pathsessions.app import App
from pathsessions.client import ClientV2, PathSessionsError
from pathsessions.core.clock import SettableClock
from pathsessions.core.values import format_date
from pathsessions.storage import Database
from support import UNKNOWN_ID, World
from support.sessions_v2 import LINK, assert_v2_error
from support.v2 import v2_headers
from support.world import OTHER_FULL

SUBSCRIPTIONS = "/api/v2/webhooks/subscriptions"
ADDED = "path.session.added"
URL = "https://hooks.example.com/in"
DAY = 24 * 3600 * 1000


def sub_url(subscription_id: str, rest: str = "") -> str:
    return f"{SUBSCRIPTIONS}/{subscription_id}{rest}"


async def subscribe(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    body = {"eventType": ADDED, "name": "HRIS", "url": URL, **overrides}
    r = await client.post(SUBSCRIPTIONS, json=body, headers=headers)
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def test_a_subscription_is_created_read_listed_edited_and_deleted(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await v2_headers(client)
    created = await subscribe(client, headers)
    assert set(created) == {"_id", "eventType", "name", "url", "status"}
    assert created["eventType"] == ADDED
    assert created["name"] == "HRIS"
    assert created["url"] == URL
    assert created["status"] == "active"
    sub_id = created["_id"]
    r = await client.get(sub_url(sub_id.upper()), headers=headers)
    assert r.status_code == 200
    assert r.json() == created
    removed = await subscribe(client, headers, eventType="path.session.removed")
    r = await client.get(SUBSCRIPTIONS, headers=headers)
    assert r.status_code == 200
    assert r.json() == [created, removed]
    assert "link" not in r.headers
    r = await client.get(SUBSCRIPTIONS, params={"eventType[eq]": ADDED}, headers=headers)
    assert r.json() == [created]
    r = await client.get(SUBSCRIPTIONS, params={"eventType[ne]": ADDED}, headers=headers)
    assert r.json() == [removed]
    r = await client.patch(
        sub_url(sub_id),
        json={"name": "Payroll", "status": "inactive", "url": "http://b.example/x"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    edited = {**created, "name": "Payroll", "status": "inactive", "url": "http://b.example/x"}
    assert r.json() == edited
    r = await client.patch(sub_url(sub_id), json={}, headers=headers)
    assert r.json() == edited
    r = await client.delete(sub_url(sub_id), headers=headers)
    assert r.status_code == 204
    assert r.content == b""
    for method in ("GET", "PATCH", "DELETE"):
        r = await client.request(method, sub_url(sub_id), json={}, headers=headers)
        assert_v2_error(r, 404, "subscriptionNotFound")


async def test_one_subscription_per_event_type_and_url(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    headers = await v2_headers(client)
    first = await subscribe(client, headers)
    r = await client.post(
        SUBSCRIPTIONS, json={"eventType": ADDED, "name": "Again", "url": URL}, headers=headers
    )
    assert_v2_error(r, 400, "subscriptionAlreadyExists")
    # The same URL for another event type, or another company, is another subscription.
    await subscribe(client, headers, eventType="path.session.removed")
    await subscribe(client, await v2_headers(client, OTHER_FULL))
    second = await subscribe(client, headers, url=URL + "2")
    r = await client.patch(sub_url(second["_id"]), json={"url": URL}, headers=headers)
    assert_v2_error(r, 400, "subscriptionAlreadyExists")
    r = await client.patch(sub_url(first["_id"]), json={"url": URL}, headers=headers)
    assert r.status_code == 200
    row = await db.fetchone("SELECT COUNT(*) FROM webhook_subscriptions")
    assert row is not None
    assert row[0] == 4


async def test_twenty_subscriptions_per_event_type(client: httpx.AsyncClient, world: World) -> None:
    headers = await v2_headers(client)
    for i in range(20):
        await subscribe(client, headers, url=f"{URL}/{i}")
    r = await client.post(
        SUBSCRIPTIONS, json={"eventType": ADDED, "name": "21st", "url": URL}, headers=headers
    )
    assert_v2_error(r, 400, "subscriptionsLimitReached")
    # Another event type has its own twenty; the duplicate check comes first.
    await subscribe(client, headers, eventType="path.session.removed")
    r = await client.post(
        SUBSCRIPTIONS, json={"eventType": ADDED, "name": "x", "url": f"{URL}/0"}, headers=headers
    )
    assert_v2_error(r, 400, "subscriptionAlreadyExists")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x", "url": URL}, "eventType: is required"),
        ({"eventType": "path.nope", "name": "x", "url": URL}, "eventType: is not an event type"),
        ({"eventType": ADDED, "url": URL}, "name: is required"),
        ({"eventType": ADDED, "name": "", "url": URL}, "name: must have at least 1 characters"),
        ({"eventType": ADDED, "name": "x" * 256, "url": URL}, "name: must have at most 255"),
        ({"eventType": ADDED, "name": "x", "url": 7}, "url: must be a string"),
        ({"eventType": ADDED, "name": "x", "url": "ftp://a.example/"}, "url: must be an abso"),
        ({"eventType": ADDED, "name": "x", "url": "/relative"}, "url: must be an absolute"),
        ({"eventType": ADDED, "name": "x", "url": "http://u:p@a.example/"}, "url: must be an"),
        ({"eventType": ADDED, "name": "x", "url": "http://a.example:99999/"}, "url: must be"),
    ],
)
async def test_a_malformed_subscription_is_bad_request_and_writes_nothing(
    client: httpx.AsyncClient, world: World, db: Database, body: dict[str, Any], message: str
) -> None:
    r = await client.post(SUBSCRIPTIONS, json=body, headers=await v2_headers(client))
    assert_v2_error(r, 400, "badRequest")
    assert r.json()["error"]["message"].startswith(message), r.text
    row = await db.fetchone("SELECT COUNT(*) FROM webhook_subscriptions")
    assert row is not None
    assert row[0] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"status": "paused"}, "status: must be active or inactive"),
        ({"name": ""}, "name: must have at least 1 characters"),
        ({"url": "nope"}, "url: must be an absolute"),
        ({"name": None}, "name: must be a string"),
    ],
)
async def test_a_malformed_edit_is_bad_request_and_changes_nothing(
    client: httpx.AsyncClient, world: World, body: dict[str, Any], message: str
) -> None:
    headers = await v2_headers(client)
    created = await subscribe(client, headers)
    r = await client.patch(sub_url(created["_id"]), json=body, headers=headers)
    assert_v2_error(r, 400, "badRequest")
    assert r.json()["error"]["message"].startswith(message), r.text
    r = await client.get(sub_url(created["_id"]), headers=headers)
    assert r.json() == created


@pytest.mark.parametrize("rest", ["", "/secrets", "/events"])
@pytest.mark.parametrize("sub_id", [UNKNOWN_ID, "not-an-id", "other"])
async def test_a_missing_malformed_or_foreign_subscription_is_not_found(
    client: httpx.AsyncClient, world: World, rest: str, sub_id: str
) -> None:
    if sub_id == "other":
        sub_id = (await subscribe(client, await v2_headers(client, OTHER_FULL)))["_id"]
    headers = await v2_headers(client)
    r = await client.get(sub_url(sub_id, rest), headers=headers)
    assert_v2_error(r, 404, "subscriptionNotFound")
    r = await client.post(sub_url(sub_id, "/secrets/rotate"), headers=headers)
    assert_v2_error(r, 404, "subscriptionNotFound")
    body = {"startDate": "2030-01-01T00:00:00.000Z", "endDate": "2030-01-02T00:00:00.000Z"}
    r = await client.post(sub_url(sub_id, "/events/retry-failure"), json=body, headers=headers)
    assert_v2_error(r, 404, "activeSubscriptionNotFound")


async def test_the_scopes_of_webhooks_and_of_their_secrets(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await subscribe(client, await v2_headers(client))
    paths_only = await v2_headers(client, world.paths_read_credential)
    for method, url in [
        ("GET", SUBSCRIPTIONS),
        ("POST", SUBSCRIPTIONS),
        ("GET", sub_url(created["_id"])),
        ("PATCH", sub_url(created["_id"])),
        ("DELETE", sub_url(created["_id"])),
        ("GET", sub_url(created["_id"], "/secrets")),
        ("POST", sub_url(created["_id"], "/secrets/rotate")),
        ("GET", sub_url(created["_id"], "/events")),
        ("POST", sub_url(created["_id"], "/events/retry-failure")),
        ("POST", sub_url(created["_id"], "/events/retry-success")),
    ]:
        r = await client.request(method, url, json={}, headers=paths_only)
        assert r.status_code == 403, (method, url)
        assert r.json()["error"]["code"] == "invalid_scope"


async def test_a_secret_is_read_and_rotated(client: httpx.AsyncClient, world: World) -> None:
    headers = await v2_headers(client)
    created = await subscribe(client, headers)
    r = await client.get(sub_url(created["_id"], "/secrets"), headers=headers)
    assert r.status_code == 200
    first = r.json()["secret"]
    assert set(r.json()) == {"secret"}
    assert len(first) >= 32
    r = await client.post(sub_url(created["_id"], "/secrets/rotate"), headers=headers)
    assert r.status_code == 201
    second = r.json()["secret"]
    assert set(r.json()) == {"secret"}
    assert second != first
    r = await client.get(sub_url(created["_id"], "/secrets"), headers=headers)
    assert r.json() == {"secret": second}
    other = await subscribe(client, headers, url=URL + "/other")
    r = await client.get(sub_url(other["_id"], "/secrets"), headers=headers)
    assert r.json()["secret"] not in (first, second)


async def add_events(
    db: Database, subscription_id: str, created: list[tuple[int, str]]
) -> list[str]:
    """Events of the subscription with the given (createdAt, status), ids in that order."""
    ids = [f"7e{i:022x}" for i in range(len(created))]
    await db.executemany(
        "INSERT INTO webhook_events (id, subscription_id, company_id, payload, created_at,"
        " status, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (event_id, subscription_id, World.company, f'{{"n":{i}}}', at, status, None)
            for i, (event_id, (at, status)) in enumerate(zip(ids, created, strict=True))
        ],
    )
    return ids


async def test_the_event_log_pages_and_filters(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    headers = await v2_headers(client)
    created = await subscribe(client, headers)
    await client.patch(sub_url(created["_id"]), json={"status": "inactive"}, headers=headers)
    base = 1_900_000_000_000
    statuses = ["delivered", "failed", "pending", "sending"]
    ids = await add_events(
        db, created["_id"], [(base + i * 1000, statuses[i % 4]) for i in range(260)]
    )
    r = await client.get(sub_url(created["_id"], "/events"), headers=headers)
    assert r.status_code == 200
    page = r.json()
    assert [e["_id"] for e in page] == ids[:250]
    assert page[0] == {
        "_id": ids[0],
        "createdAt": "2030-03-17T17:46:40.000Z",
        "status": "delivered",
        "payload": {"n": 0},
    }
    link = LINK.fullmatch(r.headers["link"])
    assert link is not None
    r = await client.get(link["url"], headers=headers)
    assert [e["_id"] for e in r.json()] == ids[250:]
    assert "link" not in r.headers
    r = await client.get(
        sub_url(created["_id"], "/events"),
        params={"status[eq]": "failed", "createdAt[gte]": "2030-03-17T17:46:45.000Z"},
        headers=headers,
    )
    assert [e["_id"] for e in r.json()] == [ids[i] for i in range(5, 260) if i % 4 == 1]
    for bad in ({"status[eq]": "lost"}, {"status[ne]": "failed"}, {"createdAt[eq]": "x"}):
        r = await client.get(sub_url(created["_id"], "/events"), params=bad, headers=headers)
        assert_v2_error(r, 400, "badRequest")


async def test_retries_requeue_the_events_of_the_timeframe(
    client: httpx.AsyncClient, world: World, db: Database, settable_clock: SettableClock
) -> None:
    headers = await v2_headers(client)
    created = await subscribe(client, headers)
    # Inactive while the events are set up, so the worker leaves them alone.
    await client.patch(sub_url(created["_id"]), json={"status": "inactive"}, headers=headers)
    base = settable_clock.now_ms() - 10 * DAY
    ids = await add_events(
        db,
        created["_id"],
        [
            (base, "failed"),
            (base + DAY, "delivered"),
            (base + DAY, "failed"),
            (base + 4 * DAY, "failed"),
        ],
    )
    start, end = format_date(base), format_date(base + DAY)
    retry = sub_url(created["_id"], "/events/retry-failure")
    r = await client.post(retry, json={"startDate": start, "endDate": end}, headers=headers)
    assert_v2_error(r, 404, "activeSubscriptionNotFound")
    await db.execute("UPDATE webhook_subscriptions SET status = 'active'")
    for body in (
        {"startDate": end, "endDate": start},
        {"startDate": start, "endDate": start},
        {"startDate": start, "endDate": format_date(base + 3 * DAY + 1)},
    ):
        r = await client.post(retry, json=body, headers=headers)
        assert_v2_error(r, 400, "invalidRetryTimeframe")
    for body in ({"startDate": start}, {"startDate": start, "endDate": "soon"}):
        r = await client.post(retry, json=body, headers=headers)
        assert_v2_error(r, 400, "badRequest")
    # Deliveries to a loopback address are refused here: each event sent again records one
    # refused attempt, and is failed again.
    await db.execute("UPDATE webhook_subscriptions SET url = 'http://127.0.0.1:9/'")
    r = await client.post(retry, json={"startDate": start, "endDate": end}, headers=headers)
    assert r.status_code == 204
    assert r.content == b""
    assert await attempted(db, 2) == {ids[0], ids[2]}
    r = await client.post(
        sub_url(created["_id"], "/events/retry-success"),
        json={"startDate": start, "endDate": end},
        headers=headers,
    )
    assert r.status_code == 204
    assert await attempted(db, 3) == {ids[0], ids[1], ids[2]}
    rows = await db.fetchall("SELECT status FROM webhook_events ORDER BY id")
    assert [row[0] for row in rows] == ["failed"] * 4


async def attempted(db: Database, count: int) -> set[str]:
    """The events with an attempt recorded, once there are `count` of them."""
    for _ in range(1500):
        rows = await db.fetchall("SELECT DISTINCT event_id FROM webhook_attempts")
        if len(rows) >= count:
            return {row[0] for row in rows}
        await asyncio.sleep(0.01)
    raise AssertionError("no attempt recorded")


class InApp(httpx.BaseTransport):
    """The real app behind the synchronous client, which runs in a worker thread."""

    def __init__(self, app: App) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = asyncio.get_running_loop()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def answer() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run_coroutine_threadsafe(answer(), self._loop).result(timeout=30)


async def test_the_client_drives_subscriptions_secrets_and_events(app: App, world: World) -> None:
    transport = InApp(app)

    def scenario() -> None:
        credential = world.credential
        with ClientV2(
            "http://testserver",
            credential.client_id,
            credential.client_secret,
            transport=transport,
        ) as api:
            sub = api.create_webhook_subscription(event_type=ADDED, name="HRIS", url=URL)
            assert sub["status"] == "active"
            assert list(api.list_webhook_subscriptions(event_type={"eq": ADDED})) == [sub]
            assert api.get_webhook_subscription(sub["_id"]) == sub
            edited = api.edit_webhook_subscription(sub["_id"], status="inactive")
            assert edited == {**sub, "status": "inactive"}
            secret = api.get_webhook_secret(sub["_id"])
            rotated = api.rotate_webhook_secret(sub["_id"])
            assert rotated != secret
            assert api.get_webhook_secret(sub["_id"]) == rotated
            assert list(api.list_webhook_events(sub["_id"], status={"eq": "failed"})) == []
            with pytest.raises(PathSessionsError) as inactive:
                api.retry_webhook_events(
                    sub["_id"],
                    start_date="2030-01-01T00:00:00.000Z",
                    end_date="2030-01-02T00:00:00.000Z",
                )
            assert (inactive.value.status, inactive.value.code) == (
                404,
                "activeSubscriptionNotFound",
            )
            api.edit_webhook_subscription(sub["_id"], status="active")
            api.retry_webhook_events(
                sub["_id"],
                start_date="2030-01-01T00:00:00.000Z",
                end_date="2030-01-02T00:00:00.000Z",
                delivered=True,
            )
            api.delete_webhook_subscription(sub["_id"])
            with pytest.raises(PathSessionsError) as gone:
                api.get_webhook_subscription(sub["_id"])
            assert (gone.value.status, gone.value.code) == (404, "subscriptionNotFound")

    await asyncio.to_thread(scenario)
