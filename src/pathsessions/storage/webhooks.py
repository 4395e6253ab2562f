"""Webhook subscriptions and their outbox of events (v2 §8).

Every query that answers the API names the company. The outbox is claimed by delivery workers
with a conditional UPDATE: an event goes `pending` -> `sending` with a lease and a claim token
only if it is still due (or its lease ran out), so two workers, in one process or several,
never hold one event at once; a result is recorded only under the claim that made it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..core.ids import new_id
from ..core.listing import ListQuery, Page
from ..core.webhook_records import DueEvent, Subscription, SubscriptionSecrets, WebhookEvent
from . import bulk
from .database import Database, Row
from .listing import fetch_page

_SUBSCRIPTION = "id, event_type, name, url, status"


def _subscription(row: Row) -> Subscription:
    return Subscription(row[0], row[1], row[2], row[3], row[4])


async def insert_subscription(
    db: Database, company_id: str, s: Subscription, secret: str, now: int
) -> None:
    await db.execute(
        "INSERT INTO webhook_subscriptions (id, company_id, event_type, name, url, status,"
        " secret, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        s.id,
        company_id,
        s.event_type,
        s.name,
        s.url,
        s.status,
        secret,
        now,
        now,
    )


async def count_subscriptions(db: Database, company_id: str, event_type: str) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM webhook_subscriptions WHERE company_id = ? AND event_type = ?",
        company_id,
        event_type,
    )
    return int(row[0]) if row else 0


async def target_taken(
    db: Database, company_id: str, event_type: str, url: str, other_than: str = ""
) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM webhook_subscriptions"
        " WHERE company_id = ? AND event_type = ? AND url = ? AND id <> ?",
        company_id,
        event_type,
        url,
        other_than,
    )
    return row is not None


async def get_subscription(
    db: Database, company_id: str, subscription_id: str, *, lock: bool = False
) -> Subscription | None:
    row = await db.fetchone(
        f"SELECT {_SUBSCRIPTION} FROM webhook_subscriptions WHERE id = ? AND company_id = ?"
        + (db.for_update() if lock else ""),
        subscription_id,
        company_id,
    )
    return None if row is None else _subscription(row)


SUBSCRIPTION_FIELDS = {"eventType": "event_type"}


async def subscriptions_page(db: Database, company_id: str, query: ListQuery) -> Page[Subscription]:
    return await fetch_page(
        db,
        f"SELECT {_SUBSCRIPTION} FROM webhook_subscriptions WHERE company_id = ?",
        [company_id],
        query,
        SUBSCRIPTION_FIELDS,
        _subscription,
    )


async def update_subscription(db: Database, company_id: str, s: Subscription, now: int) -> None:
    await db.execute(
        "UPDATE webhook_subscriptions SET name = ?, url = ?, status = ?, modified_at = ?"
        " WHERE id = ? AND company_id = ?",
        s.name,
        s.url,
        s.status,
        now,
        s.id,
        company_id,
    )


async def delete_subscription(db: Database, company_id: str, subscription_id: str) -> bool:
    changed = await db.execute(
        "DELETE FROM webhook_subscriptions WHERE id = ? AND company_id = ?",
        subscription_id,
        company_id,
    )
    return changed > 0


async def get_secrets(
    db: Database, company_id: str, subscription_id: str
) -> SubscriptionSecrets | None:
    row = await db.fetchone(
        "SELECT secret, previous_secret, previous_secret_until FROM webhook_subscriptions"
        " WHERE id = ? AND company_id = ?",
        subscription_id,
        company_id,
    )
    return None if row is None else SubscriptionSecrets(row[0], row[1], row[2])


async def rotate_secret(
    db: Database, company_id: str, subscription_id: str, secret: str, previous_until: int
) -> None:
    """The new secret; the one it replaces is kept until `previous_until`. Call holding the
    subscription's row."""
    await db.execute(
        "UPDATE webhook_subscriptions SET previous_secret = secret, previous_secret_until = ?,"
        " secret = ? WHERE id = ? AND company_id = ?",
        previous_until,
        secret,
        subscription_id,
        company_id,
    )


