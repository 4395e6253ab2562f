"""The request journal: what each API request sent and was answered, credentials redacted.

Redaction, wherever a credential can appear: the `apiKey` query parameter (and
`client_secret`, `access_token` there too), the `X-apiKey`, `Authorization` and `Cookie`
headers, and `client_secret` and `access_token` in bodies and answers, JSON or form. Bodies
are redacted whole, then cut at `MAX_BODY` bytes: text (lenient about a cut) is matched, not
parsed, so a cut answer is redacted too.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

import msgspec

from ..core.values import format_date
from ..storage.database import Row
from ..web.accesslog import REDACTED

MAX_BODY = 64 * 1024

SECRET_HEADERS = frozenset({b"x-apikey", b"authorization", b"cookie"})
SECRET_PARAMETERS = frozenset({"apikey", "client_secret", "access_token"})
_JSON_SECRET = re.compile(r'("(?:client_secret|access_token)"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|\\?$)')
_FORM_SECRET = re.compile(r"((?:^|&)(?:client_secret|access_token)=)[^&]*")

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def redact_query(query_string: bytes) -> str:
    if not query_string:
        return ""
    parts = query_string.decode("latin-1").split("&")
    for i, part in enumerate(parts):
        name, equals, _ = part.partition("=")
        if equals and unquote_plus(name, errors="replace").lower() in SECRET_PARAMETERS:
            parts[i] = f"{name}={REDACTED}"
    return "&".join(parts)


def redact_headers(headers: dict[bytes, bytes]) -> str:
    return _encode(
        {
            name.decode("latin-1"): REDACTED if name in SECRET_HEADERS else value.decode("latin-1")
            for name, value in headers.items()
        }
    ).decode()


def redact_body(raw: bytes) -> tuple[str | None, bool]:
    """The body as text with its secrets redacted, cut at `MAX_BODY` bytes; and whether cut."""
    if not raw:
        return None, False
    text = raw.decode("utf-8", errors="replace")
    if "client_secret" in text or "access_token" in text:  # the rare body to redact
        text = _FORM_SECRET.sub(rf"\g<1>{REDACTED}", _JSON_SECRET.sub(rf'\g<1>"{REDACTED}"', text))
    encoded = text.encode()
    if len(encoded) <= MAX_BODY:
        return text, False
    return encoded[:MAX_BODY].decode("utf-8", errors="ignore"), True


def entry_view(row: Row) -> dict[str, Any]:
    """An entry as the control API answers it (columns in `storage.sandbox.JOURNAL_COLUMNS`
    order)."""
    (
        entry_id,
        at,
        company_id,
        method,
        path,
        query,
        headers,
        body,
        body_truncated,
        status,
        response_body,
        response_truncated,
        duration_ms,
        operation,
        fault_id,
    ) = row
    view: dict[str, Any] = {
        "id": int(entry_id),
        "at": format_date(int(at)),
        "method": method,
        "path": path,
        "query": query,
        "headers": _decode(headers),
        "body": body,
        "status": status,
        "responseBody": response_body,
        "durationMs": round(float(duration_ms), 3),
        "companyId": company_id,
        "operation": operation,
    }
    if fault_id is not None:
        view["fault"] = fault_id
    if body_truncated:
        view["bodyTruncated"] = True
    if response_truncated:
        view["responseBodyTruncated"] = True
    return view
