"""What the sandbox adds to each API request when it is on (the pipeline's `Sandbox`).

Per request: the clocks are read (one small query) and the handler's context is given a
`RequestClock`, set to the company the request acts for once authentication knows it; just
before the operation the faults are read and may answer instead; after it, an `after` fault
may replace the answer; and the exchange is written to the journal before the answer's last
message is sent, so that a client that has its answer can read its entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from ..api.context import Context
from ..core.values import is_object_id
from ..storage import Database
from ..storage import sandbox as store
from ..web.asgi import ClientDisconnected, Request, Response
from ..web.body import TooManyFields, decode_body
from ..web.pipeline import Exchange, Receive, Scope, Send
from . import faults as f
from .clock import RequestClock
from .journal import MAX_BODY, redact_body, redact_headers, redact_query

log = logging.getLogger("pathsessions")

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class RequestExchange:
    """One API request, as the sandbox follows it (web/pipeline.Exchange)."""

    __slots__ = (
        "abandon",
        "claimed",
        "clock",
        "db",
        "fault_id",
        "faults",
        "method",
        "operation_id",
        "path",
        "reached",
        "request",
        "tenant",
    )

    def __init__(self, db: Database, clock: RequestClock, method: str, path: str) -> None:
        self.db = db
        self.clock = clock
        self.method = method
        self.path = path
        self.operation_id: str | None = None
        self.tenant: str | None = None
        self.request: Request | None = None
        self.reached = False
        self.claimed: str | None = None  # the company a token request's client id names
        self.fault_id: str | None = None
        self.abandon: str | None = None  # "reset" or "hang": the request goes unanswered
        self.faults: list[f.Fault] = []  # read with the clocks, when the request began

    @property
    def company(self) -> str | None:
        return self.tenant if self.tenant is not None else self.claimed

    async def before(self) -> Response | None:
        self.reached = True
        # The one public operation under /api/ is the token request: its company is the one
        # its client id names.
        if self.tenant is None and self.request is not None:
            self.claimed = await token_request_company(self.db, self.request)
        if self.company is not None:
            self.clock.company = self.company
        return await self._fault("before", None)

    async def after(self, response: Response) -> Response:
        try:
            return await self._fault("after", response) or response
        except ClientDisconnected:
            await _close(response)
            raise

    async def _fault(self, when: str, response: Response | None) -> Response | None:
        for fault in self.faults:
            if fault.when != when or not fault.matches(
                self.operation_id, self.method, self.path, self.company
            ):
                continue
            if fault.probability < 1 and random.random() >= fault.probability:
                continue
            if not await store.fire(self.db, fault.id):
                continue  # spent meanwhile, by another request
            self.fault_id = fault.id
            return await self._act(fault, response)
        return None

    async def _act(self, fault: f.Fault, response: Response | None) -> Response | None:
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault.action == "delay":
            return response
        if fault.action in ("reset", "hang"):
            self.abandon = fault.action
            raise ClientDisconnected
        if response is not None:
            await _close(response)
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in fault.headers.items()
        ]
        if fault.has_body:
            return Response(fault.status, _encode(fault.body), headers=headers)
        return Response(fault.status, b"", content_type=b"", headers=headers)


async def _close(response: Response) -> None:
    if response.stream is not None:
        aclose = getattr(response.stream, "aclose", None)
        if aclose is not None:
            await aclose()


async def token_request_company(db: Database, request: Request) -> str | None:
    """The company a token request's client id names (v1: a company id; v2: a credential's
    client id), whether or not its secret is right."""
    try:
        body = decode_body(request.body)
    except TooManyFields:
        return None
    client_id = body.get("client_id") if body else None
    if not isinstance(client_id, str):
        return None
    client_id = client_id.lower()
    if is_object_id(client_id):
        return client_id
    return await store.credential_company(db, client_id=client_id)


async def claimed_company(db: Database, headers: dict[bytes, bytes], query: str) -> str | None:
    """The company a request's credentials name, before they are checked: so that a token's
    expiry is judged by that company's clock."""
    authorization = headers.get(b"authorization", b"").decode("latin-1").strip()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer":
        payload = token.strip().rpartition(".")[0]
        first, _, rest = payload.partition(".")
        if first == "v2":
            return await store.credential_company(db, credential_id=rest.partition(".")[0])
        return first if is_object_id(first) else None
    company = headers.get(b"x-company-id", b"").decode("latin-1")
    if not company:
        for part in query.split("&"):
            name, _, value = part.partition("=")
            if name == "company":
                company = value
                break
    return company.lower() if is_object_id(company) else None


# Longest an entry waits for the other requests in progress to join its write.
GATHER_SECONDS = 0.002