# --- The outbox -----------------------------------------------------------------------------


async def queue_events(
    db: Database, company_id: str, event_type: str, payload: str, now: int
) -> list[str]:
    """One event per active subscription of `event_type` in the company, due now; answers
    their ids. Call inside the transaction of the change the event reports."""
    if db.dialect == "postgresql":
        return await _queue_events_pg(db, company_id, event_type, payload, now)
    rows = await db.fetchall(
        "SELECT id FROM webhook_subscriptions"
        " WHERE company_id = ? AND event_type = ? AND status = 'active'",
        company_id,
        event_type,
    )
    if not rows:
        return []
    events = [(new_id(), row[0], company_id, payload, now, now) for row in rows]
    await db.executemany(
        "INSERT INTO webhook_events (id, subscription_id, company_id, payload, created_at,"
        " status, next_attempt_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
        events,
    )
    return [event[0] for event in events]


async def _queue_events_pg(
    db: Database, company_id: str, event_type: str, payload: str, now: int
) -> list[str]:
    """`queue_events` in one round trip for the usual case (one subscription to the type):
    the first subscription's event is written by the statement that finds the subscriptions,
    and only further ones, if any, by a second statement. Each round trip is a request's wait
    (SQLite's statements cost none)."""
    first = new_id()
    rows = await db.fetchall(
        "WITH subs AS (SELECT id, row_number() OVER (ORDER BY id) AS n"
        " FROM webhook_subscriptions"
        " WHERE company_id = ? AND event_type = ? AND status = 'active'),"
        " added AS (INSERT INTO webhook_events (id, subscription_id, company_id, payload,"
        " created_at, status, next_attempt_at)"
        " SELECT ?, id, ?, ?, ?, 'pending', ? FROM subs WHERE n = 1)"
        " SELECT id FROM subs ORDER BY n",
        company_id,
        event_type,
        first,
        company_id,
        payload,
        now,
        now,
    )
    if not rows:
        return []
    events = [(new_id(), row[0], company_id, payload, now, now) for row in rows[1:]]
    if events:
        await db.executemany(
            "INSERT INTO webhook_events (id, subscription_id, company_id, payload, created_at,"
            " status, next_attempt_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
            events,
        )
    return [first, *(event[0] for event in events)]


async def active_subscriptions(db: Database, company_id: str) -> dict[str, list[str]]:
    """Event type -> the ids of the company's active subscriptions to it."""
    rows = await db.fetchall(
        "SELECT event_type, id FROM webhook_subscriptions"
        " WHERE company_id = ? AND status = 'active' ORDER BY id",
        company_id,
    )
    found: dict[str, list[str]] = {}
    for event_type, subscription_id in rows:
        found.setdefault(event_type, []).append(subscription_id)
    return found


_OUTBOX = (
    "id",
    "subscription_id",
    "company_id",
    "payload",
    "created_at",
    "status",
    "next_attempt_at",
)


async def insert_events(db: Database, rows: list[tuple[str, str, str, str, int, int]]) -> list[str]:
    """Events due now, many at once: (id, subscription_id, company_id, payload, created_at,
    next_attempt_at) each. Answers their ids. Call inside the transaction of the change."""
    await bulk.insert_rows(
        db,
        "webhook_events",
        _OUTBOX,
        [(*row[:5], "pending", row[5]) for row in rows],
    )
    return [row[0] for row in rows]


_EVENT = "id, created_at, status, payload"


def _event(row: Row) -> WebhookEvent:
    return WebhookEvent(row[0], row[1], row[2], row[3])


EVENT_FIELDS = {"createdAt": "created_at", "status": "status"}


