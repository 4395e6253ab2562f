"""The small ASGI layer under the API: requests, responses, reading and sending them.

Why not a framework: the API needs an empty path segment to reach its handler (it answers
`path_not_found`), every route with and without a trailing slash (no redirects), the body
limit before routing, and its own 404/500 bodies. Measured on this hardware, a framework's
routing and middleware cost half or more of the
throughput; this package is all of it we use.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec

JSON = b"application/json; charset=utf-8"
HTML = b"text/html; charset=utf-8"

_encode = msgspec.json.Encoder().encode


class StreamAborted(Exception):
    """A streamed answer failed after its status line was sent; the argument is the id
    under which the fault was logged."""


class Response:
    """A whole body, or a `stream` of chunks sent as they come (chunked encoding)."""

    __slots__ = ("body", "content_type", "headers", "status", "stream")

    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: bytes = JSON,
        stream: AsyncIterator[bytes] | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.stream = stream
        self.headers = headers

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Response:
        return cls(status, _encode(value))

    @classmethod
    def streamed(cls, chunks: AsyncIterator[bytes]) -> Response:
        return cls(200, b"", stream=chunks)

    async def prime(self) -> None:
        """Produce the first chunk now, so that a failure can still change the status."""
        if self.stream is not None:
            first = await anext(self.stream, b"")
            self.stream = _prepend(first, self.stream)


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


class Request:
    __slots__ = ("_query", "body", "headers", "method", "params", "path", "query_string", "scheme")

    def __init__(
        self,
        method: str,
        path: str,
        query_string: bytes,
        headers: dict[bytes, bytes],
        body: bytes,
        params: dict[str, str],
        scheme: str = "http",
    ) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.body = body
        self.params = params
        # As the server saw it (behind a proxy, as the proxy's headers say, when trusted).
        self.scheme = scheme
        self._query: dict[str, str] | None = None

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; the first of a repeated name wins."""
        if self._query is None:
            query: dict[str, str] = {}
            for key, value in parse_qsl(self.query_string.decode("latin-1"), True):
                query.setdefault(key, value)
            self._query = query
        return self._query

    def header(self, name: bytes) -> str | None:
        value = self.headers.get(name)
        return None if value is None else value.decode("latin-1")


class ClientDisconnected(Exception):
    """The client went away before its request body was complete."""


async def read_body(
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]], limit: int
) -> bytes | None:
    """The whole request body, or None as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            # A cut-off body may still parse (a form, most of all): never act on one.
            raise ClientDisconnected
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_response(
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    r: Response,
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    pause: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Send `r`; a streamed body calls `pause` between its chunks (by default, it lets the
    loop run once)."""
    # An answer without a body (a 204) has no content type, rather than an empty one.
    headers = [(b"content-type", r.content_type)] if r.content_type else []
    if r.stream is None:
        headers.append((b"content-length", str(len(r.body)).encode()))
    if r.headers:
        headers += r.headers
    await send({"type": "http.response.start", "status": r.status, "headers": headers})
    if r.stream is not None:
        await _send_stream(send, r.stream, receive, pause or _let_loop_run)
    await send({"type": "http.response.body", "body": r.body})


async def _let_loop_run() -> None:
    await asyncio.sleep(0)


async def _send_stream(
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    stream: AsyncIterator[bytes],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    pause: Callable[[], Awaitable[None]],
) -> None:
    # Once the body is read, the next message the server hands us is the disconnect. Without
    # watching for it a long list would be read and encoded to the end for nobody: the
    # server's send() quietly drops what a departed client can no longer take.
    gone = asyncio.ensure_future(receive())
    try:
        async for chunk in stream:
            # Let the loop run between chunks: SQLite reads never suspend, so without this a
            # long list would hold every other request (and the disconnect watch) until done.
            await pause()
            if gone.done():
                return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        gone.cancel()
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
