"""The delivery worker: under `serve`, one in the delivery process (process.py); in an
application built with `create_app` (tests, an embedded server), one per process, started and
stopped with the application.

It takes due events from the outbox with a conditional UPDATE (core/webhooks.take_due), so
that workers in any number of processes never hold one event at once, and sends each in a task
of its own, at most `concurrency` at a time, through one HTTP connection pool. An attempt is a
POST of the stored body, signed (`webhook-id`, `webhook-timestamp`, `webhook-signature`), with
a 15 s timeout and no redirect followed; its result is recorded with the others that finish
meanwhile, in one transaction, which also takes the events due meanwhile for the slots it
frees, and a failure is due again by the retry schedule. Time is the
application's clock, so a test that moves its clock makes retries due (then `wake`).

When it looks for work: at once when woken (`wake`: by core/events in its own process, or by a
datagram from the request processes) - the write may not be committed yet, so it looks again
a few times within the next second until it finds them - and every `poll_interval` seconds
otherwise, for events of other servers and retries come due. A worker that dies mid-attempt
leaves its event leased: another takes it back when the lease ends, and sends it again (at
least once after a crash).

Nothing here runs in a request: a request only writes its outbox rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
from collections.abc import Awaitable, Callable

import httpx

from ..core import events, webhooks
from ..core.clock import Clock, CompanyTimes, FixedClock
from ..core.webhook_records import DueEvent
from ..storage import Database
from ..storage import webhooks as store
from .targets import Refused, origin, resolve

log = logging.getLogger("pathsessions.webhooks")

TIMEOUT = 15.0
USER_AGENT = "pathsessions-webhooks"
# After this process queued events, how long it keeps looking for them to be committed, and
# its first and longest pause between two looks.
EXPECT_SECONDS = 1.0
FIRST_PAUSE = 0.002
LONGEST_PAUSE = 0.05
# A pass of the event loop longer than BUSY_PASS seconds means requests are waiting: the
# worker then waits GIVE_WAY seconds before taking more events, at most MAX_GIVE_WAY times in a
# row (so deliveries go on, slower, under any load).
BUSY_PASS = 0.001
GIVE_WAY = 0.02
MAX_GIVE_WAY = 10
# On shutdown, how long attempts in progress may take to finish before they are abandoned
# (and their events handed back to be sent by the next worker).
SHUTDOWN_GRACE = 2.0


# An attempt's result waiting for `_flush`: the event, status code, error, delivered, final,
# and the future its attempt waits on.
_Pending = tuple[DueEvent, int | None, str | None, bool, bool, "asyncio.Future[None]"]


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        allow_private_targets: bool,
        concurrency: int = 10,
        poll_interval: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        times: Callable[[], Awaitable[CompanyTimes]] | None = None,
        batch_interval: float = 0.0,
        give_way: bool = True,
    ) -> None:
        self.db = db
        self.clock = clock
        # With the sandbox, each company's time (its clocks live in the database), read at
        # each look at the outbox and each attempt: due events, signatures' timestamps and the
        # retry schedule follow the clock of the company an event is of. None: `clock`.
        self.times = times
        self.allow_private_targets = allow_private_targets
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self._transport = transport
        # The least time between two claims that found events, and between two recordings
        # of results: under a stream of events, fewer and larger transactions (on SQLite each
        # holds the write lock that the requests' writes need too). 0: none.
        self.batch_interval = batch_interval
        # Whether to wait while the process's event loop is busy (with requests: `_give_way`).
        self.give_way = give_way
        self._last_take = -math.inf
        self._last_flush = -math.inf
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._expect_until = 0.0
        self._unlisten: list[object] = []
        self._failing = False
        # The worker's statements go one at a time: it never holds more than one of the
        # connections the requests need (PostgreSQL's pool), whatever its concurrency.
        self._db_turn = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        # Results waiting to be recorded, and the task recording them.
        self._results: list[_Pending] = []
        self._flushing: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        # Redirects are never followed, and no proxy from the environment is used: the
        # connection goes to the address that was checked.
        limits = httpx.Limits(max_connections=self.concurrency)
        # No Nagle delay: the request's head and body go in separate writes, and the body
        # would wait for the receiver's delayed acknowledgement of the head.
        transport = self._transport or httpx.AsyncHTTPTransport(
            limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        )
        self._client = httpx.AsyncClient(
            timeout=TIMEOUT,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
            limits=limits,
        )
        self._loop = asyncio.get_running_loop()
        self._unlisten.append(events.listen(self.wake))
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")

    def wake(self) -> None:
        """Look for due events now, and keep looking for a moment (they may be committing).
        Callable from any thread: a write made on another event loop of the process (an
        operator's command beside a running app) wakes this one through its own loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake_now()
        else:
            loop.call_soon_threadsafe(self._wake_now)

    def _wake_now(self) -> None:
        assert self._loop is not None
        self._expect_until = self._loop.time() + EXPECT_SECONDS
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True  # no more events taken, with results or not
        for unlisten in self._unlisten:
            unlisten()  # type: ignore[operator]
        self._unlisten.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sending:
            _, pending = await asyncio.wait(set(self._sending), timeout=SHUTDOWN_GRACE)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
            self._flushing = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def idle(self) -> None:
        """Wait until no attempt is in progress (for tests and benchmarks)."""
        while self._sending:
            await asyncio.wait(set(self._sending))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        pause = FIRST_PAUSE
        backlog = False  # more events due than slots: the requests come first
        while True:
            woken = self._wake.is_set()
            self._wake.clear()
            if woken:
                pause = FIRST_PAUSE
            if backlog and self.give_way:
                await self._give_way(loop)
            free = self.concurrency - len(self._sending)
            if free <= 0:
                backlog = True
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            wait = self._last_take + self.batch_interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                free = self.concurrency - len(self._sending)
            taken = await self._take(free)
            if taken:
                self._last_take = loop.time()
            backlog = taken == free
            if backlog:
                continue  # there may be more due at once
            if taken:
                pause = FIRST_PAUSE
            timeout = self.poll_interval
            if loop.time() < self._expect_until:
                timeout = min(pause, timeout)
                pause = min(pause * 2, LONGEST_PAUSE)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    @staticmethod
    async def _give_way(loop: asyncio.AbstractEventLoop) -> None:
        """Requests first: while the process has other work ready (its requests), each pass
        of the event loop takes longer; then wait a little before taking more events, so
        that a saturated process spends its time on requests and delivers in the gaps."""
        for _ in range(MAX_GIVE_WAY):
            started = loop.time()
            await asyncio.sleep(0)
            if loop.time() - started < BUSY_PASS:
                return
            await asyncio.sleep(GIVE_WAY)

    async def _take(self, limit: int) -> int:
        try:
            async with self._db_turn:
                if self.times is None:
                    due = await webhooks.take_due(self.db, self.clock, limit)
                else:
                    now = await self.times()
                    due = await webhooks.take_due(self.db, FixedClock(now.default), limit, now.own)
        except Exception as exc:  # the worker outlives a database outage
            if not self._failing:
                log.warning("webhook delivery cannot read the outbox: %s", type(exc).__name__)
                self._failing = True
            return 0
        if self._failing:
            log.info("webhook delivery reads the outbox again")
            self._failing = False
        self._start(due)
        return len(due)

    def _start(self, due: list[DueEvent]) -> None:
        for event in due:
            task = asyncio.create_task(self._deliver(event))
            self._sending.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._slot_free.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook delivery fault: %s", type(task.exception()).__name__)

    async def _deliver(self, event: DueEvent) -> None:
        try:
            await self._attempt(event)
        except asyncio.CancelledError:
            # Shutting down: hand the event back, due as it was, rather than leave it leased.
            with contextlib.suppress(Exception):
                async with self._db_turn:
                    await store.release(self.db, event)
            raise

    async def _record(
        self,
        event: DueEvent,
        status: int | None,
        error: str | None,
        *,
        delivered: bool = False,
        final: bool = False,
    ) -> None:
        """Record the attempt's result with the others that finish meanwhile: one transaction
        for all of them, rather than one for each (`_flush`)."""
        assert self._loop is not None
        done = self._loop.create_future()
        self._results.append((event, status, error, delivered, final, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        await asyncio.shield(done)

    async def _flush(self) -> None:
        assert self._loop is not None
        while self._results:
            wait = self._last_flush + self.batch_interval - self._loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_flush = self._loop.time()
            batch, self._results = self._results, []
            try:
                async with self._db_turn:
                    # The attempts recorded end at once, freeing their slots: the events due
                    # meanwhile are taken in the same transaction (one write, not two).
                    free = 0
                    if not self._stopping:
                        free = max(self.concurrency - len(self._sending) + len(batch), 0)
                    if self.times is None:
                        clock = self.clock
                        own = None
                        now = clock.now_ms()
                        at = {event.company_id: now for event, *_ in batch}
                    else:
                        times = await self.times()
                        clock, own = FixedClock(times.default), times.own
                        at = {event.company_id: times.of(event.company_id) for event, *_ in batch}
                    due = await webhooks.record_outcomes_and_take(
                        self.db,
                        [
                            webhooks.Outcome(e, at[e.company_id], code, err, ok, final)
                            for e, code, err, ok, final, _ in batch
                        ],
                        clock,
                        free,
                        own,
                    )
            except Exception as exc:  # the events stay leased, to be sent again
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            if due:
                self._last_take = self._loop.time()
                self._start(due)
            for *_, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _clock_of(self, event: DueEvent) -> Clock:
        if self.times is None:
            return self.clock
        return FixedClock((await self.times()).of(event.company_id))

    async def _attempt(self, event: DueEvent) -> None:
        assert self._client is not None
        try:
            target = await resolve(event.url, self.allow_private_targets)
        except Refused as refused:
            log.warning(
                "webhook %s refused: %s (%s); the event is failed",
                event.id,
                refused,
                origin(event.url),
            )
            await self._record(event, None, f"refused: {refused}", final=True)
            return
        except OSError:
            await self._record(event, None, "unresolved host")
            return
        now = (await self._clock_of(event)).now_ms()
        timestamp = now // 1000
        body = event.payload.encode()
        signatures = " ".join(
            webhooks.sign(secret, event.id, timestamp, body) for secret in event.secrets.live(now)
        )
        headers = {
            "host": target.host,
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": event.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signatures,
        }
        extensions = {"sni_hostname": target.sni} if target.sni else {}
        try:
            response = await self._client.post(
                target.url, content=body, headers=headers, extensions=extensions
            )
        except httpx.TimeoutException:
            await self._record(event, None, "timeout")
            return
        except httpx.HTTPError as exc:
            await self._record(event, None, type(exc).__name__)
            return
        ok = 200 <= response.status_code < 300
        await self._record(event, response.status_code, None, delivered=ok)
