"""Webhook subscriptions, their secrets and event log, and the rules of delivery (v2 §8),
version-neutral.

Each operation takes the company, the database and the clock, and raises `DomainError`;
nothing is written unless every check passes. Subscription writes of one company are
serialised on the company's row, so that two concurrent creates cannot pass the limit or the
uniqueness check together.

Delivery rules live here too, for the worker (delivery/) to apply: what is signed and how, the
retry schedule, and the lease under which a worker holds an event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..storage import Database
from ..storage import webhooks as store
from .clock import Clock
from .errors import DomainError, ErrorCode
from .events import queued
from .ids import new_id
from .listing import ListQuery, Page
from .lookups import owned
from .model import Company
from .webhook_records import DueEvent, Subscription, WebhookEvent

# The event types a subscription may name: the published list. Only the path-session ones
# (core/events.py) are fired by this server; the others are accepted and stay silent.
EVENT_TYPES = (
    "bulk.operation.created",
    "bulk.operation.ended",
    "course.attempt.closed",
    "group.created",
    "group.deleted",
    "group.updated",
    "path.archived",
    "path.created",
    "path.deleted",
    "path.session.added",
    "path.session.removed",
    "path.session.classroom.slot.users.unregistered.full",
    "path.session.classroom.slot.waitlist.closed",
    "path.session.classroom.slot.waitlist.opened",
    "path.session.classroom.slot.waitlist.user.joined",
    "path.session.user.status.updated",
    "path.session.users.enrolled",
    "path.session.users.unenrolled",
    "path.updated",
    "user.activated",
    "user.assessment.corrected",
    "user.certificate.awarded",
    "user.created",
    "user.deleted",
    "user.invited",
    "user.reactivated",
    "user.updated",
    "xapi.started",
    "xapi",
)
STATUSES = ("active", "inactive")
EVENT_STATUSES = ("delivered", "failed", "pending", "sending")
MAX_PER_EVENT_TYPE = 20
MAX_URL = 2048
ROTATION_OVERLAP_MS = 24 * 3600 * 1000
MAX_RETRY_TIMEFRAME_MS = 3 * 24 * 3600 * 1000

# After the nth failed attempt of a round, the next one comes RETRY_DELAYS_MS[n - 1] later;
# after the last, the event is `failed` (8 attempts in all).
RETRY_DELAYS_MS = (
    5_000,
    5 * 60_000,
    30 * 60_000,
    2 * 3600_000,
    5 * 3600_000,
    10 * 3600_000,
    10 * 3600_000,
)
ATTEMPTS = len(RETRY_DELAYS_MS) + 1
# A worker holds an event this long for one attempt: well over the 15 s an attempt may take,
# so only a worker that died (or hangs) loses it, to be taken back by another.
LEASE_MS = 60_000


def is_webhook_url(url: str) -> bool:
    """An absolute http or https URL with a host, no user information, and no NUL."""
    if len(url) > MAX_URL or "\x00" in url or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "@" not in parts.netloc


def new_secret() -> str:
    """32 random bytes, URL-safe base64: deliveries are signed with its UTF-8 bytes."""
    return secrets.token_urlsafe(32)


def sign(secret: str, webhook_id: str, timestamp_s: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of `<id>.<timestamp>.<body>` (Standard Webhooks)."""
    content = f"{webhook_id}.{timestamp_s}.".encode() + body
    mac = hmac.new(secret.encode(), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


# --- Subscriptions ----------------------------------------------------------------------------


async def _lock_company(tx: Database, company: Company) -> None:
    await tx.fetchone("SELECT id FROM companies WHERE id = ?" + tx.for_update(), company.id)


async def _find(
    company: Company, db: Database, subscription_id: str, *, lock: bool = False
) -> Subscription:
    async def fetch(found_id: str) -> Subscription | None:
        return await store.get_subscription(db, company.id, found_id, lock=lock)

    return await owned(subscription_id, fetch, ErrorCode.SUBSCRIPTION_NOT_FOUND)


async def create_subscription(
    company: Company, db: Database, clock: Clock, event_type: str, name: str, url: str
) -> Subscription:
    async with db.transaction() as tx:
        await _lock_company(tx, company)
        if await store.target_taken(tx, company.id, event_type, url):
            raise DomainError(ErrorCode.SUBSCRIPTION_ALREADY_EXISTS)
        if await store.count_subscriptions(tx, company.id, event_type) >= MAX_PER_EVENT_TYPE:
            raise DomainError(ErrorCode.SUBSCRIPTIONS_LIMIT_REACHED)
        subscription = Subscription(new_id(), event_type, name, url, "active")
        await store.insert_subscription(tx, company.id, subscription, new_secret(), clock.now_ms())
    return subscription


async def subscriptions_page(
    company: Company, db: Database, query: ListQuery
) -> Page[Subscription]:
    return await store.subscriptions_page(db, company.id, query)


async def get_subscription(company: Company, db: Database, subscription_id: str) -> Subscription:
    return await _find(company, db, subscription_id)


async def edit_subscription(
    company: Company,
    db: Database,
    clock: Clock,
    subscription_id: str,
    name: str | None,
    url: str | None,
    status: str | None,
) -> Subscription:
    """Change what is given (None keeps it). A subscription made active again has its
    waiting events delivered."""
    async with db.transaction() as tx:
        await _lock_company(tx, company)
        current = await _find(company, tx, subscription_id, lock=True)
        after = Subscription(
            current.id,
            current.event_type,
            current.name if name is None else name,
            current.url if url is None else url,
            current.status if status is None else status,
        )
        if after.url != current.url and await store.target_taken(
            tx, company.id, after.event_type, after.url, other_than=current.id
        ):
            raise DomainError(ErrorCode.SUBSCRIPTION_ALREADY_EXISTS)
        await store.update_subscription(tx, company.id, after, clock.now_ms())
    if after.status == "active" and current.status != "active":
        queued()
    return after


async def delete_subscription(company: Company, db: Database, subscription_id: str) -> None:
    """The subscription goes with its event log; nothing more is delivered for it."""
    async with db.transaction() as tx:
        found = await _find(company, tx, subscription_id, lock=True)
        await store.delete_subscription(tx, company.id, found.id)


async def get_secret(company: Company, db: Database, subscription_id: str) -> str:
    found = await _find(company, db, subscription_id)
    held = await store.get_secrets(db, company.id, found.id)
    if held is None:  # deleted meanwhile
        raise DomainError(ErrorCode.SUBSCRIPTION_NOT_FOUND)
    return held.secret


async def rotate_secret(company: Company, db: Database, clock: Clock, subscription_id: str) -> str:
    """A new secret; the one it replaces still signs deliveries for 24 hours."""
    secret = new_secret()
    async with db.transaction() as tx:
        found = await _find(company, tx, subscription_id, lock=True)
        until = clock.now_ms() + ROTATION_OVERLAP_MS
        await store.rotate_secret(tx, company.id, found.id, secret, until)
    return secret


# --- The event log ----------------------------------------------------------------------------


async def events_page(
    company: Company, db: Database, subscription_id: str, query: ListQuery
) -> Page[WebhookEvent]:
    found = await _find(company, db, subscription_id)
    return await store.events_page(db, company.id, found.id, query)


async def retry_events(
    company: Company,
    db: Database,
    clock: Clock,
    subscription_id: str,
    status: str,
    start: int,
    end: int,
) -> None:
    """Send again the events in `status` (`failed` or `delivered`) created from `start` to
    `end`, both included: an active subscription, then the timeframe (the end after the start,
    at most 3 days after it)."""
    async with db.transaction() as tx:
        found = await _find_active(company, tx, subscription_id)
        if not start < end <= start + MAX_RETRY_TIMEFRAME_MS:
            raise DomainError(ErrorCode.INVALID_RETRY_TIMEFRAME)
        changed = await store.requeue_events(tx, found.id, status, start, end, clock.now_ms())
    if changed:
        queued()


async def _find_active(company: Company, db: Database, subscription_id: str) -> Subscription:
    try:
        found = await _find(company, db, subscription_id, lock=True)
    except DomainError:
        raise DomainError(ErrorCode.ACTIVE_SUBSCRIPTION_NOT_FOUND) from None
    if found.status != "active":
        raise DomainError(ErrorCode.ACTIVE_SUBSCRIPTION_NOT_FOUND)
    return found


# --- Delivery -----------------------------------------------------------------------------------


async def take_due(
    db: Database, clock: Clock, limit: int, own_times: Mapping[str, int] | None = None
) -> list[DueEvent]:
    """Up to `limit` due events, held by the caller for one attempt each; due by `clock`, or
    for the companies of `own_times` by their own time (the sandbox's per-company clocks)."""
    return await store.claim_due(db, clock.now_ms(), LEASE_MS, limit, own_times)


async def record_delivered(db: Database, clock: Clock, event: DueEvent, status_code: int) -> bool:
    return await store.record_attempt(
        db, event, clock.now_ms(), status_code, None, "delivered", None
    )


async def record_failure(
    db: Database,
    clock: Clock,
    event: DueEvent,
    status_code: int | None,
    error: str | None,
    *,
    final: bool = False,
) -> bool:
    """A failed attempt: the next one by the schedule, or `failed` after the last (or at once
    when `final`: a target refused whatever is tried)."""
    now = clock.now_ms()
    status, due = after_failure(event, now, final=final)
    return await store.record_attempt(db, event, now, status_code, error, status, due)


def after_failure(event: DueEvent, now: int, *, final: bool = False) -> tuple[str, int | None]:
    """The event's status after a failed attempt at `now`, and when it is due again."""
    tries = event.tries + 1
    if final or tries >= ATTEMPTS:
        return "failed", None
    return "pending", now + RETRY_DELAYS_MS[tries - 1]


@dataclass(frozen=True)
class Outcome:
    """An attempt's result, to be recorded with others (`record_outcomes`)."""

    event: DueEvent
    at: int  # the attempt's time, by the clock of the event's company
    status_code: int | None
    error: str | None
    delivered: bool
    final: bool = False  # a failure that no retry would mend (a refused target)


async def record_outcomes(db: Database, outcomes: Sequence[Outcome]) -> int:
    """Several attempts' results in one transaction (as `record_delivered` and
    `record_failure` each); answers how many were still held under their claim."""
    return await store.record_attempts(db, _attempts(outcomes))


async def record_outcomes_and_take(
    db: Database,
    outcomes: Sequence[Outcome],
    clock: Clock,
    limit: int,
    own_times: Mapping[str, int] | None = None,
) -> list[DueEvent]:
    """`record_outcomes` and `take_due` in one transaction; answers the events taken."""
    return await store.record_attempts_and_claim(
        db, _attempts(outcomes), clock.now_ms(), LEASE_MS, limit, own_times
    )


def _attempts(outcomes: Sequence[Outcome]) -> list[store.Attempt]:
    rows = []
    for o in outcomes:
        status, due = (
            ("delivered", None) if o.delivered else after_failure(o.event, o.at, final=o.final)
        )
        rows.append((o.event, o.at, o.status_code, o.error, status, due))
    return rows
