"""The HTTP edge against hostile clients (docs/api.md, decisions 67 to 71), through real
`pathsessions serve` processes spoken to with raw sockets: silent and slow clients are closed
on time, headers are capped, a client opening more connections than the server may have files
does not lock others out, and no request refused before its body is read holds memory.

Where the requests that show others are still served are answered before any storage is
touched (an unknown route's 404), a test runs on one backend.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from support.realserver import (
    COMPANY,
    HEADERS,
    KEY,
    SESSIONS,
    Server,
    Servers,
    load_example,
    stop_cleanly,
)

pytestmark = pytest.mark.e2e

SHORT = {
    "PATHSESSIONS_HEADER_TIMEOUT": "0.5",
    "PATHSESSIONS_KEEP_ALIVE_TIMEOUT": "0.5",
    "PATHSESSIONS_ACCESS_LOG": "false",
}
PROBE = b"GET /no/such/route HTTP/1.1\r\nHost: x\r\n\r\n"


def connect(server: Server, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def read_until_closed(s: socket.socket) -> bytes:
    answer = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := s.recv(65536):
            answer += chunk
    return answer


def read_answer(s: socket.socket) -> bytes:
    """One answer, read whole: with a Content-Length, or chunked."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    ]
    if not lengths:
        while not body.endswith(b"\r\n0\r\n\r\n"):
            chunk = s.recv(65536)
            assert chunk
            body += chunk
        return head + b"\r\n\r\n" + body
    length = lengths[0]
    while len(body) < length:
        chunk = s.recv(65536)
        assert chunk
        body += chunk
    return head + b"\r\n\r\n" + body


def probe_seconds(server: Server) -> float:
    """The time of one request on a new connection: an unknown route, answered 404."""
    started = time.perf_counter()
    with connect(server) as s:
        s.sendall(PROBE)
        assert read_answer(s).startswith(b"HTTP/1.1 404 "), server.stderr
    return time.perf_counter() - started


@pytest.mark.backend_independent
def test_silent_slow_and_idle_connections_are_closed_on_time(servers: Servers) -> None:
    server = servers.start(env=SHORT)
    # Nothing sent: closed without a word once the header timeout has passed.
    with connect(server) as s:
        started = time.monotonic()
        assert read_until_closed(s) == b""
        assert 0.4 < time.monotonic() - started < 3
    # Headers dripped a line at a time: 408, then closed, though bytes kept coming.
    with connect(server) as s:
        started = time.monotonic()
        s.sendall(b"GET /health HTTP/1.1\r\n")
        answer = b""
        for i in range(40):
            try:
                s.sendall(f"X-Slow-{i}: yes\r\n".encode())
            except OSError:
                break
            time.sleep(0.1)
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                answer += s.recv(65536)
            s.setblocking(True)
            if answer:
                break
        answer += read_until_closed(s)
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
        assert answer.endswith(b'{"error":"request_timeout"}')
        assert b"\r\nconnection: close\r\n" in answer
        assert time.monotonic() - started < 3
    # A kept-alive connection is closed once idle for the keep-alive timeout.
    with connect(server) as s:
        s.sendall(PROBE)
        assert read_answer(s).startswith(b"HTTP/1.1 404 ")
        started = time.monotonic()
        assert read_until_closed(s) == b""
        assert 0.4 < time.monotonic() - started < 3
    probe_seconds(server)
    stop_cleanly(server)


@pytest.mark.backend_independent
def test_headers_are_capped_and_a_huge_header_slows_nobody(servers: Servers) -> None:
    server = servers.start(env={**SHORT, "PATHSESSIONS_MAX_HEADER_BYTES": "16384"})
    # Just under the cap: served. Over it: 431, then closed.
    with connect(server) as s:
        s.sendall(b"GET /no/such/route HTTP/1.1\r\nX-Big: " + b"a" * 15_000 + b"\r\n\r\n")
        assert read_answer(s).startswith(b"HTTP/1.1 404 ")
    with connect(server) as s:
        s.sendall(b"GET /no/such/route HTTP/1.1\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n")
        answer = read_until_closed(s)
        assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), answer
        assert answer.endswith(b'{"error":"request_header_fields_too_large"}')
    # 128 MB of one header while another client makes its requests: that client is not
    # slowed down (before the cap, the worker parsed for seconds), and the sender is cut off.
    stop = threading.Event()
    slowest: list[float] = []

    def others() -> None:
        while not stop.is_set():
            slowest.append(probe_seconds(server))

    prober = threading.Thread(target=others)
    prober.start()
    try:
        time.sleep(0.2)
        started = time.monotonic()
        with connect(server, timeout=20) as s:
            s.sendall(b"GET /no/such/route HTTP/1.1\r\nX-Huge: ")
            chunk = b"a" * (1 << 20)
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                for _ in range(128):
                    s.sendall(chunk)
        cut_off = time.monotonic() - started
        time.sleep(0.2)
    finally:
        stop.set()
        prober.join()
    assert cut_off < 5
    assert len(slowest) > 10
    assert max(slowest) < 0.25, sorted(slowest)[-5:]
    stop_cleanly(server)


