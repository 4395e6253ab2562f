"""/docs: Swagger UI, served from this server (never a CDN), showing each API's part of the
OpenAPI description, one at a time with a selector.

Swagger UI's built files come from the `swagger-ui-py` package (its `static/` folder; nothing
else of it is imported); our start-up script is `static/docs.js`. Assets are answered from
memory, gzipped when the client takes it, under a URL that names their versions, so that they
can be cached for a year.
"""

from __future__ import annotations

import asyncio
import gzip
import html
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import msgspec

from .. import __version__

_OURS = Path(__file__).parent / "static"


def _swagger_ui() -> Path:
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


JS = b"text/javascript; charset=utf-8"
CSS = b"text/css; charset=utf-8"
PNG = b"image/png"

# Name -> (folder, content type): everything /docs/assets/ answers, and nothing else.
ASSETS: dict[str, tuple[Path | None, bytes]] = {
    "swagger-ui-bundle.js": (None, JS),
    "swagger-ui-standalone-preset.js": (None, JS),
    "swagger-ui.css": (None, CSS),
    "index.css": (None, CSS),
    "favicon-32x32.png": (None, PNG),
    "favicon-16x16.png": (None, PNG),
    "docs.js": (_OURS, JS),
}

# Changes whenever an asset can: it is in every asset URL, which is then never stale.
VERSION = f"{importlib.metadata.version('swagger-ui-py')}-{__version__}"

# One year, never revalidated: the URL changes with the version.
ASSET_CACHE = b"public, max-age=31536000, immutable"
PAGE_CACHE = b"no-cache"

# Scripts and styles from this server only, no inline script. Swagger UI sets inline style
# attributes (React), and draws a few images as data: URLs; "Try it out" calls this server.
CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    b" img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none';"
    b" form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    content_type: bytes


_loaded: dict[str, Asset] = {}


async def asset(name: str) -> Asset | None:
    """The asset of that name (None if there is none), read and compressed on first use, off
    the event loop: gzipping the bundle takes a tenth of a second."""
    if name not in ASSETS:
        return None
    found = _loaded.get(name)
    if found is None:
        found = _loaded[name] = await asyncio.to_thread(_load, name)
    return found


def _load(name: str) -> Asset:
    folder, content_type = ASSETS[name]
    body = ((folder or _swagger_ui()) / name).read_bytes()
    # Already compressed images are sent as they are.
    compressed = body if content_type == PNG else gzip.compress(body, 9, mtime=0)
    return Asset(body, compressed, content_type)


def asset_url(name: str) -> str:
    return f"/docs/assets/{name}?v={VERSION}"


def page(parts: list[str]) -> bytes:
    """The HTML page: Swagger UI on each of `parts`' documents (`/openapi/<part>.json`)."""
    urls = [{"url": f"/openapi/{part}.json", "name": part} for part in parts]
    # An attribute holds the list: JSON, HTML-escaped (the script reads it back unescaped).
    data = html.escape(msgspec.json.encode(urls).decode(), quote=True)
    e = html.escape
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>pathsessions API reference</title>"
        f'<link rel="icon" type="image/png" href="{e(asset_url("favicon-32x32.png"))}">'
        f'<link rel="stylesheet" href="{e(asset_url("swagger-ui.css"))}">'
        f'<link rel="stylesheet" href="{e(asset_url("index.css"))}">'
        "</head><body>"
        "<noscript>This page needs JavaScript. The description it shows is "
        '<a href="/openapi.json">/openapi.json</a>.</noscript>'
        f'<div id="swagger-ui" data-urls="{data}"></div>'
        f'<script src="{e(asset_url("swagger-ui-bundle.js"))}"></script>'
        f'<script src="{e(asset_url("swagger-ui-standalone-preset.js"))}"></script>'
        f'<script src="{e(asset_url("docs.js"))}"></script>'
        "</body></html>\n"
    ).encode()
