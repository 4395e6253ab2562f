"""The console's answers: pages rendered from the templates beside this module (Jinja2,
autoescaped), redirects, its static files, and the headers every page carries."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jinja2
from markupsafe import Markup

from ...api.context import Context
from ...web.asgi import HTML, Request, Response
from .auth import COOKIE, SIGN_IN_COOKIE, SIGN_IN_LIFETIME_S, Keys, cookies, same_origin, set_cookie

PREFIX = "/__admin/console"
HERE = Path(__file__).resolve().parent

# Everything a page uses is served by the console itself: no inline script or style, nothing
# from elsewhere, never framed.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
        b" connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]

STATIC_TYPES = {
    ".css": b"text/css; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".svg": b"image/svg+xml",
}
STATIC = {
    path.name: (path.read_bytes(), STATIC_TYPES[path.suffix])
    for path in (HERE / "static").iterdir()
    if path.suffix in STATIC_TYPES
}


def url(where: str, /, **query: Any) -> str:
    """A console URL; query parameters that are None or empty are left out."""
    given = {k: v for k, v in query.items() if v is not None and v != ""}
    return PREFIX + where + ("?" + urlencode(given) if given else "")


def when(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def shown_date(iso: str | None) -> str:
    """An API date-time (`…T09:00:00.000Z`) as the console shows dates."""
    if not iso:
        return "—"
    return iso.replace("T", " ").replace(".000Z", " UTC").replace("Z", " UTC")


def pretty(text: str | None) -> str:
    """A body as text: JSON indented, anything else as it is."""
    if text is None or text == "":
        return "(empty)"
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def duration(ms: int) -> str:
    sign = "-" if ms < 0 else "+"
    rest = abs(ms)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    # Milliseconds only matter for a short offset.
    if (rest and abs(ms) < 60_000) or not parts:
        parts.append(f"{rest}ms")
    return sign + " ".join(parts)


def http_status(status: int | None) -> Markup:
    """A status as text and a sign, never by colour alone."""
    if status is None:
        return Markup('<span class="status status-none">— none</span>')
    kind, sign = ("ok", "✓") if status < 400 else ("warn", "!") if status < 500 else ("bad", "✗")
    return Markup(
        '<span class="status status-{}"><span aria-hidden="true">{}</span> {}</span>'
    ).format(kind, sign, status)


STATE_SIGNS = {
    "delivered": ("ok", "✓"),
    "published": ("ok", "✓"),
    "active": ("ok", "✓"),
    "successful": ("ok", "✓"),
    "onTime": ("ok", "▶"),
    "failed": ("bad", "✗"),
    "unsuccessful": ("bad", "✗"),
    "late": ("warn", "!"),
    "toRetake": ("warn", "↻"),
    "awaitingCorrection": ("warn", "…"),
    "pending": ("warn", "…"),
    "sending": ("warn", "↻"),
    "archived": ("none", "▪"),
    "inactive": ("none", "▪"),
    "notYetStarted": ("none", "○"),
    "sessionNotOpened": ("none", "○"),
}


def state(value: str | None) -> Markup:
    kind, sign = STATE_SIGNS.get(value or "", ("none", "•"))
    return Markup(
        '<span class="status status-{}"><span aria-hidden="true">{}</span> {}</span>'
    ).format(kind, sign, value or "—")


ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals["url"] = url
ENV.filters.update(
    when=when,
    shown_date=shown_date,
    pretty=pretty,
    duration=duration,
    http=http_status,
    state=state,
)


def html(status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> Response:
    return Response(status, text.encode(), HTML, headers=[*SECURITY_HEADERS, *(headers or [])])


def redirect(location: str, headers: list[tuple[bytes, bytes]] | None = None) -> Response:
    return Response(303, b"", HTML, headers=[(b"location", location.encode()), *(headers or [])])


def error_page(status: int, message: str) -> Response:
    return html(
        status,
        ENV.get_template("error.html").render(signed_in=False, message=message, status=status),
    )


def sign_in_redirect() -> Response:
    return redirect(url("/"))


@dataclass
class Visit:
    """One request to the console: who is signed in (the session's nonce, or None)."""

    request: Request
    ctx: Context
    keys: Keys
    nonce: str | None

    @classmethod
    def of(cls, request: Request, ctx: Context, keys: Keys) -> Visit:
        nonce = keys.session_nonce(cookies(request).get(COOKIE), ctx.clock.now_ms())
        return cls(request, ctx, keys, nonce)

    @property
    def secure(self) -> bool:
        return self.request.scheme == "https"

    def csrf(self, form: str) -> str:
        assert self.nonce is not None
        return self.keys.csrf(self.nonce, form)

    def form(self) -> dict[str, str]:
        fields: dict[str, str] = {}
        for name, value in parse_qsl(self.request.body.decode("utf-8", "replace"), True):
            fields.setdefault(name, value)
        return fields

    def accepted(self, form: str) -> dict[str, str] | None:
        """The form's fields if it came from the console's own page `form`; None otherwise."""
        fields = self.form()
        if self.nonce is None or not same_origin(self.request):
            return None
        if not self.keys.csrf_matches(self.nonce, form, fields.get("csrf")):
            return None
        return fields

    def page(self, template: str, status: int = 200, **values: Any) -> Response:
        text = ENV.get_template(template).render(
            signed_in=True,
            csrf=self.csrf,
            query=self.request.query,
            nav=NAV.get(template, ""),
            **values,
        )
        return html(status, text)

    def sign_in_page(self, status: int = 200, message: str | None = None) -> Response:
        """The sign-in form, bound to a cookie of its own (there is no session yet)."""
        pre = cookies(self.request).get(SIGN_IN_COOKIE)
        headers = []
        if not pre or len(pre) > 64:
            pre = secrets.token_urlsafe(18)
            headers.append(set_cookie(SIGN_IN_COOKIE, pre, SIGN_IN_LIFETIME_S, self.secure))
        text = ENV.get_template("sign_in.html").render(
            signed_in=False, csrf_token=self.keys.csrf(pre, "sign-in"), message=message
        )
        return html(status, text, headers)


# The navigation link each page is under.
NAV = {
    "companies.html": "Companies",
    "company.html": "Companies",
    "sessions.html": "Companies",
    "session.html": "Companies",
    "journal.html": "Journal",
    "journal_entry.html": "Journal",
    "faults.html": "Faults",
    "clock.html": "Clock",
    "webhooks.html": "Webhooks",
    "deliveries.html": "Webhooks",
}

REFUSED = (
    "This form was not sent from a page of this console (its security token or its origin is"
    " missing or wrong), so nothing was changed. Reload the page and send it again."
)


def refused() -> Response:
    return error_page(403, REFUSED)
