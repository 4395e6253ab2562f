"""One request's way through the service, the same for every API version.

Declared body size (413) → route (404) → credentials (401) → rate limit (429) → the body, read
only now and within a deadline (413, 408) → handler, then the answer, its request id and its
access-log line. What the answers say is each API's own: the pipeline asks the `Facade` that
owns the matched route (or the first, for a request that matches none) to authenticate and to
render every refusal and fault.

No body is read for a request that is refused: it would be memory held for a client nobody
knows (up to the body limit each, for as long as the client cares to take). A refusal given
while a body may still be coming closes the connection after the answer (web/server.py then
drops what still arrives), rather than reading the body only to skip it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
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
from .metrics import Metrics
from .ratelimit import READ, WRITE, Limiter, StreamSlots
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


class Exchange(Protocol):
    """One API request as the sandbox (sandbox/hooks.py) follows it, when it is on: the
    pipeline tells it what it learns and asks it before and after the operation."""

    operation_id: str | None
    tenant: str | None
    request: Request | None
    # Set by `before`: the request reached its operation (so an `after` fault may apply).
    reached: bool

    async def before(self) -> Response | None:
        """Just before the operation: the answer of a fault, if one answers instead (or
        ClientDisconnected when the request is to go unanswered)."""
        ...

    async def after(self, response: Response) -> Response:
        """The answer, or a fault's in its place (or ClientDisconnected)."""
        ...


class Sandbox(Protocol[Ctx]):
    """What a server with its sandbox on wraps around each API request; None when off, and
    then nothing of it is called."""

    def applies(self, path: str) -> bool: ...

    async def serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        ctx: Ctx,
        path: str,
        run: Callable[[Send, Ctx, Exchange], Awaitable[None]],
    ) -> None:
        """Call `run` with the send, context and exchange of this request."""
        ...


# Seconds a company over its cap of streamed answers is told to wait: a list takes seconds.
STREAM_RETRY_AFTER = 1.0

# Longest a streamed answer waits, between two chunks, for the other requests in progress to
# be done: a chunk (a batch of a list) holds the loop for milliseconds, and a request that
# waited behind one at each of its steps took ten times its time while a company listed.
STREAM_DEFERENCE = 0.02

# A streamed answer is paced while another request began less than this many seconds ago:
# it rests PACE times as long as its last chunk took, so it has at most a fifth of the
# worker's time and the other requests meet a chunk in progress a fifth as often. However
# busy the worker, a list goes on at one chunk per PACE * STREAM_DEFERENCE + STREAM_DEFERENCE
# seconds at least (0.1 s).
PACE_WINDOW = 0.1
PACE = 4

# The largest body of a request served without credentials. The token route's is a client id
# and a secret, a few hundred bytes; anyone may send one, so none may make a worker hold more.
PUBLIC_MAX_BODY_BYTES = 8 * 1024

# A body that does not arrive in time: the same words as the server's own 408 for a head
# that does not (web/server.py), whatever the API.
REQUEST_TIMEOUT = b'{"error":"request_timeout"}'


class Trace:
    """What the access log says of one request, filled in as the request is understood."""

    __slots__ = (
        "body_pending",
        "company_id",
        "id",
        "operation",
        "route",
        "serving",
        "stream_slot",
        "upgrade",
    )

    def __init__(self, request_id: str) -> None:
        self.id = request_id
        self.route: str | None = None
        self.operation: str | None = None
        self.company_id: str | None = None
        self.upgrade = False
        # A body was announced and not read (whole): the connection cannot serve another
        # request before it is skipped, so it is closed after the answer instead.
        self.body_pending = False
        # The slot a streamed answer holds (`StreamSlots`) until it is sent: company, token.
        self.stream_slot: tuple[str, str] | None = None
        self.serving = False  # counted in the pipeline's requests in progress