async def events_page(
    db: Database, company_id: str, subscription_id: str, query: ListQuery
) -> Page[WebhookEvent]:
    return await fetch_page(
        db,
        f"SELECT {_EVENT} FROM webhook_events WHERE company_id = ? AND subscription_id = ?",
        [company_id, subscription_id],
        query,
        EVENT_FIELDS,
        _event,
    )


async def requeue_events(
    db: Database, subscription_id: str, status: str, start: int, end: int, now: int
) -> int:
    """Events of the subscription in `status`, created from `start` to `end` (both included),
    due again now, in a new round of the retry schedule."""
    return await db.execute(
        "UPDATE webhook_events SET status = 'pending', next_attempt_at = ?, tries = 0,"
        " lease_until = NULL, claim = NULL"
        " WHERE subscription_id = ? AND status = ? AND created_at >= ? AND created_at <= ?",
        now,
        subscription_id,
        status,
        start,
        end,
    )


# An event is due when pending and its time has come, or when its lease ran out (the worker
# holding it died, or hangs). Only an active subscription's events are taken: an inactive
# one's wait, and go out if it is made active again. Each kind is read through its own index,
# in the order of its time, so that a claim costs the same however many events are kept.
_DUE = (
    ("pending", "next_attempt_at"),
    ("sending", "lease_until"),
)


async def _any_due(db: Database, latest: int) -> bool:
    """Whether some event may be due by `latest` (the furthest time any company is at)."""
    for status, column in _DUE:
        row = await db.fetchone(
            f"SELECT 1 FROM webhook_events WHERE status = ? AND {column} <= ? LIMIT 1",
            status,
            latest,
        )
        if row is not None:
            return True
    return False


async def claim_due(
    db: Database,
    now: int,
    lease_ms: int,
    limit: int,
    own_times: Mapping[str, int] | None = None,
) -> list[DueEvent]:
    """Take up to `limit` due events for this worker for `lease_ms`, and answer them with
    what sending them needs. The UPDATE re-checks that each is still due: of two workers
    racing for one event, one changes it and the other finds it no longer due (PostgreSQL's
    SKIP LOCKED also spares the second the wait). `own_times`: the companies whose time is
    not `now` (the sandbox's clocks), each judged by its own."""
    # A look that finds nothing takes no write lock: on SQLite a write transaction, even one
    # that changes nothing, would make every other writer (and process) wait for each look.
    if not await _any_due(db, _latest(now, own_times)):
        return []
    async with db.transaction() as tx:
        return await _claim(tx, now, lease_ms, limit, own_times)


def _latest(now: int, own_times: Mapping[str, int] | None) -> int:
    """The furthest time any company is at."""
    return max([now, *(own_times or {}).values()])


async def _claim(
    tx: Database, now: int, lease_ms: int, limit: int, own_times: Mapping[str, int] | None
) -> list[DueEvent]:
    """`claim_due`'s claim, inside the caller's transaction."""
    claim = new_id()
    skip = " FOR UPDATE OF e SKIP LOCKED" if tx.dialect == "postgresql" else ""
    # (extra condition, its arguments, that time), the companies of their own time first.
    scopes: list[tuple[str, list[Any], int]] = [
        (" AND e.company_id = ?", [company], at) for company, at in (own_times or {}).items()
    ]
    if own_times:
        others = " AND NOT " + tx.any_of("e.company_id")
        scopes.append((others, [tx.array(list(own_times))], now))
    else:
        scopes.append(("", [], now))
    left = limit
    for condition, args, at in scopes:
        for status, column in _DUE:
            if left <= 0:
                break
            left -= await tx.execute(
                "UPDATE webhook_events SET status = 'sending', lease_until = ?, claim = ?"
                " WHERE id IN (SELECT e.id FROM webhook_events e JOIN webhook_subscriptions"
                f" s ON s.id = e.subscription_id WHERE e.status = ? AND e.{column} <= ?"
                f" AND s.status = 'active'{condition} ORDER BY e.{column} LIMIT ?{skip})"
                f" AND status = ? AND {column} <= ?",
                at + lease_ms,
                claim,
                status,
                at,
                *args,
                left,
                status,
                at,
            )
    if left == limit:
        return []
    rows = await tx.fetchall(
        "SELECT e.id, e.payload, e.attempts, e.tries, s.url, s.secret, s.previous_secret,"
        " s.previous_secret_until, e.company_id, e.subscription_id"
        " FROM webhook_events e JOIN webhook_subscriptions s ON s.id = e.subscription_id"
        " WHERE e.claim = ? ORDER BY e.id",
        claim,
    )
    return [
        DueEvent(
            id=r[0],
            payload=r[1],
            attempts=r[2],
            tries=r[3],
            url=r[4],
            secrets=SubscriptionSecrets(r[5], r[6], r[7]),
            claim=claim,
            company_id=r[8],
            subscription_id=r[9],
        )
        for r in rows
    ]