@contextlib.contextmanager
def open_connections(server: Server, count: int) -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            opened.append(connect(server))
        yield opened
    finally:
        for s in opened:
            s.close()


@pytest.mark.backend_independent
def test_connections_past_the_file_limit_lock_nobody_out(servers: Servers) -> None:
    # The server may have 256 files; a client opens 600 connections and sends nothing.
    server = servers.start(env={**SHORT, "PATHSESSIONS_HEADER_TIMEOUT": "30"}, files=256)
    with open_connections(server, 600):
        time.sleep(0.5)
        # Others are served meanwhile, each on a new connection.
        times = [probe_seconds(server) for _ in range(20)]
        assert max(times) < 1, times
    time.sleep(0.5)
    probe_seconds(server)
    stop_cleanly(server)
    logs = server.stderr
    assert logs.count("connection limit of") == 1, logs[-3000:]
    assert logs.count("under the limit of") == 1, logs[-3000:]


# --- Bodies: none is read for a request that is refused ---------------------------------------

BODY_SIZE = 1_000_000
SENT = 900_000  # most of the body, and then nothing more


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def refused_heads(path: str) -> list[bytes]:
    """Requests that will be refused, each announcing a body of BODY_SIZE bytes."""
    length = f"Content-Length: {BODY_SIZE}\r\nContent-Type: application/json\r\n\r\n".encode()
    start = b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
    return [
        b"POST /api/v1/no-such-route HTTP/1.1\r\nHost: x\r\n" + length,  # 404
        start + length,  # no credentials: 401
        start + f"X-company-id: {COMPANY}\r\nX-apiKey: wrong\r\n".encode() + length,  # 401
    ]


def groups_seconds(server: Server) -> float:
    """An authenticated request on a new connection, answered 200."""
    started = time.perf_counter()
    with connect(server) as s:
        s.sendall(
            f"GET /api/v1/groups HTTP/1.1\r\nHost: x\r\nX-company-id: {COMPANY}\r\n"
            f"X-apiKey: {KEY}\r\n\r\n".encode()
        )
        assert read_answer(s).startswith(b"HTTP/1.1 200 "), server.stderr[-2000:]
    return time.perf_counter() - started


def test_refused_requests_hold_no_memory_and_slow_bodies_are_abandoned(
    database_url: str, servers: Servers
) -> None:
    load_example(database_url)
    server = servers.start(env={"PATHSESSIONS_BODY_TIMEOUT": "0.5"})
    groups_seconds(server)
    before = rss_mib(server.process.pid)
    heads = refused_heads(SESSIONS)
    part = b"x" * SENT
    answers: list[bytes] = []
    with contextlib.ExitStack() as held:
        # 400 connections, each sending its head and most of a body, then nothing more.
        for i in range(400):
            s = held.enter_context(connect(server))
            with contextlib.suppress(OSError):
                s.sendall(heads[i % len(heads)])
                s.sendall(part)
            if i % 50 == 0:
                s.settimeout(5)
                with contextlib.suppress(OSError):
                    answers.append(s.recv(4096))
        time.sleep(0.5)
        grown = rss_mib(server.process.pid) - before
        # Others are served meanwhile.
        times = [groups_seconds(server) for _ in range(10)]
    print(f"\n[refused bodies] the server grew by {grown:.1f} MiB")
    assert grown < 50, f"the server grew by {grown:.0f} MiB"
    assert max(times) < 1, times
    statuses = sorted({a.split(b" ", 2)[1] for a in answers if a})
    assert statuses == [b"401", b"404"], answers
    assert all(b"\r\nconnection: close\r\n" in a.lower() for a in answers if a)
    # Too large by Content-Length: 413 at once, on a known or unknown route.
    for path in (SESSIONS, "/api/v1/no-such-route"):
        with connect(server) as s:
            s.sendall(
                b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: 2000000\r\n\r\n" + b"x" * 1000
            )
            assert read_until_closed(s).startswith(b"HTTP/1.1 413 ")
    # A served request whose body stops coming: abandoned after the body timeout, with 408.
    with connect(server) as s:
        started = time.monotonic()
        credentials = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
        s.sendall(
            f"POST {SESSIONS} HTTP/1.1\r\nHost: x\r\n{credentials}"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n".encode()
            + b'{"sessionName": "'
        )
        answer = read_until_closed(s)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert answer.endswith(b'{"error":"request_timeout"}')
        assert 0.4 < time.monotonic() - started < 3
    groups_seconds(server)
    stop_cleanly(server)