class Pipeline(Generic[Ctx]):
    def __init__(
        self,
        facades: Sequence[Facade[Ctx]],
        max_body_bytes: int,
        access_log: AccessLog | None,
        body_timeout: float = 30.0,
        metrics: Metrics | None = None,
    ) -> None:
        if not facades:
            raise ValueError("at least one API")
        self.facades = facades
        self.router = Router([(route, api) for api in facades for route in api.routes])
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        # Set when the application starts (it may need Redis); None: no cap.
        self.streams: StreamSlots | None = None
        # Requests in progress, but for streamed answers being sent; `_quiet` is set when none.
        self._serving = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._last_request = 0.0  # perf_counter() when the last request began
        self.access_log = access_log
        self.metrics = metrics
        self.request_ids = RequestIds()
        self.sandbox: Sandbox[Ctx] | None = None

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, ctx: Ctx, limiter: Limiter | None
    ) -> None:
        started = time.perf_counter()
        path = _raw_path(scope)
        trace = Trace(self.request_ids.next())
        self._serving += 1
        self._last_request = started
        self._quiet.clear()
        trace.serving = True
        try:
            if self.sandbox is not None and self.sandbox.applies(path):

                async def run(send: Send, ctx: Ctx, exchange: Exchange) -> None:
                    await self._serve(
                        scope, receive, send, ctx, limiter, path, trace, started, exchange
                    )

                await self.sandbox.serve(scope, receive, send, ctx, path, run)
            else:
                await self._serve(scope, receive, send, ctx, limiter, path, trace, started)
        finally:
            self._done_serving(trace)
            if trace.stream_slot is not None and self.streams is not None:
                await self.streams.release(*trace.stream_slot)

    def _done_serving(self, trace: Trace) -> None:
        if trace.serving:
            trace.serving = False
            self._serving -= 1
            if not self._serving:
                self._quiet.set()

    def _pacer(self) -> Callable[[], Awaitable[None]]:
        """What a streamed answer does between two chunks: let the loop run; while other
        requests come (one began in the last `PACE_WINDOW` s), rest `PACE` times as long as
        its last chunk took; and wait (a little) for the requests in progress to be done."""
        chunk_started = time.perf_counter()

        async def pause() -> None:
            nonlocal chunk_started
            now = time.perf_counter()
            await asyncio.sleep(0)
            if now - self._last_request < PACE_WINDOW:
                await asyncio.sleep(min(PACE * (now - chunk_started), PACE * STREAM_DEFERENCE))
            if not self._quiet.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(STREAM_DEFERENCE):
                        await self._quiet.wait()
            chunk_started = time.perf_counter()

        return pause

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        ctx: Ctx,
        limiter: Limiter | None,
        path: str,
        trace: Trace,
        started: float,
        exchange: Exchange | None = None,
    ) -> None:
        try:
            response = await self._respond(scope, receive, path, trace, ctx, limiter, exchange)
            if exchange is not None and exchange.reached:
                response = await exchange.after(response)
        except ClientDisconnected:
            return  # nobody to answer, and nothing was done
        response.headers = [*(response.headers or ()), (b"x-request-id", trace.id.encode())]
        if trace.upgrade or trace.body_pending:
            # The protocol switch asked for is not made: the request was served as HTTP/1.1.
            # The server's parser may have stopped reading the connection where the switch
            # would have begun, so it is closed rather than left waiting for bytes it dropped.
            # So is a connection whose request body was left unread.
            response.headers.append((b"connection", b"close"))
        if response.stream is not None:
            self._done_serving(trace)  # from now on, it gives way to the others
        try:
            await send_response(send, response, receive, self._pacer())
        except Exception as exc:
            if response.stream is None:
                raise
            # The status line is out: all the client can still be told is a broken connection.
            # The server logs what it is handed, so hand it nothing but our error id.
            log_fault(exc, trace.id)
            raise StreamAborted(trace.id) from None
        if self.metrics is not None:
            self.metrics.observe(trace.operation, response.status, time.perf_counter() - started)
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
        exchange: Exchange | None = None,
    ) -> Response:
        # Matching reads nothing of the body. A declared length over the limit is refused
        # first, on any route, known or not; nothing else of the body is looked at before the
        # request is known to be served.
        matched = self.router.match(scope["method"], path)
        api = self.facades[0] if matched is None else matched[1]
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)  # a repeated header counts by its first value
        trace.upgrade = b"upgrade" in headers
        # Leading zeros are dropped so "000…01" is read as the small number it is; the
        # length check comes first because int() refuses strings of thousands of digits.
        declared = headers.get(b"content-length", b"").lstrip(b"0") or b"0"
        trace.body_pending = declared != b"0" or b"transfer-encoding" in headers
        limit = self.max_body_bytes
        if declared.isdigit() and (len(declared) > 15 or int(declared) > limit):
            return api.payload_too_large()
        if matched is None:
            return api.not_found()
        route, _, params = matched
        trace.route = route.path
        trace.operation = route.operation_id
        if route.public is not None:
            limit = min(limit, PUBLIC_MAX_BODY_BYTES)
            if declared.isdigit() and int(declared) > limit:
                return api.payload_too_large()
        request = Request(
            scope["method"],
            scope["path"],
            scope["query_string"],
            headers,
            b"",
            params,
            scope.get("scheme", "http"),
        )
        if exchange is not None:
            exchange.operation_id = route.operation_id
            exchange.request = request
        try:
            if route.public is not None:
                refused = await self._read_body(receive, request, limit, trace, api)
                if refused is not None:
                    return refused
                if exchange is not None and (faulted := await exchange.before()) is not None:
                    return faulted
                response = await route.public(request, ctx)
            else:
                assert route.handler is not None
                principal = await api.authenticate(ctx, request, route)
                tenant = api.tenant(principal)
                trace.company_id = tenant
                if exchange is not None:
                    exchange.tenant = tenant
                if limiter is not None:
                    wait = await limiter.wait(tenant, READ if request.method == "GET" else WRITE)
                    if wait:
                        if self.metrics is not None:
                            self.metrics.refused("requests")
                        return api.rate_limited(wait)
                refused = await self._read_body(receive, request, limit, trace, api)
                if refused is not None:
                    return refused
                if exchange is not None and (faulted := await exchange.before()) is not None:
                    return faulted
                response = await route.handler(request, ctx, principal)
                if response.stream is not None and self.streams is not None:
                    # Nothing of a streamed answer is read before its first chunk (`prime`).
                    token = await self.streams.acquire(tenant)
                    if token is None:
                        await _close(response.stream)
                        if self.metrics is not None:
                            self.metrics.refused("lists")
                        return api.rate_limited(STREAM_RETRY_AFTER)
                    trace.stream_slot = (tenant, token)
            await response.prime()
            return response
        except ClientDisconnected:
            raise  # mid-body: nobody to answer (`__call__`)
        except TooManyFields:
            return api.payload_too_large()
        except Exception as exc:
            answer = api.error(exc)
            if answer is not None:
                return answer
            log_fault(exc, trace.id)
            return api.internal_error(trace.id)

    async def _read_body(
        self,
        receive: Receive,
        request: Request,
        limit: int,
        trace: Trace,
        api: Facade[Any],
    ) -> Response | None:
        """Read the body into `request`; else the answer: too large, or not in time."""
        try:
            if trace.body_pending:
                async with asyncio.timeout(self.body_timeout):
                    body = await read_body(receive, limit)
            else:
                # Neither a length nor chunks: no body in HTTP/1.1 (an in-process caller may
                # still send one), and its one message is here already. Taken all the same:
                # a streamed answer watches for the next one, the disconnect.
                body = await read_body(receive, limit)
        except TimeoutError:
            return Response(408, REQUEST_TIMEOUT)
        if body is None:
            return api.payload_too_large()
        trace.body_pending = False
        request.body = body
        return None


async def _close(stream: AsyncIterator[bytes]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


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