class JournalWriter:
    """Group commit: the entries of requests finishing together are written in one
    transaction, and each request waits for the write that holds its entry before it sends
    its answer's last byte. A write begins as soon as every request in progress has its entry
    waiting or being written (at once, for a lone request), or `GATHER_SECONDS` after its first
    entry. One transaction per entry cost 40 % of the create throughput; counting the requests
    whose entries were being written as still to come made most writes wait the whole
    `GATHER_SECONDS`, the worker idle meanwhile when every request was at its journal write."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.active = 0  # API requests in progress in this process
        self._pending: list[tuple[Any, ...]] = []
        self._writing = 0  # entries of the writes under way
        self._done: asyncio.Future[None] | None = None
        self._full = asyncio.Event()
        self._db: Database | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # referenced while they run

    async def write(self, db: Database, entry: tuple[Any, ...]) -> None:
        self._pending.append(entry)
        self._db = db
        done = self._done
        if done is None:
            done = self._done = asyncio.get_running_loop().create_future()
            self._full = asyncio.Event()
            task = asyncio.get_running_loop().create_task(self._flush(done, self._full))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self.check()
        await asyncio.shield(done)

    def check(self) -> None:
        """Begin the waiting write if no request in progress can still join it."""
        if self._done is not None and len(self._pending) + self._writing >= self.active:
            self._full.set()

    async def _flush(self, done: asyncio.Future[None], full: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(GATHER_SECONDS):
                await full.wait()
        entries, self._pending, self._done = self._pending, [], None
        assert self._db is not None
        self._writing += len(entries)
        try:
            await store.record(self._db, entries, self.keep)
        except Exception as exc:
            done.set_exception(exc)
            done.exception()  # retrieved: each waiting request logs it
        else:
            done.set_result(None)
        finally:
            self._writing -= len(entries)


class SandboxHooks:
    """The pipeline's `Sandbox`: clocks, faults and journal around every API request."""

    def __init__(self, journal_size: int) -> None:
        self.journal_size = journal_size
        self.journal = JournalWriter(journal_size)

    def applies(self, path: str) -> bool:
        return path.startswith("/api/")

    async def serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        ctx: Context,
        path: str,
        run: Callable[[Send, Context, Exchange], Awaitable[None]],
    ) -> None:
        self.journal.active += 1
        try:
            await self._serve(scope, receive, send, ctx, path, run)
        finally:
            self.journal.active -= 1
            self.journal.check()  # one fewer that a waiting write could wait for

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        ctx: Context,
        path: str,
        run: Callable[[Send, Context, Exchange], Awaitable[None]],
    ) -> None:
        started = time.perf_counter()
        db = ctx.db
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)
        try:
            settings, faults = await store.request_state(db)
            clock = RequestClock(ctx.clock, settings)
            if clock.per_company:
                query = scope["query_string"].decode("latin-1")
                clock.company = await claimed_company(db, headers, query)
        except Exception as exc:
            # The database is out (or worse): the request goes on without the sandbox's state,
            # and its API answers the outage in its own words when it meets it.
            log.warning("sandbox state not read: %s", type(exc).__name__)
            clock, faults = RequestClock(ctx.clock, {}), []
        exchange = RequestExchange(db, clock, scope["method"], path)
        exchange.faults = [f.fault(i, _decode(d)) for i, d, _ in faults]
        answer: dict[str, Any] = {"status": None, "body": bytearray()}

        async def record() -> None:
            if not self.journal_size:
                return
            try:
                await self._record(scope, path, headers, exchange, answer, started)
            except Exception as exc:  # the journal must never cost a request its answer
                log.warning("journal entry not written: %s", type(exc).__name__)

        # An answer's start is held back until its body comes: sent alone before the journal
        # write, it went out as a packet of its own (web/server.py sends the head with the
        # body only when both come in one turn of the loop), a third of the journal's cost.
        held: list[Any] = []

        async def journal_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                held.append(message)
                return
            if message["type"] == "http.response.body":
                body: bytearray = answer["body"]
                if len(body) <= 2 * MAX_BODY:
                    body += message.get("body", b"")
                if not message.get("more_body", False):
                    await record()
            if held:
                await send(held.pop())
            await send(message)

        try:
            await run(journal_send, dataclasses.replace(ctx, clock=clock), exchange)
        except BaseException:
            if held:  # a streamed answer that failed before its first chunk: as if not held
                with contextlib.suppress(Exception):  # the first error is the one to raise
                    await send(held.pop())
            raise
        if exchange.abandon is not None:
            await record()
            if exchange.abandon == "hang":
                await _wait_for_disconnect(receive)
            await _abort(send)

    async def _record(
        self,
        scope: Scope,
        path: str,
        headers: dict[bytes, bytes],
        exchange: RequestExchange,
        answer: dict[str, Any],
        started: float,
    ) -> None:
        request_body = exchange.request.body if exchange.request is not None else b""
        body, body_cut = redact_body(request_body)
        response_body, response_cut = redact_body(bytes(answer["body"]))
        await self.journal.write(
            exchange.db,
            (
                exchange.clock.now_ms(),
                exchange.company,
                scope["method"],
                path,
                redact_query(scope["query_string"]),
                redact_headers(headers),
                body,
                body_cut,
                answer["status"],
                response_body,
                response_cut,
                (time.perf_counter() - started) * 1000,
                exchange.operation_id,
                exchange.fault_id,
            ),
        )


async def _wait_for_disconnect(receive: Receive) -> None:
    """Until the client gives up (at most `HANG_SECONDS`)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(f.HANG_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass


async def _abort(send: Send) -> None:
    """Close the connection without an answer. The ASGI interface has no word for it: the
    server's connection is reached through its `send` (uvicorn's request cycle). Called in
    process, with no connection to close, the caller is raised an error instead."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    raw = getattr(transport, "_transport", transport)
    if raw is None or not hasattr(raw, "abort"):
        raise ConnectionResetError("closed without an answer by a sandbox fault")
    raw.abort()
    # Once the server has seen the connection lost it sends nothing more for this request.
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)
