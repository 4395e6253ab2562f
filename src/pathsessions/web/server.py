"""The HTTP/1.1 connection: uvicorn's httptools protocol, with the limits it lacks.

uvicorn bounds neither the time a client may take to send its request headers nor their size,
nor the number of open connections: a client that opens connections and sends nothing keeps
them forever, one that drips its headers a byte at a time does too, a 128 MB header held the
worker for seconds (the parser copies a value again for every piece of it that arrives), and a
client that opens as many connections as the process may have files leaves no file for anyone
else. `EdgeProtocol` adds, per connection:

- a **header timeout**: the request line and headers must be complete within
  `header_timeout` seconds of the connection opening, or of the request's first byte on a
  kept-alive connection; else 408 (or, when nothing was sent, a plain close);
- a **header size cap**: more than `max_header_bytes` before the headers end is 431, without
  parsing the rest;
- a **connection cap** per process, below its file limit: past it, the connection idle the
  longest (waiting for a request, as slow and silent clients are) is closed for the new one;
  with none idle, the new one is closed. One log line when that begins, one when it ends.

The idle keep-alive timeout is uvicorn's own (`timeout_keep_alive`). Bodies are the
application's business (web/pipeline.py reads them, with its own deadline).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

log = logging.getLogger("pathsessions")

# A connection closed with bytes of the request unread (a refused body, too large a head) is
# first shut for writing, and what still comes read and dropped, up to these: closed at once,
# the kernel would answer the client's next bytes with a reset, and a client still sending
# would lose the answer it was given.
LINGER_SECONDS = 2.0
LINGER_BYTES = 8 << 20

# Files kept back from the connection cap for everything else a worker opens: its database
# connections or file, log files, the listening socket, the event loop's own descriptors.
RESERVED_FILES = 64


@dataclass(frozen=True)
class EdgeLimits:
    header_timeout: float
    max_header_bytes: int
    # 0: as many as the process's file limit allows, less a reserve (`connection_cap`).
    max_connections: int


class EdgeConfig(uvicorn.Config):
    """uvicorn's configuration with our limits: the object every worker process is given, so
    the one place the protocol can read them from."""

    def __init__(self, limits: EdgeLimits, app: Any, **options: Any) -> None:
        super().__init__(app, **options)
        self.edge_limits = limits
        self.edge = _Edge(connection_cap(limits.max_connections))


def server_config(app: Any, limits: EdgeLimits, keep_alive: float, **options: Any) -> EdgeConfig:
    """The configuration of the server we ship, for `pathsessions serve` and for
    `pathsessions.testing.serve` alike; `options` add where and how many (uvicorn's names)."""
    return EdgeConfig(
        limits,
        app,
        # uvloop also turns Nagle's algorithm off on every connection it accepts (asyncio's loop
        # does so only on a socket made with IPPROTO_TCP): a body written after its head would
        # otherwise wait for the client's delayed acknowledgement, 40 ms on Linux.
        loop="uvloop",
        # httptools with the limits uvicorn lacks (above); by import path, so that worker
        # processes load it too.
        http="pathsessions.web.server:EdgeProtocol",
        # Seconds, fractions included: uvicorn hands the number to call_later.
        timeout_keep_alive=keep_alive,
        # No WebSocket protocol: an Upgrade header is ignored (RFC 9110 7.8 lets a server do
        # so) and the request is served as HTTP/1.1 by the pipeline, answered in our JSON. With
        # a WebSocket library installed, uvicorn would otherwise hand the application a
        # "websocket" call, and answer 500 in text when it is not accepted.
        ws="none",
        lifespan="on",
        # Our own access log (pathsessions.access) redacts keys from query strings.
        access_log=False,
        log_config=None,
        server_header=False,
        **options,
    )


def connection_cap(max_connections: int) -> int:
    """The connections one process keeps open at most: `max_connections`, or when 0 its
    soft file limit less a tenth (at least `RESERVED_FILES`) for its other files."""
    if max_connections > 0:
        return max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(16, soft - max(RESERVED_FILES, soft // 10))


def _answer(status: bytes, error: bytes) -> bytes:
    body = b'{"error":"' + error + b'"}'
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


TIMEOUT_ANSWER = _answer(b"408 Request Timeout", b"request_timeout")
HEADERS_TOO_LARGE_ANSWER = _answer(
    b"431 Request Header Fields Too Large", b"request_header_fields_too_large"
)


class _LingeringTransport(asyncio.Transport):
    """The transport uvicorn's request cycle writes to: its `close` lingers (`linger`)."""

    def __init__(self, protocol: EdgeProtocol, transport: asyncio.Transport) -> None:
        super().__init__()
        self._protocol = protocol
        self._transport = transport
        # An answer's head, kept until its body comes (`write`).
        self._head: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        # The request cycle writes an answer's head as soon as it is given, then its body:
        # two writes, two system calls. The head is kept back and sent with the body's first
        # write (or at the close): one call for a whole answer. The send of an answer's start
        # is always followed at once by its body (web/asgi.py), or by the close.
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head + data)
            return
        cycle = self._protocol.cycle
        if (
            cycle is not None
            and cycle.response_started
            and not cycle.response_complete
            and isinstance(data, bytes)
            and data.startswith(b"HTTP/1.1 ")
        ):
            self._head = data
            # Should nothing follow within this turn of the loop, the head goes alone.
            self._protocol.loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._protocol.linger()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)


class _HeadersTooLarge(Exception):
    pass


class _Edge:
    """What the connections of one server (one process) share: its `EdgeConfig` is copied
    into each worker process before any connection."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        # Connections not in a request (new, kept alive, or still sending their headers),
        # oldest first: the ones closed to make room.
        self.waiting: OrderedDict[EdgeProtocol, None] = OrderedDict()
        self.overloaded = False
        self.shed = 0
        self.sweeping = False


def _sweep(loop: asyncio.AbstractEventLoop, connections: set[Any], every: float) -> None:
    """Time out the connections past their header deadline, every `every` seconds: one timer a
    process, rather than one armed and cancelled for every request, which cost throughput."""
    now = loop.time()
    for protocol in list(connections):
        deadline = getattr(protocol, "head_deadline", None)
        if deadline is not None and deadline <= now:
            protocol.head_timeout()
    loop.call_later(every, _sweep, loop, connections, every)


class EdgeProtocol(HttpToolsProtocol):
    """Serves the limits of an `EdgeConfig`."""

    def __init__(
        self,
        config: EdgeConfig,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = config.edge_limits
        self.edge = config.edge
        # When the head must be complete (the loop's clock); None while not waiting for one.
        self.head_deadline: float | None = None
        self.head_bytes = 0
        self.in_head = True
        self.began = False  # a request's first byte has come, not yet its last header
        # Headers and bodies completed on this connection: tells a chunk that ended one.
        self.completed = 0
        self.lingering = False
        self.linger_left = 0
        self.linger_timer: asyncio.TimerHandle | None = None

    # --- The connection ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.lingering_transport = _LingeringTransport(self, transport)
        edge = self.edge
        if len(self.connections) > edge.cap:
            victim = next(iter(edge.waiting), None)
            self._overloaded()
            if victim is None:
                transport.close()  # every connection is in a request: this one waits its turn
                return
            victim.close_idle()
        self._wait_for_request()
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.head_deadline = None
        if self.linger_timer is not None:
            self.linger_timer.cancel()
        edge = self.edge
        edge.waiting.pop(self, None)
        super().connection_lost(exc)
        if edge.overloaded and len(self.connections) < edge.cap * 9 // 10:
            edge.overloaded = False
            log.warning(
                "connections under the limit of %d again; %d closed meanwhile",
                edge.cap,
                edge.shed,
            )
            edge.shed = 0

    def close_idle(self) -> None:
        self.edge.waiting.pop(self, None)
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.close()

    def linger(self) -> None:
        """Close; when bytes of the request may still be on their way, after shutting the
        connection for writing and dropping what comes for a while (`LINGER_SECONDS`)."""
        transport = self.transport
        if transport.is_closing() or self.lingering:
            return
        if (self.in_head and not self.began) or not transport.can_write_eof():
            transport.close()  # the request was read whole
            return
        self.lingering = True
        self.linger_left = LINGER_BYTES
        if self.cycle is not None:
            # What came of the body before the answer (up to uvicorn's 64 KiB and a read):
            # nobody will read it now, and 400 such connections held 50 MB with it.
            self.cycle.body = bytearray()
        self.edge.waiting.pop(self, None)
        self._cancel_head_timer()
        transport.write_eof()
        self.flow.resume_reading()
        self.linger_timer = self.loop.call_later(LINGER_SECONDS, transport.close)

    def _overloaded(self) -> None:
        edge = self.edge
        edge.shed += 1
        if not edge.overloaded:
            edge.overloaded = True
            log.warning(
                "connection limit of %d reached: closing the connections idle the longest, "
                "or new ones while none is idle, until under it",
                edge.cap,
            )

    def _wait_for_request(self) -> None:
        self.edge.waiting[self] = None
        self.edge.waiting.move_to_end(self)

    # --- Headers: their size and their time --------------------------------------------------

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, but for headers found too large when complete (`on_headers_complete`).
        if self.lingering:
            self.linger_left -= len(data)
            if self.linger_left <= 0:
                self.transport.close()
            return
        completed, in_head = self.completed, self.in_head
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _HeadersTooLarge):
                self._refuse(HEADERS_TOO_LARGE_ANSWER)
                return
            raise
        except httptools.HttpParserError:
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        if (
            in_head
            and self.in_head
            and self.completed == completed
            and not self.transport.is_closing()
        ):
            # Headers still arriving: counted by the chunk, so that a header sent in pieces is
            # refused before the parser has copied much of it (it copies the value again for
            # every piece). Complete headers are measured exactly (`on_headers_complete`).
            self.head_bytes += len(data)
            if self.head_bytes > self.limits.max_header_bytes:
                self._refuse(HEADERS_TOO_LARGE_ANSWER)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = True
        self.began = True
        self.head_bytes = 0
        if self.head_deadline is None:
            self._arm_head_timer()  # a kept-alive connection's next request has begun

    def on_headers_complete(self) -> None:
        self.completed += 1
        self.in_head = False
        self.began = False
        self._cancel_head_timer()
        self.edge.waiting.pop(self, None)
        # The request line and the header lines, as sent but for spaces around the values.
        size = len(self.url) + 16 + sum(len(n) + len(v) + 4 for n, v in self.headers)
        if size > self.limits.max_header_bytes:
            raise _HeadersTooLarge  # out of the parser, to `data_received`
        previous = self.cycle
        super().on_headers_complete()
        if self.cycle is not previous:
            self.cycle.transport = self.lingering_transport

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.completed += 1
        self.in_head = True
        self.head_bytes = 0

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            self._wait_for_request()

    def _arm_head_timer(self) -> None:
        timeout = self.limits.header_timeout
        self.head_deadline = self.loop.time() + timeout
        if not self.edge.sweeping:
            self.edge.sweeping = True
            every = min(1.0, timeout / 4)
            self.loop.call_later(every, _sweep, self.loop, self.connections, every)

    def _cancel_head_timer(self) -> None:
        self.head_deadline = None

    def head_timeout(self) -> None:
        self.head_deadline = None
        if self.transport.is_closing() or not self.in_head:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A request sent ahead of the previous answer (pipelining): the clock is not its
            # fault while that answer is being written.
            self._arm_head_timer()
            return
        if self.began:
            self._refuse(TIMEOUT_ANSWER)
        else:
            self.transport.close()

    def _refuse(self, answer: bytes) -> None:
        self._cancel_head_timer()
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(answer)
            self.began = True  # the rest of the head may still be coming
            self.in_head = True
            self.linger()
        else:
            # An answer is still being written: a second one cannot be put in its way.
            self.transport.close()