async def record_attempt(
    db: Database,
    event: DueEvent,
    at: int,
    status_code: int | None,
    error: str | None,
    status: str,
    next_attempt_at: int | None,
) -> bool:
    """The attempt's result, if the event is still held under `event.claim`; False when the
    lease ran out and another worker took the event back (that one's result will count)."""
    return await record_attempts(db, [(event, at, status_code, error, status, next_attempt_at)]) > 0


Attempt = tuple[DueEvent, int, int | None, str | None, str, int | None]


async def record_attempts(db: Database, attempts: Sequence[Attempt]) -> int:
    """Several attempts' results (event, at, status code, error, new status, next attempt at)
    in one transaction: one commit, and on SQLite one hold of the write lock, for a batch of
    deliveries rather than one each. Answers how many events were still held under their
    claim (the others' results are dropped, as `record_attempt`'s)."""
    async with db.transaction() as tx:
        return await _record(tx, attempts)


async def record_attempts_and_claim(
    db: Database,
    attempts: Sequence[Attempt],
    now: int,
    lease_ms: int,
    limit: int,
    own_times: Mapping[str, int] | None = None,
) -> list[DueEvent]:
    """`record_attempts`, then `claim_due`, in one transaction: under a stream of events a
    worker's results and its next events cost one write transaction, not two (on SQLite each
    holds the write lock the requests need, and makes the other processes' connections drop
    their page cache)."""
    async with db.transaction() as tx:
        await _record(tx, attempts)
        if limit <= 0 or not await _any_due(tx, _latest(now, own_times)):
            return []
        return await _claim(tx, now, lease_ms, limit, own_times)


async def _record(tx: Database, attempts: Sequence[Attempt]) -> int:
    """`record_attempts`' changes, inside the caller's transaction."""
    made = []
    for event, at, status_code, error, status, next_attempt_at in attempts:
        changed = await tx.execute(
            "UPDATE webhook_events SET status = ?, next_attempt_at = ?, lease_until = NULL,"
            " claim = NULL, attempts = attempts + 1, tries = tries + 1"
            " WHERE id = ? AND claim = ?",
            status,
            next_attempt_at,
            event.id,
            event.claim,
        )
        if changed:
            made.append((event.id, event.attempts + 1, at, status_code, error))
    if made:
        await tx.executemany(
            "INSERT INTO webhook_attempts (event_id, number, at, status_code, error)"
            " VALUES (?, ?, ?, ?, ?)",
            made,
        )
    return len(made)


async def attempts_of(db: Database, event_id: str) -> Sequence[Row]:
    """(number, at, status code, error) of each attempt, in order."""
    return await db.fetchall(
        "SELECT number, at, status_code, error FROM webhook_attempts WHERE event_id = ?"
        " ORDER BY number",
        event_id,
    )


async def release(db: Database, event: DueEvent) -> None:
    """Hand an event held under `event.claim` back, due as it was, its attempt not made."""
    await db.execute(
        "UPDATE webhook_events SET status = 'pending', lease_until = NULL, claim = NULL"
        " WHERE id = ? AND claim = ?",
        event.id,
        event.claim,
    )
