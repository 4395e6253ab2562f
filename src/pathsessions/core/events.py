"""Events on path sessions, which webhook subscribers receive (v2 §8).

Every write that adds or removes a session, or enrols or unenrols learners, calls `emit`
inside its own transaction, so an event exists exactly when its write commits, whichever API
version (or fixture) made it. Child sessions fire nothing.

`emit` writes the outbox: one row per active subscription of the event's type in the company,
its body fixed now (storage/webhooks.py). Delivery is not its business: whoever listens here
(`listen`) is told that something was queued, once committed when the write runs in
`announcing`: a delivery worker in this process, or under `serve` the datagram that wakes the
server's delivery process (delivery/process.py). Anything else finds the rows at its next poll.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ..storage import Database
from ..storage import sessions as session_store
from ..storage import webhooks as store
from .ids import new_id
from .model import NewSession
from .values import format_date


class EventKind(enum.Enum):
    SESSION_ADDED = "path.session.added"
    SESSION_REMOVED = "path.session.removed"
    USERS_ENROLLED = "path.session.users.enrolled"
    USERS_UNENROLLED = "path.session.users.unenrolled"


# The data member naming the event's instant, by kind (the published event schemas).
_AT_FIELD = {
    EventKind.SESSION_ADDED: "createdAt",
    EventKind.SESSION_REMOVED: "deletedAt",
    EventKind.USERS_ENROLLED: "enrolledAt",
    EventKind.USERS_UNENROLLED: "unenrolledAt",
}
_NAMED = frozenset({EventKind.SESSION_ADDED, EventKind.SESSION_REMOVED})
_encode = msgspec.json.Encoder().encode

# Called (with no argument, on the event loop) when events were queued in this process.
_listeners: list[Callable[[], None]] = []
# Inside `announcing`: the events queued by its transaction, announced once it commits.
_held: ContextVar[list[str] | None] = ContextVar("held_events", default=None)


@dataclass
class _Batch:
    company_id: str
    # Event type -> the ids of the company's active subscriptions to it.
    subscriptions: dict[str, list[str]]
    # The outbox rows of the events emitted meanwhile (storage/webhooks.py `insert_events`).
    rows: list[tuple[str, str, str, str, int, int]] = field(default_factory=list)


# Inside `batched`: one company's subscriptions, read once, and its events, written at the end.
_batch: ContextVar[_Batch | None] = ContextVar("event_batch", default=None)


def listen(listener: Callable[[], None]) -> Callable[[], None]:
    """Call `listener` whenever `emit` queues events; answers the function that stops it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def queued() -> None:
    """Tell the listeners that events are due (emitted, or asked to be sent again)."""
    for listener in list(_listeners):
        listener()


@asynccontextmanager
async def announcing(db: Database) -> AsyncIterator[Database]:
    """A transaction whose events are announced once it has committed (not at all if it rolls
    back), so that a worker looking for them at once finds them. Outside one, `emit` announces
    at once, and the worker looks again until the write has committed."""
    held: list[str] = []
    token = _held.set(held)
    try:
        async with db.transaction() as tx:
            yield tx
    finally:
        _held.reset(token)
    if held:
        queued()


def payload(
    kind: EventKind, path_id: str, session_id: str, at_ms: int, name: str | None = None
) -> str:
    """The body delivered: `{"type", "timestamp" (epoch ms), "data"}`, dates as v2 writes
    them."""
    data: dict[str, Any] = {"pathId": path_id, "sessionId": session_id}
    if kind in _NAMED:
        data["name"] = name or ""
    data[_AT_FIELD[kind]] = format_date(at_ms)
    return _encode({"type": kind.value, "timestamp": at_ms, "data": data}).decode()


async def emit(
    tx: Database,
    company_id: str,
    kind: EventKind,
    path_id: str,
    session_id: str,
    at_ms: int,
    name: str | None = None,
) -> None:
    """Record that `kind` happened to the session at `at_ms` (its `createdAt`, `deletedAt`,
    `enrolledAt` or `unenrolledAt`); `name` is the session's, for added and removed. Call
    inside the write's transaction."""
    batch = _batch.get()
    if batch is not None and batch.company_id == company_id:
        for subscription_id in batch.subscriptions.get(kind.value, ()):
            body = payload(kind, path_id, session_id, at_ms, name)
            batch.rows.append((new_id(), subscription_id, company_id, body, at_ms, at_ms))
        return
    body = payload(kind, path_id, session_id, at_ms, name)
    ids = await store.queue_events(tx, company_id, kind.value, body, at_ms)
    _announce(ids)


def _announce(ids: list[str]) -> None:
    held = _held.get()
    if held is not None:
        held.extend(ids)
    elif ids:
        queued()


@asynccontextmanager
async def batched(tx: Database, company_id: str) -> AsyncIterator[None]:
    """Many events of one company in one transaction (a fixture document's thousands of
    sessions): the company's subscriptions are read once, and the events `emit` records
    inside the block are written together when it ends (none if it raises), instead of a
    query or two per event, which would make the loader's statements grow with its sessions."""
    batch = _Batch(company_id, await store.active_subscriptions(tx, company_id))
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
    _announce(await store.insert_events(tx, batch.rows))


async def add_session(db: Database, company_id: str, session: NewSession) -> None:
    """Store a new session and record that it was added, in one transaction, whichever
    version created it."""
    async with announcing(db) as tx:
        await session_store.insert_session(tx, session)
        await emit(
            tx,
            company_id,
            EventKind.SESSION_ADDED,
            session.path_id,
            session.id,
            session.created_at,
            session.name,
        )
