"""What every API version answers alike, whatever its own words for errors: the unknown
route's body (the real service's two keys, not an error envelope) and when a client should ask
again after a 503 or a 429."""

from __future__ import annotations

import msgspec

from ..web.asgi import Response
from ..web.ratelimit import retry_after

# `Retry-After` of a 503, in seconds: about the time a restarted database or a failed-over
# PostgreSQL takes to answer again, short enough that clients resume soon after it does.
RETRY_UNAVAILABLE = b"5"


def not_found_body(documentation_url: str) -> bytes:
    """The unknown-route answer: the real service's two keys, not an `error` member."""
    return msgspec.json.encode({"message": "Not Found", "documentation_url": documentation_url})


def refusal(status: int, body: bytes) -> Response:
    """A documented failure's answer; a dependency being down says when to ask again rather
    than let clients hammer."""
    if status == 503:
        return Response(status, body, headers=[(b"retry-after", RETRY_UNAVAILABLE)])
    return Response(status, body)


def rate_limited(status: int, body: bytes, wait: float) -> Response:
    return Response(status, body, headers=[(b"retry-after", retry_after(wait))])
