"""One request's way through the service, the same for every API version.

Body limit (413) → route (404) → credentials (401) → rate limit (429) → handler, then the
answer, its request id and its access-log line. What the answers say is each API's own: the
pipeline asks the `Facade` that owns the matched route (or the first, for a request that
matches none) to authenticate and to render every refusal and fault.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote

from .accesslog import AccessLog, redact_path
from .asgi import (
    ClientDisconnected,
    Request,
    Response,
    StreamAborted,
    read_body,
    send_response,
)
from .body import TooManyFields
from .logs import RequestIds, frames
from .ratelimit import READ, WRITE, Limiter
from .routing import Route, Router

log = logging.getLogger("pathsessions")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

Ctx = TypeVar("Ctx")
Ctx_contra = TypeVar("Ctx_contra", contravariant=True)


class Facade(Protocol[Ctx_contra]):
    """What an API version tells the pipeline: its routes, how it authenticates, and how it
    words every answer the pipeline gives on its behalf."""

    @property
    def routes(self) -> Sequence[Route[Any, Any]]: ...

    async def authenticate(self, ctx: Ctx_contra, request: Request, route: Route[Any, Any]) -> Any:
        """The principal `route`'s handler is called with; raises to refuse (a version may
        also refuse here what the route needs and the credentials lack, such as a scope)."""
        ...

    def tenant(self, principal: Any) -> str:
        """The company a principal acts for: the rate limit's bucket and the log's field."""
        ...

    def error(self, exc: Exception) -> Response | None:
        """The answer to one of this API's documented failures; None for anything else."""
        ...

    def payload_too_large(self) -> Response: ...

    def not_found(self) -> Response: ...

    def rate_limited(self, wait: float) -> Response: ...

    def internal_error(self, error_id: str) -> Response: ...


class Trace:
    """What the access log says of one request, filled in as the request is understood."""

    __slots__ = ("company_id", "id", "route", "upgrade")

    def __init__(self, request_id: str) -> None:
        self.id = request_id
        self.route: str | None = None
        self.company_id: str | None = None
        self.upgrade = False


class Pipeline(Generic[Ctx]):
    def __init__(
        self,
        facades: Sequence[Facade[Ctx]],
        max_body_bytes: int,
        access_log: AccessLog | None,
    ) -> None:
        if not facades:
            raise ValueError("at least one API")
        self.facades = facades
        self.router = Router([(route, api) for api in facades for route in api.routes])
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log
        self.request_ids = RequestIds()

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, ctx: Ctx, limiter: Limiter | None
    ) -> None:
        started = time.perf_counter()
        path = _raw_path(scope)
        trace = Trace(self.request_ids.next())
        try:
            response = await self._respond(scope, receive, path, trace, ctx, limiter)
        except ClientDisconnected:
            return  # nobody to answer, and nothing was done
        response.headers = [*(response.headers or ()), (b"x-request-id", trace.id.encode())]
        if trace.upgrade:
            # The protocol switch asked for is not made: the request was served as HTTP/1.1.
            # The server's parser may have stopped reading the connection where the switch
            # would have begun, so it is closed rather than left waiting for bytes it dropped.
            response.headers.append((b"connection", b"close"))
        try:
            await send_response(send, response, receive)
        except Exception as exc:
            if response.stream is None:
                raise
            # The status line is out: all the client can still be told is a broken connection.
            # The server logs what it is handed, so hand it nothing but our error id.
            log_fault(exc, trace.id)
            raise StreamAborted(trace.id) from None
        if self.access_log is not None:
            # The path still percent-encoded as received, so a decoded %0A cannot forge a
            # line; a segment long enough to be a secret is redacted, and so is every value
            # in the query string but those the API reads.
            self.access_log.record(
                trace.id,
                scope["method"],
                trace.route,
                redact_path(path),
                scope["query_string"],
                response.status,
                (time.perf_counter() - started) * 1000,
                trace.company_id,
            )

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        path: str,
        trace: Trace,
        ctx: Ctx,
        limiter: Limiter | None,
    ) -> Response:
        # Matching reads nothing of the body; its answer waits until the body checks are done,
        # so that a body too large is 413 on any route, known or not.
        matched = self.router.match(scope["method"], path)
        api = self.facades[0] if matched is None else matched[1]
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)  # a repeated header counts by its first value
        trace.upgrade = b"upgrade" in headers
        # Leading zeros are dropped so "000…01" is read as the small number it is; the
        # length check comes first because int() refuses strings of thousands of digits.
        declared = headers.get(b"content-length", b"").lstrip(b"0") or b"0"
        limit = self.max_body_bytes
        if declared.isdigit() and (len(declared) > 15 or int(declared) > limit):
            return api.payload_too_large()
        body = await read_body(receive, limit)
        if body is None:
            return api.payload_too_large()
        if matched is None:
            return api.not_found()
        route, _, params = matched
        trace.route = route.path
        request = Request(
            scope["method"],
            scope["path"],
            scope["query_string"],
            headers,
            body,
            params,
            scope.get("scheme", "http"),
        )
        try:
            if route.public is not None:
                response = await route.public(request, ctx)
            else:
                assert route.handler is not None
                principal = await api.authenticate(ctx, request, route)
                tenant = api.tenant(principal)
                trace.company_id = tenant
                if limiter is not None:
                    wait = await limiter.wait(tenant, READ if request.method == "GET" else WRITE)
                    if wait:
                        return api.rate_limited(wait)
                response = await route.handler(request, ctx, principal)
            await response.prime()
            return response
        except TooManyFields:
            return api.payload_too_large()
        except Exception as exc:
            answer = api.error(exc)
            if answer is not None:
                return answer
            log_fault(exc, trace.id)
            return api.internal_error(trace.id)


async def refuse_websocket(facade: Facade[Any], scope: Scope, receive: Receive, send: Send) -> None:
    """No route speaks WebSocket: a "websocket" call (from a server that makes them; `serve`
    does not) is refused with `facade`'s 404, as an HTTP answer to the handshake when the
    server offers that, else by closing the handshake (which servers answer 403)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return  # the client is already gone
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1000})
        return
    response = facade.not_found()
    headers = [
        (b"content-type", response.content_type),
        (b"content-length", str(len(response.body)).encode()),
    ]
    await send(
        {"type": "websocket.http.response.start", "status": response.status, "headers": headers}
    )
    await send({"type": "websocket.http.response.body", "body": response.body})


def log_fault(exc: Exception, request_id: str) -> None:
    # The exception's type and where it was raised, and nothing else (logs.py).
    log.error(
        "error_id=%s unhandled %s",
        request_id,
        type(exc).__name__,
        extra={"request_id": request_id, "frames": frames(exc.__traceback__)},
    )


def _raw_path(scope: Scope) -> str:
    """The path as the client sent it, still percent-encoded, without the query string
    (some servers put it in `raw_path`, against the ASGI spec)."""
    raw: bytes = scope.get("raw_path") or quote(scope["path"]).encode()
    return raw.split(b"?", 1)[0].decode("latin-1")
