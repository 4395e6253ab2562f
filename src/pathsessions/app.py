"""The application: `create_app(settings)`, the route list, and the one place errors render."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from . import routes as r
from .accesslog import AccessLog
from .auth import authenticate
from .domain import Company
from .errors import ApiError, internal_error_body, not_found_body, render
from .http import (
    ClientDisconnected,
    Request,
    Response,
    Route,
    Router,
    StreamAborted,
    read_body,
    send_response,
)
from .logs import RequestIds, configure_logging, frames
from .ratelimit import READ, WRITE, Limiter, open_limiter, retry_after
from .settings import Settings, SettingsError, load_settings, require_token_secret
from .storage import Database, migrate, open_database

log = logging.getLogger("pathsessions")

ROUTES = [
    Route("POST", "/api/v2/oauth2/token", r.issue_token, "issueToken", authenticated=False),
    Route("POST", "/api/v1/paths/{pathId}/sessions", r.create_path_session, "createPathSession"),
    Route("GET", "/api/v1/paths/sessions", r.list_path_sessions, "listPathSessions"),
    Route("GET", "/api/v1/paths/sessions/{sessionId}", r.get_path_session, "getPathSession"),
    Route(
        "PATCH", "/api/v1/paths/sessions/{sessionId}", r.update_path_session, "updatePathSession"
    ),
    Route(
        "DELETE", "/api/v1/paths/sessions/{sessionId}", r.delete_path_session, "deletePathSession"
    ),
    Route(
        "GET",
        "/api/v1/paths/sessions/{sessionId}/users",
        r.list_session_users,
        "listPathSessionUsers",
    ),
    Route(
        "PATCH", "/api/v1/paths/sessions/{sessionId}/users", r.enrol_users, "enrolPathSessionUsers"
    ),
    Route(
        "DELETE",
        "/api/v1/paths/sessions/{sessionId}/users",
        r.unenrol_users,
        "unenrolPathSessionUsers",
    ),
    Route(
        "PATCH",
        "/api/v1/paths/sessions/{sessionId}/groups",
        r.enrol_groups,
        "enrolPathSessionGroups",
    ),
    Route(
        "DELETE",
        "/api/v1/paths/sessions/{sessionId}/groups",
        r.unenrol_groups,
        "unenrolPathSessionGroups",
    ),
    Route("GET", "/api/v1/groups", r.list_groups, "listGroups"),
    Route("GET", "/api/v1/groups/{groupId}", r.get_group, "getGroup"),
    Route("GET", "/api/v1/users", r.list_users, "listUsers"),
    Route("GET", "/api/v1/users/{user}", r.get_user, "getUser"),
    Route("GET", "/api/v1/paths", r.list_paths, "listPaths"),
    Route("GET", "/api/v1/paths/{pathId}", r.get_path, "getPath"),
    Route("GET", "/health", r.health, "health", authenticated=False),
    Route("GET", "/openapi.json", r.openapi_document, "openapi", authenticated=False),
    Route("GET", "/docs", r.docs_page, "docs", authenticated=False),
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class App:
    """An ASGI application holding its settings and, once started, its database."""

    def __init__(self, settings: Settings, route_list: list[Route]) -> None:
        self.settings = settings
        self.router = Router(route_list)
        self._db: Database | None = None
        self.limiter: Limiter | None = None
        self.token_secret = b""
        quiet = settings.log_level.upper() in {"WARNING", "ERROR"}
        self.access_log = AccessLog() if settings.access_log and not quiet else None
        self.request_ids = RequestIds()
        # Derived documents (OpenAPI, docs page), built on first request.
        self.cache: dict[str, bytes] = {}

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("the application has not been started")
        return self._db

    async def startup(self) -> None:
        require_token_secret(self.settings)
        db = await open_database(
            self.settings.database_url,
            sqlite_synchronous=self.settings.sqlite_synchronous,
            pg_pool_size=self.settings.pg_pool_size,
        )
        try:
            await migrate(db)
        except BaseException:
            await db.close()
            raise
        self.token_secret = self.settings.token_secret.encode()
        s = self.settings
        self.limiter = open_limiter(
            s.rate_limits, (s.write_rate_limit, s.read_rate_limit), s.redis_url, s.rate_limit_file
        )
        self._db = db

    async def shutdown(self) -> None:
        if self.access_log is not None:
            self.access_log.flush()
        if self.limiter is not None:
            await self.limiter.close()
            self.limiter = None
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except SettingsError as exc:
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

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path = _raw_path(scope)
        trace = Trace(self.request_ids.next())
        try:
            response = await self._respond(scope, receive, path, trace)
        except ClientDisconnected:
            return  # nobody to answer, and nothing was done
        response.headers = [*(response.headers or ()), (b"x-request-id", trace.id.encode())]
        try:
            await send_response(send, response, receive)
        except Exception as exc:
            if response.stream is None:
                raise
            # The status line is out: all the client can still be told is a broken connection.
            # The server logs what it is handed, so hand it nothing but our error id.
            self._log_fault(exc, trace.id)
            raise StreamAborted(trace.id) from None
        if self.access_log is not None:
            # The path still percent-encoded as received, so a decoded %0A cannot forge a
            # line; credentials in the query string are redacted.
            self.access_log.record(
                trace.id,
                scope["method"],
                trace.route,
                path,
                scope["query_string"],
                response.status,
                (time.perf_counter() - started) * 1000,
                trace.company_id,
            )

    async def _respond(self, scope: Scope, receive: Receive, path: str, trace: Trace) -> Response:
        limit = self.settings.max_body_bytes
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)  # a repeated header counts by its first value
        # Leading zeros are dropped so "000…01" is read as the small number it is; the
        # length check comes first because int() refuses strings of thousands of digits.
        declared = headers.get(b"content-length", b"").lstrip(b"0") or b"0"
        if declared.isdigit() and (len(declared) > 15 or int(declared) > limit):
            return Response(*render(ApiError("payload_too_large")))
        body = await read_body(receive, limit)
        if body is None:
            return Response(*render(ApiError("payload_too_large")))
        matched = self.router.match(scope["method"], path)
        if matched is None:
            return Response(404, not_found_body(self.settings.docs_url))
        route, params = matched
        trace.route = route.path
        request = Request(
            scope["method"], scope["path"], scope["query_string"], headers, body, params
        )
        try:
            company = None
            if route.authenticated:
                company = await authenticate(self.db, request, self.token_secret)
                trace.company_id = company.id
                wait = await self._rate_limit(company, request.method)
                if wait:
                    status, body = render(ApiError("tooManyRequests"))
                    return Response(status, body, headers=[(b"retry-after", retry_after(wait))])
            response = await route.handler(request, company, self)
            await response.prime()
            return response
        except ApiError as error:
            return Response(*render(error))
        except Exception as exc:
            self._log_fault(exc, trace.id)
            return Response(500, internal_error_body(trace.id))

    async def _rate_limit(self, company: Company, method: str) -> float:
        if self.limiter is None:
            return 0.0
        return await self.limiter.wait(company.id, READ if method == "GET" else WRITE)

    @staticmethod
    def _log_fault(exc: Exception, request_id: str) -> None:
        # The exception's type and where it was raised, and nothing else (logs.py).
        log.error(
            "error_id=%s unhandled %s",
            request_id,
            type(exc).__name__,
            extra={"request_id": request_id, "frames": frames(exc.__traceback__)},
        )


class Trace:
    """What the access log says of one request, filled in as the request is understood."""

    __slots__ = ("company_id", "id", "route")

    def __init__(self, request_id: str) -> None:
        self.id = request_id
        self.route: str | None = None
        self.company_id: str | None = None


def _raw_path(scope: Scope) -> str:
    """The path as the client sent it, still percent-encoded, without the query string
    (some servers put it in `raw_path`, against the ASGI spec)."""
    raw: bytes = scope.get("raw_path") or quote(scope["path"]).encode()
    return raw.split(b"?", 1)[0].decode("latin-1")


def create_app(settings: Settings) -> App:
    return App(settings, ROUTES)


def app_from_environment() -> App:
    """The factory each server worker process calls (`uvicorn --factory`)."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
