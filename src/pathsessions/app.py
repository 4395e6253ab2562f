"""The composition root: `create_app(settings, clock)` wires the API versions, the pipeline,
storage and the clock into one ASGI application, and runs its start-up and shut-down."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import uvloop

from .api.context import Context
from .api.v1.facade import V1
from .api.v1.routes import ROUTES as V1_ROUTES
from .api.v2.facade import V2
from .api.v2.routes import ROUTES as V2_ROUTES
from .core import events
from .core.clock import SYSTEM_CLOCK, Clock
from .delivery import DeliveryWorker
from .delivery import process as delivery_process
from .sandbox import sandbox_for
from .sandbox.clock import company_times
from .settings import Settings, SettingsError, load_settings, require_token_secret
from .storage import Database, DatabaseUnavailable, migrate, open_database
from .web.accesslog import AccessLog
from .web.logs import configure_logging
from .web.metrics import Gauge, Metrics
from .web.pipeline import Pipeline, Receive, Scope, Send, refuse_websocket
from .web.ratelimit import Limiter, open_limiter, open_stream_slots
from .web.routing import Route

log = logging.getLogger("pathsessions")

# Every route served, in matching order: v1 first, whose 404 answers what matches no route.
ROUTES: list[Route[Context, Any]] = [*V1_ROUTES, *V2_ROUTES]


class App:
    """An ASGI application holding its settings and clock and, once started, its database.

    `deliver`: whether it runs a webhook delivery worker itself (tests, an embedded server);
    under `serve` a delivery process of its own does, and the application only wakes it."""

    def __init__(self, settings: Settings, clock: Clock, *, deliver: bool = True) -> None:
        self.settings = settings
        self.clock = clock
        self.deliver = deliver
        self._waker: delivery_process.Waker | None = None
        self._unlisten: Callable[[], None] | None = None
        self.apis: list[V1 | V2] = [V1(settings), V2(settings)]
        quiet = settings.log_level.upper() in {"WARNING", "ERROR"}
        access_log = AccessLog() if settings.access_log and not quiet else None
        self.metrics = Metrics() if settings.metrics else None
        self.pipeline = Pipeline(
            self.apis, settings.max_body_bytes, access_log, settings.body_timeout, self.metrics
        )
        self.limiter: Limiter | None = None
        self.deliveries: DeliveryWorker | None = None
        self._context: Context | None = None
        # The sandbox, only with an admin token: without one nothing of it is on the way of
        # a request, and /__admin/ is an unknown route like any other.
        self.sandbox = sandbox_for(settings)
        if self.sandbox is not None:
            self.pipeline.sandbox = self.sandbox.hooks

    @property
    def context(self) -> Context:
        if self._context is None:
            raise RuntimeError("the application has not been started")
        return self._context

    @property
    def db(self) -> Database:
        return self.context.db

    async def startup(self) -> None:
        s = self.settings
        require_token_secret(s)
        db = await open_database(
            s.database_url,
            sqlite_synchronous=s.sqlite_synchronous,
            pg_pool_size=s.pg_pool_size,
        )
        try:
            await migrate(db, self.clock)
        except BaseException:
            await db.close()
            raise
        self.limiter = open_limiter(
            s.rate_limits, (s.write_rate_limit, s.read_rate_limit), s.redis_url, s.rate_limit_file
        )
        self.pipeline.streams = open_stream_slots(
            s.max_lists_per_company, s.redis_url, self.limiter
        )
        described = [(route, api.description) for api in self.apis for route in api.routes]
        if self.sandbox is not None:
            described += [(route, self.sandbox.description) for route in self.sandbox.routes]
        if self.metrics is not None:
            self.metrics.add_gauges(_pool_gauges(db))
        self._context = Context(
            db, self.clock, s.token_secret.encode(), s, described, metrics=self.metrics
        )
        if self.deliver:
            self.deliveries = delivery_worker(s, db, self.clock)
            await self.deliveries.start()
        elif wake_path := os.environ.get(delivery_process.WAKE_VARIABLE):
            self._waker = delivery_process.Waker(wake_path)
            self._unlisten = events.listen(self._waker)

    async def shutdown(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._waker is not None:
            self._waker.close()
            self._waker = None
        if self.deliveries is not None:
            await self.deliveries.stop()
            self.deliveries = None
        if self.pipeline.access_log is not None:
            self.pipeline.access_log.flush()
        if self.limiter is not None:
            await self.limiter.close()
            self.limiter = None
        if self.pipeline.streams is not None:
            await self.pipeline.streams.close()
            self.pipeline.streams = None
        if self._context is not None:
            await self._context.db.close()
            self._context = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self.sandbox is not None and self.sandbox.owns(scope["path"]):
                await self.sandbox.admin(scope, receive, send, self.context)
                return
            await self.pipeline(scope, receive, send, self.context, self.limiter)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "websocket":
            await refuse_websocket(self.apis[0], scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except (SettingsError, DatabaseUnavailable) as exc:
                    log.error("startup failed: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                except Exception as exc:
                    log.error("startup failed: %s", type(exc).__name__)
                    await send({"type": "lifespan.startup.failed", "message": type(exc).__name__})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _pool_gauges(db: Database) -> Callable[[], Awaitable[list[Gauge]]]:
    async def read() -> list[Gauge]:
        size, idle = db.connections()
        return [
            ("database_connections", "Database connections this process holds open.", size),
            ("database_connections_in_use", "Of those, serving a request now.", size - idle),
        ]

    return read


def delivery_worker(
    settings: Settings, db: Database, clock: Clock, *, own_process: bool = False
) -> DeliveryWorker:
    sandbox = bool(settings.admin_token)
    return DeliveryWorker(
        db,
        clock,
        # The sandbox serves tests whose receivers listen on this machine.
        allow_private_targets=settings.webhook_private_targets or sandbox,
        concurrency=settings.webhook_concurrency,
        poll_interval=settings.webhook_poll_interval,
        times=partial(company_times, db, clock) if sandbox else None,
        # Alone in its process: no request to give way to, and its transactions batched. In a
        # request process it gives way to the requests, and records each result at once.
        batch_interval=delivery_process.BATCH_INTERVAL if own_process else 0.0,
        give_way=not own_process,
    )


def create_app(settings: Settings, clock: Clock = SYSTEM_CLOCK, *, deliver: bool = True) -> App:
    return App(settings, clock, deliver=deliver)


def app_from_environment() -> App:
    """The factory each server worker process calls (`uvicorn --factory`). Under a `serve`
    that runs a delivery process, it delivers nothing itself."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings, deliver=delivery_process.WAKE_VARIABLE not in os.environ)


