"""Single requests to our server outside the timed runs: probes, tokens, following links."""

from __future__ import annotations

import http.client
import json
import re
import time
from typing import Any

from .common import BenchError
from .seed import Credential

# One probe request (outside the timed runs) may read a whole company's sessions.
PROBE_TIMEOUT = 120.0


def request(
    port: int, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, http.client.HTTPMessage, bytes, float]:
    """One request to 127.0.0.1 outside the timed runs: status, headers, whole body, seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT)
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers = {**headers, "Content-Type": "application/json"}
    started = time.monotonic()
    try:
        conn.request(method, path, body=payload, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
    except OSError as error:
        raise BenchError(f"{method} {path} failed: {error}") from None
    finally:
        conn.close()
    return answer.status, answer.headers, data, time.monotonic() - started


def v2_request(
    port: int, method: str, path: str, token: str | None = None, body: Any = None
) -> tuple[int, http.client.HTTPMessage, bytes, float]:
    headers = {"360-api-version": "v2.0"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return request(port, method, path, headers, body)


def v2_token(port: int, credential: Credential) -> str:
    status, _, body, _ = v2_request(
        port,
        "POST",
        "/api/v2/oauth2/token",
        body={
            "grant_type": "client_credentials",
            "client_id": credential.client_id,
            "client_secret": credential.client_secret,
        },
    )
    if status != 200:
        raise BenchError(f"no v2 token: status {status}: {body[:300]!r}")
    return str(json.loads(body)["access_token"])


_NEXT = re.compile(r'<https?://[^/>]+(/[^>]*)>;\s*rel="next"')


def next_page(headers: http.client.HTTPMessage) -> str | None:
    """The path and query of the `Link: <…>; rel="next"` URL, if there is one."""
    match = _NEXT.search(headers.get("link") or "")
    return None if match is None else match.group(1)
