"""A request served without credentials reads at most 8 KiB of body (docs/api.md, decision 73):
anyone may call the token route, so its body is capped at a few times the largest token
request, not at the 1 MiB an authenticated route may read. Through the real app.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx

from pathsessions.app import App
from pathsessions.web.pipeline import PUBLIC_MAX_BODY_BYTES
from support import JSON_TYPE, World

TOKEN_URL = "/api/v2/oauth2/token"
TOO_LARGE = {"error": "payload_too_large"}


def token_body(world: World, size: int) -> bytes:
    """A valid v1 token request, padded with a field the route ignores to `size` bytes."""
    fields = {
        "grant_type": "client_credentials",
        "client_id": world.company,
        "client_secret": world.key,
        "padding": "",
    }
    bare = len(json.dumps(fields).encode())
    fields["padding"] = "x" * (size - bare)
    body = json.dumps(fields).encode()
    assert len(body) == size
    return body


async def test_a_token_request_up_to_the_cap_is_read(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        TOKEN_URL,
        content=token_body(world, PUBLIC_MAX_BODY_BYTES),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "Bearer"


async def test_a_token_request_over_the_cap_is_413_in_v1_words(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        TOKEN_URL,
        content=token_body(world, PUBLIC_MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/json"},
    )
    assert (r.status_code, r.json()) == (413, TOO_LARGE)
    assert r.headers["content-type"] == JSON_TYPE
    assert r.headers["connection"] == "close"


async def test_a_chunked_token_request_is_cut_off_at_the_cap(
    client: httpx.AsyncClient, world: World
) -> None:
    body = token_body(world, PUBLIC_MAX_BODY_BYTES + 1)

    async def chunks() -> AsyncIterator[bytes]:  # no length: sent chunked
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    r = await client.post(TOKEN_URL, content=chunks())
    assert "content-length" not in r.request.headers
    assert (r.status_code, r.json()) == (413, TOO_LARGE)


async def test_a_declared_length_over_the_cap_is_refused_before_any_body_is_read(
    app: App, world: World
) -> None:
    """The client declares 9 KiB and sends nothing: answered at once, not after the body
    timeout, and nothing of the body is waited for."""
    received: list[str] = []
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append("receive")
        await asyncio.Event().wait()  # the body never comes
        raise AssertionError("unreachable")

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": TOKEN_URL,
        "raw_path": TOKEN_URL.encode(),
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(PUBLIC_MAX_BODY_BYTES + 1).encode()),
        ],
    }
    async with asyncio.timeout(2):
        await app(scope, receive, send)
    assert received == []
    assert sent[0]["status"] == 413
    assert json.loads(b"".join(m.get("body", b"") for m in sent[1:])) == TOO_LARGE


async def test_an_authenticated_route_still_reads_past_the_public_cap(
    client: httpx.AsyncClient, world: World
) -> None:
    """The cap is for requests without credentials: a key's requests keep the 1 MiB limit
    (this body is too large for the token route, and is read and judged here)."""
    body = json.dumps({"sessionName": "x" * (PUBLIC_MAX_BODY_BYTES * 2)}).encode()
    r = await client.post(
        world.sessions_url(),
        content=body,
        headers={**world.headers, "Content-Type": "application/json"},
    )
    # Read whole, and judged: the name is too long.
    assert (r.status_code, r.json()) == (400, {"error": "invalid_session_name"})