def run_delivery_process(wake_path: str) -> None:
    """The delivery process `serve` starts (delivery/process.py): its settings from the
    environment, as the request processes', and the database `serve` has migrated."""
    settings = load_settings()
    delivery_process.lower_priority(settings.webhook_niceness)
    configure_logging(settings.log_level)

    async def deliver() -> None:
        waiting = False
        while True:
            try:
                db = await open_database(
                    settings.database_url,
                    sqlite_synchronous=settings.sqlite_synchronous,
                    pg_pool_size=2,
                )
                break
            except DatabaseUnavailable as exc:
                # Down when this process starts (or restarts): wait for it, as the requests do.
                if not waiting:
                    log.warning("webhook delivery waits for the database: %s", exc)
                    waiting = True
                if not delivery_process.parent_alive():
                    return
                await asyncio.sleep(1.0)
        if waiting:
            log.info("webhook delivery reaches the database again")
        try:
            worker = delivery_worker(settings, db, SYSTEM_CLOCK, own_process=True)
            await delivery_process.run(worker, wake_path)
        finally:
            await db.close()

    try:
        uvloop.run(deliver())
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        # A one-line reason, never a traceback (which may quote SQL or values); the server
        # starts another delivery process.
        log.error("webhook delivery process failed: %s", type(exc).__name__)
        raise SystemExit(1) from None
