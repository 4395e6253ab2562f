"""A webhook receiver for tests: a raw asyncio HTTP server on 127.0.0.1 that records every
request and answers the statuses it is told to (204 once they are used up), and the check of
a Standard Webhooks signature."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    # Statuses to answer, in order; then `default`.
    statuses: list[int] = field(default_factory=list)
    default: int = 204
    # Extra header lines to answer with (a `Location` for a redirect).
    extra: str = ""
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, port: int = 0) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.received

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status = self.statuses.pop(0) if self.statuses else self.default
            self.received.append(Received(path, headers, body))
            self._arrived.set()
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n"
                f"{self.extra}\r\n".encode()
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def signature(secret: str, received: Received) -> str:
    content = (
        f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.".encode()
        + received.body
    )
    mac = hmac.new(secret.encode(), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signed_by(secret: str, received: Received) -> bool:
    """Whether one of the request's signatures is `secret`'s (Standard Webhooks)."""
    given = received.headers["webhook-signature"].split(" ")
    return any(hmac.compare_digest(sig, signature(secret, received)) for sig in given)
