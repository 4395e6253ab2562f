"""/docs: Swagger UI served from this server with all its assets, on each API's document,
under a Content-Security-Policy that allows nothing from elsewhere (it works offline)."""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from pathsessions.api import docs
from pathsessions.app import App
from pathsessions.settings import Settings
from support.sandbox import sandbox_settings

pytestmark = pytest.mark.backend_independent

TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}


class References(HTMLParser):
    """Every URL the page loads or links to, and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.inline_scripts = 0
        self.urls_attribute: str | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append((tag, values[name] or ""))
        if tag == "script":
            self._in_script = True
            if not values.get("src"):
                self.inline_scripts += 1
        if values.get("id") == "swagger-ui":
            self.urls_attribute = values.get("data-urls")
        for name, value in attrs:
            assert not name.startswith("on"), f"inline handler {name}={value}"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        assert not (self._in_script and data.strip()), "an inline script"


async def page(client: httpx.AsyncClient) -> tuple[httpx.Response, References]:
    r = await client.get("/docs")
    assert r.status_code == 200
    refs = References()
    refs.feed(r.text)
    return r, refs


async def test_the_page_is_swagger_ui_on_local_assets_only(client: httpx.AsyncClient) -> None:
    r, refs = await page(client)
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    scripts = [url for tag, url in refs.urls if tag == "script"]
    styles = [url for tag, url in refs.urls if tag == "link"]
    assert [urlsplit(u).path for u in scripts] == [
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui-standalone-preset.js",
        "/docs/assets/docs.js",
    ]
    assert "/docs/assets/swagger-ui.css" in [urlsplit(u).path for u in styles]
    assert refs.inline_scripts == 0
    for _, url in refs.urls:
        parts = urlsplit(url)
        # This server's own paths: no scheme, no host, nothing from a CDN.
        assert (parts.scheme, parts.netloc) == ("", ""), url
        assert parts.path.startswith("/"), url
    assert re.search(r"https?://", r.text) is None


async def test_every_asset_is_served_with_its_type_and_a_long_cache(
    client: httpx.AsyncClient,
) -> None:
    _, refs = await page(client)
    referenced = [url for _, url in refs.urls if url.startswith("/docs/assets/")]
    assert len(referenced) >= 5
    for url in referenced:
        r = await client.get(url, headers={"accept-encoding": "identity"})
        assert r.status_code == 200, url
        suffix = urlsplit(url).path.rpartition(".")[2]
        assert r.headers["content-type"] == TYPES["." + suffix], url
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "content-encoding" not in r.headers
        assert len(r.content) > 100
        # The URL names the versions, so that a year's cache is never stale.
        assert f"v={docs.VERSION}" in url
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in bundle.content


async def test_the_scripts_and_styles_load_nothing_from_elsewhere(
    client: httpx.AsyncClient,
) -> None:
    """The browser test is elsewhere; here: no script, style, import or font URL of another
    host in any asset (the schema URLs inside the bundle are names, never loaded)."""
    _, refs = await page(client)
    for _, url in refs.urls:
        if not urlsplit(url).path.endswith((".js", ".css")):
            continue
        text = (await client.get(url)).text
        assert re.search(r"""@import\s+(url\()?["']?https?:""", text) is None, url
        assert re.search(r"""url\(\s*["']?(https?:)?//""", text) is None, url
        assert re.search(r"""\.src\s*=\s*["']https?://""", text) is None, url
        assert re.search(r"""(src|href)=["']https?://(?!www\.w3\.org)""", text) is None, url
    ours = (await client.get("/docs/assets/docs.js")).text
    assert "validatorUrl: null" in ours  # never asks the online validator


async def test_assets_are_gzipped_for_a_client_that_takes_it(
    client: httpx.AsyncClient,
) -> None:
    plain = await client.get("/docs/assets/swagger-ui.css", headers={"accept-encoding": "br"})
    assert "content-encoding" not in plain.headers
    async with client.stream(
        "GET", "/docs/assets/swagger-ui.css", headers={"accept-encoding": "gzip, br"}
    ) as r:
        compressed = b"".join([chunk async for chunk in r.aiter_raw()])
        assert r.headers["content-encoding"] == "gzip"
        assert r.headers["vary"] == "accept-encoding"
    assert gzip.decompress(compressed) == plain.content
    assert len(compressed) < len(plain.content) // 3
    refused = await client.get("/docs/assets/docs.js", headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    png = await client.get("/docs/assets/favicon-32x32.png", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in png.headers


async def test_the_page_allows_scripts_from_this_server_only(client: httpx.AsyncClient) -> None:
    r, _ = await page(client)
    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in r.headers["content-security-policy"].split(";")
    }
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert all("http" not in " ".join(values) for values in policy.values())
    assert r.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "name", ["nope.js", "LICENSE", "swagger-editor-bundle.js", "..%2Fdocs.py", "docs.py", ""]
)
async def test_nothing_else_is_served_as_an_asset(
    client: httpx.AsyncClient, app: App, name: str
) -> None:
    r = await client.get(f"/docs/assets/{name}")
    assert r.status_code == 404
    assert r.json() == {"message": "Not Found", "documentation_url": app.settings.docs_url}


async def test_the_selector_lists_each_api_s_document(client: httpx.AsyncClient) -> None:
    _, refs = await page(client)
    assert refs.urls_attribute is not None
    urls: list[dict[str, Any]] = json.loads(refs.urls_attribute)
    assert urls == [
        {"url": "/openapi/v2.json", "name": "v2"},
        {"url": "/openapi/v1.json", "name": "v1"},
    ]
    for entry in urls:
        r = await client.get(entry["url"])
        assert r.status_code == 200
        assert r.json()["openapi"] == "3.1.0"


class TestWithTheSandbox:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return sandbox_settings(database_url)

    async def test_the_control_api_has_its_document_too(self, client: httpx.AsyncClient) -> None:
        _, refs = await page(client)
        assert refs.urls_attribute is not None
        assert '"name":"sandbox"' in refs.urls_attribute
        r = await client.get("/openapi/sandbox.json")
        assert r.status_code == 200
        paths = r.json()["paths"]
        assert "/__admin/companies/{companyId}/sessions.csv" in paths
        assert not any(path.startswith("/api/") for path in paths)
        csv_answer = paths["/__admin/companies/{companyId}/sessions.csv"]["get"]["responses"]
        assert csv_answer["200"]["content"]["text/csv"]["example"].startswith("sessionId,pathId,")
