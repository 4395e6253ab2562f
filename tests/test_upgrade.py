"""Protocol switches (docs/api.md, decision 61): no route speaks WebSocket or HTTP/2, so an
`Upgrade` header is ignored and the request served as HTTP/1.1, answered in our JSON.

Through a real `pathsessions serve` process, spoken to with raw sockets (an HTTP client does
not send these), and the application's answer to a "websocket" call in process.
"""

from __future__ import annotations

import json
import socket
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest

from pathsessions.api.answers import not_found_body
from pathsessions.app import App
from support.realserver import (
    COMPANY,
    HEADERS,
    KEY,
    Server,
    Servers,
    load_example,
    stop_cleanly,
)

WEBSOCKET = (
    b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)
H2C = (
    b"Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
    b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
)
UNAUTHORIZED = {"error": "unauthorized"}


def request(path: str, upgrade: bytes, extra: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + upgrade + extra + b"\r\n"


def exchange(server: Server, data: bytes) -> bytes:
    """Send `data` at once and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(data)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        return answer


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    """The status, headers (lower-case names) and body of one answer, and nothing after it."""
    head, _, rest = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    length = int(headers["content-length"])
    assert len(rest) == length, answer  # one answer, then the connection closed
    return int(status_line.split()[1]), headers, rest


@pytest.mark.parametrize("upgrade", [WEBSOCKET, H2C], ids=["websocket", "h2c"])
def test_an_upgrade_is_served_as_http(database_url: str, servers: Servers, upgrade: bytes) -> None:
    load_example(database_url)
    server = servers.start()
    credentials = f"X-company-id: {COMPANY}\r\nX-apiKey: {KEY}\r\n".encode()
    # Without credentials: 401 in JSON, then the connection is closed.
    status, headers, body = parse(exchange(server, request("/api/v1/groups", upgrade)))
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["connection"] == "close"
    assert "upgrade" not in headers
    # An unknown route: the usual 404.
    status, _, body = parse(exchange(server, request("/ws", upgrade)))
    assert status == 404
    assert body == not_found_body(f"{server.base_url}/docs")
    # With credentials: the list, as without the header.
    answer = exchange(server, request("/api/v1/groups", upgrade, credentials))
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:200]
    assert b"\r\nconnection: close\r\n" in answer.lower()
    assert b'"name":"Acme"' in answer
    # Bytes sent after an upgrade request are not read as another request: one answer, then
    # the connection is closed (not left waiting for what the parser dropped).
    plain = b"GET /api/v1/groups HTTP/1.1\r\nHost: x\r\n\r\n"
    status, _, body = parse(exchange(server, request("/api/v1/groups", upgrade) + plain))
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)
    # The server goes on serving.
    r = httpx.get(f"{server.base_url}/api/v1/groups", headers=HEADERS)
    assert r.status_code == 200, r.text
    assert "connection" not in r.headers
    stop_cleanly(server)
    # Each request has its access line; uvicorn's warnings about the header are not logged.
    accessed = [
        line
        for line in map(json.loads, server.stderr.splitlines())
        if line["logger"] == "pathsessions.access" and line["path"] != "/health"
    ]
    assert [(a["path"], a["status"]) for a in accessed] == [
        ("/api/v1/groups", 401),
        ("/ws", 404),
        ("/api/v1/groups", 200),
        ("/api/v1/groups", 401),
        ("/api/v1/groups", 200),
    ]
    assert "pgrade" not in server.stderr
    assert "WebSocket" not in server.stderr


# --- In process ---------------------------------------------------------------------------------


async def call_websocket(
    app: App, extensions: dict[str, Any], first: str = "websocket.connect"
) -> list[MutableMapping[str, Any]]:
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/api/v1/groups",
        "raw_path": b"/api/v1/groups",
        "query_string": b"",
        "headers": [(b"host", b"x")],
        "subprotocols": [],
        "extensions": extensions,
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": first}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_a_websocket_call_is_answered_404_in_json(app: App) -> None:
    """From a server offering an HTTP answer to the handshake: our 404."""
    sent = await call_websocket(app, {"websocket.http.response": {}})
    body = not_found_body(app.settings.docs_url)
    assert sent == [
        {
            "type": "websocket.http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        },
        {"type": "websocket.http.response.body", "body": body},
    ]


async def test_a_websocket_call_is_closed_without_the_extension(app: App) -> None:
    sent = await call_websocket(app, {})
    assert sent == [{"type": "websocket.close", "code": 1000}]


async def test_a_websocket_call_already_gone_is_not_answered(app: App) -> None:
    sent = await call_websocket(app, {"websocket.http.response": {}}, "websocket.disconnect")
    assert sent == []
