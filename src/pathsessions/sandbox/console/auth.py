"""Who is signed in to the console, and whether a form was sent by the console itself.

Signed in: a cookie holding an expiry, a random nonce and their HMAC under a key derived from
the admin token, so every worker process checks it alike with nothing stored, and changing the
token signs everyone out. Signing out clears the cookie in the browser; a copied cookie stays
valid until its expiry (`LIFETIME_MS`).

A form is accepted when its CSRF token (an HMAC of the session's nonce and the form's name,
so one per form and per sign-in) is right and its Origin (or, lacking one, its Referer) names
this server; the sign-in form, sent before any session, is bound to a short-lived cookie of
its own instead. The cookies are HttpOnly and SameSite=Strict, Secure when the request came
over https.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from ...web.asgi import Request

COOKIE = "pathsessions_console"
SIGN_IN_COOKIE = "pathsessions_console_sign_in"
COOKIE_PATH = "/__admin/console"
LIFETIME_MS = 8 * 3600 * 1000
SIGN_IN_LIFETIME_S = 3600


class Keys:
    def __init__(self, admin_token: str) -> None:
        self._token = admin_token.encode()
        self._key = hmac.new(self._token, b"pathsessions console", hashlib.sha256).digest()

    def token_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self._token)

    def _mac(self, *parts: str) -> str:
        return hmac.new(self._key, "|".join(parts).encode(), hashlib.sha256).hexdigest()

    def new_session(self, now_ms: int) -> str:
        expires = str(now_ms + LIFETIME_MS)
        nonce = secrets.token_urlsafe(18)
        return f"{expires}.{nonce}.{self._mac('session', expires, nonce)}"

    def session_nonce(self, value: str | None, now_ms: int) -> str | None:
        """The nonce of a valid, unexpired session cookie; None otherwise."""
        if not value or value.count(".") != 2:
            return None
        expires, nonce, mac = value.split(".")
        if not _same(mac, self._mac("session", expires, nonce)):
            return None
        if not expires.isdigit() or int(expires) <= now_ms:
            return None
        return nonce

    def csrf(self, nonce: str, form: str) -> str:
        return self._mac("csrf", nonce, form)

    def csrf_matches(self, nonce: str, form: str, given: str | None) -> bool:
        return given is not None and _same(given, self.csrf(nonce, form))


def _same(given: str, expected: str) -> bool:
    # As bytes: compare_digest refuses a str with characters outside ASCII, which a forged
    # cookie or form may well hold.
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


def cookies(request: Request) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in (request.header(b"cookie") or "").split(";"):
        name, equals, value = part.strip().partition("=")
        if equals:
            found.setdefault(name, value)
    return found


def same_origin(request: Request) -> bool:
    """The request's Origin (else its Referer) names the host it was sent to. Compared on host
    and port only: behind a proxy that ends TLS the server may see http for an https page."""
    host = (request.header(b"host") or "").lower()
    origin = request.header(b"origin")
    if origin is None or origin == "null":
        origin = request.header(b"referer")
    if not origin or not host:
        return False
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        return False
    return netloc == host


def set_cookie(name: str, value: str, max_age_s: int, secure: bool) -> tuple[bytes, bytes]:
    flags = f"Path={COOKIE_PATH}; Max-Age={max_age_s}; HttpOnly; SameSite=Strict"
    if secure:
        flags += "; Secure"
    return b"set-cookie", f"{name}={value}; {flags}".encode()
