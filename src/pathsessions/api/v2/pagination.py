"""Pages of a list: a bare JSON array, ascending `_id`, and `Link: <URL>; rel="next"` while
another page exists.

The URL is the request's own scheme, `Host` and path with one parameter, `next=<token>`. The
token carries the list's operation id, the company, the filters and the last id answered,
signed with an HMAC under a key derived from the token secret: a token altered, or presented
to another list or by another company, is `badRequest`. With `next`, every other parameter is
ignored: the token already holds the filters.

An endpoint declares a `Listing` (operation id, page size, filters); its handler calls
`listing.read(...)` for the `ListQuery` to hand the core, then `.answer(page, item)`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import msgspec

from ...core.listing import Condition, ListQuery, Page
from ...core.model import Client
from ...web.asgi import Request, Response
from ..context import Context
from . import filters
from .errors import field_error

T = TypeVar("T")

NEXT = "next"
# A Host header is echoed into the Link URL only if it looks like a host (and port).
_HOST = re.compile(r"[A-Za-z0-9.\-]+(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_encode = msgspec.json.Encoder().encode


class _Token(msgspec.Struct, frozen=True, array_like=True):
    operation: str
    company: str
    conditions: tuple[Condition, ...]
    after: str


_decode_token = msgspec.json.Decoder(_Token).decode


def _key(secret: bytes) -> bytes:
    # Its own key, so that no page token can ever pass for a bearer token or the reverse.
    return hmac.new(secret, b"pathsessions v2 page token", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(secret: bytes, token: _Token) -> str:
    payload = _encode(token)
    mac = hmac.new(_key(secret), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def _open(secret: bytes, text: str, operation: str, company: str) -> _Token:
    invalid = field_error(NEXT, "is not a page token of this list")
    # Checked strictly: the decoder would skip characters outside the alphabet.
    if _TOKEN.fullmatch(text) is None:
        raise invalid
    payload_text, _, mac_text = text.partition(".")
    try:
        payload, mac = _unb64(payload_text), _unb64(mac_text)
    except ValueError:
        raise invalid from None
    expected = hmac.new(_key(secret), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise invalid
    try:
        token = _decode_token(payload)
    except msgspec.DecodeError:
        raise invalid from None
    if token.operation != operation or token.company != company:
        raise invalid
    return token


def _next_url(request: Request, token: str) -> str:
    host = request.header(b"host") or ""
    if _HOST.fullmatch(host) is None:
        host = "localhost"
    scheme = request.scheme if request.scheme in ("http", "https") else "http"
    return f"{scheme}://{host}{quote(request.path)}?{NEXT}={token}"


@dataclass(frozen=True)
class Asked:
    """One request for a page: the query to hand the core, and how to answer its page."""

    query: ListQuery
    listing: Listing
    company: str
    secret: bytes
    request: Request

    def answer(self, page: Page[T], item: Callable[[T], Any]) -> Response:
        response = Response.json([item(record) for record in page.items])
        if page.next_after is not None:
            token = _Token(
                self.listing.operation_id, self.company, self.query.conditions, page.next_after
            )
            url = _next_url(self.request, seal(self.secret, token))
            response.headers = [(b"link", f'<{url}>; rel="next"'.encode())]
        return response


@dataclass(frozen=True)
class Listing:
    """A paginated list: its operation id (which page tokens are bound to), its page size, and
    the filters it takes (filters.py)."""

    operation_id: str
    page_size: int
    filters: Mapping[str, filters.Kind] = field(default_factory=dict)

    def read(self, request: Request, ctx: Context, client: Client) -> Asked:
        params = filters.pairs(request.query_string)
        company = client.company.id
        token = next((value for key, value in params if key == NEXT), None)
        if token is not None:
            opened = _open(ctx.token_secret, token, self.operation_id, company)
            query = ListQuery(opened.conditions, opened.after, self.page_size)
        else:
            query = ListQuery(filters.parse(params, self.filters), None, self.page_size)
        return Asked(query, self, company, ctx.token_secret, request)
