"""/openapi.json describes exactly the routes the app serves, with their error codes.

Through the real app: what the document says is compared with the route list, the error table,
and what the server actually answers.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

import pathsessions
from pathsessions.api.v1.errors import STATUS
from pathsessions.api.v1.openapi import OPERATIONS
from pathsessions.api.v1.routes import ROUTES
from pathsessions.app import ROUTES as ALL_ROUTES
from pathsessions.app import App

SAMPLE_ID = "0123456789abcdef01234567"


async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200, r.text
    document: dict[str, Any] = r.json()
    return document


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(path, METHOD) -> operation object."""
    return {
        (path, method.upper()): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def concrete(path: str) -> str:
    """A request path for a route path: every `{param}` filled with a valid id."""
    return re.sub(r"\{\w+\}", SAMPLE_ID, path)


def documented_codes(operation: dict[str, Any], status: int) -> set[str]:
    response = operation["responses"].get(str(status))
    if response is None:
        return set()
    examples = response.get("content", {}).get("application/json", {}).get("examples", {})
    return set(examples)


@pytest.mark.backend_independent
@pytest.mark.backend_independent
async def test_openapi_is_version_3_1(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["openapi"] == "3.1.0"


async def test_openapi_names_the_package_version(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.json()["info"]["version"] == pathsessions.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", pathsessions.__version__)


async def test_openapi_needs_no_credentials(client: httpx.AsyncClient, app: App) -> None:
    for path in ("/openapi.json", "/docs", "/openapi.json/"):
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text)
    document = await openapi(client)
    for route in ALL_ROUTES:
        operation = operations(document)[(route.path, route.method)]
        assert ("security" in operation) == route.authenticated, route.operation_id


@pytest.mark.backend_independent
@pytest.mark.backend_independent
async def test_every_route_is_described_and_nothing_else(
    client: httpx.AsyncClient, app: App
) -> None:
    served = {(route.path, route.method): route.operation_id for route in ALL_ROUTES}
    described = {key: op["operationId"] for key, op in operations(await openapi(client)).items()}
    assert described == served
    for path, method in described:
        matched = app.pipeline.router.match(method, concrete(path))
        assert matched is not None, f"{method} {path} is described but not served"
        assert matched[0].path == path
    assert set(OPERATIONS) == {route.operation_id for route in ROUTES}


async def test_error_responses_list_every_code_with_its_status(
    client: httpx.AsyncClient, app: App
) -> None:
    document = operations(await openapi(client))
    for route in ROUTES:
        operation = document[(route.path, route.method)]
        expected = OPERATIONS[route.operation_id]["errors"]
        for code in expected:
            status = str(STATUS[code])
            assert status in operation["responses"], (route.operation_id, code)
            example = operation["responses"][status]["content"]["application/json"]["examples"]
            assert example.get(code) == {"value": {"error": code}}, (route.operation_id, code)
        listed = {
            code
            for response in operation["responses"].values()
            for code in response.get("content", {}).get("application/json", {}).get("examples", {})
        }
        # The body limit is checked before routing: every route can answer 413; the rate limit
        # right after the credentials: every authenticated route can answer 429.
        limited = ["tooManyRequests"] if route.authenticated else []
        assert listed == {*expected, "payload_too_large", *limited}, route.operation_id
        if route.authenticated:
            retry_after = operation["responses"]["429"]["headers"]["Retry-After"]
            assert retry_after["required"] is True, route.operation_id
        # Every answer can also be the unexpected-fault one.
        assert "500" in operation["responses"], route.operation_id


@pytest.mark.backend_independent
async def test_every_route_documents_the_body_limit_it_answers(
    client: httpx.AsyncClient, app: App
) -> None:
    document = operations(await openapi(client))
    oversized = b"x" * (app.settings.max_body_bytes + 1)
    missing = []
    for route in ROUTES:
        r = await client.request(route.method, concrete(route.path), content=oversized)
        assert r.status_code == 413
        assert r.json() == {"error": "payload_too_large"}
        if "payload_too_large" not in documented_codes(document[(route.path, route.method)], 413):
            missing.append(route.operation_id)
    assert not missing, f"413 payload_too_large is not documented for {missing}"


async def test_authenticated_routes_document_the_401_they_answer(
    client: httpx.AsyncClient, app: App
) -> None:
    document = operations(await openapi(client))
    for route in ROUTES:
        if not route.authenticated:
            continue
        r = await client.request(route.method, concrete(route.path))
        assert r.status_code == 401, (route.operation_id, r.text)
        assert r.json() == {"error": "unauthorized"}
        operation = document[(route.path, route.method)]
        assert "unauthorized" in documented_codes(operation, 401), route.operation_id


@pytest.mark.backend_independent
@pytest.mark.backend_independent
async def test_unknown_route_answer_is_described(client: httpx.AsyncClient, app: App) -> None:
    document = await openapi(client)
    not_found = document["components"]["schemas"]["NotFound"]["properties"]
    r = await client.get("/api/v1/no-such-route")
    assert r.status_code == 404
    assert r.json() == {
        "message": not_found["message"]["const"],
        "documentation_url": not_found["documentation_url"]["const"],
    }
    assert r.json()["documentation_url"] == app.settings.docs_url


async def test_every_answer_with_a_body_has_an_example(client: httpx.AsyncClient) -> None:
    """Errors from the error table, successes made from their schemas: the examples /docs
    shows, in the whole document and in each part."""
    documents = [await openapi(client)]
    for part in ("v1", "v2"):
        r = await client.get(f"/openapi/{part}.json")
        assert r.status_code == 200, r.text
        documents.append(r.json())
    checked = 0
    for document in documents:
        for (path, method), operation in operations(document).items():
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    has = "example" in content or bool(content.get("examples"))
                    assert has, (method, path, status, media)
                    checked += 1
    assert checked > 500


async def test_every_error_example_is_the_error_table_s_own_body(
    client: httpx.AsyncClient,
) -> None:
    document = operations(await openapi(client))
    for route in ROUTES:
        operation = document[(route.path, route.method)]
        for status, response in operation["responses"].items():
            examples = response.get("content", {}).get("application/json", {}).get("examples")
            for code, example in (examples or {}).items():
                assert STATUS[code] == int(status), (route.operation_id, code)
                assert example == {"value": {"error": code}}
        fault = operation["responses"]["500"]["content"]["application/json"]["example"]
        assert re.fullmatch(r"an error occurred: [0-9a-f]{32}", fault["error"])


async def test_a_success_example_is_made_from_its_schema(client: httpx.AsyncClient) -> None:
    document = operations(await openapi(client))
    listed = document[("/api/v1/paths/sessions", "GET")]["responses"]["200"]["content"]
    [item] = listed["application/json"]["example"]
    assert re.fullmatch(r"[0-9a-fA-F]{24}", item["sessionId"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item["startDate"])
    assert isinstance(item["instructorsMails"], list)
    health = document[("/health", "GET")]["responses"]["200"]["content"]["application/json"]
    assert health["example"] == {"status": "ok"}
    not_found = document[("/health", "GET")]["responses"]["404"]["content"]["application/json"]
    r = await client.get("/no-such-route")
    assert not_found["example"] == r.json()


async def test_each_api_has_its_own_document(client: httpx.AsyncClient, app: App) -> None:
    whole = operations(await openapi(client))
    v1 = operations((await client.get("/openapi/v1.json")).json())
    v2 = operations((await client.get("/openapi/v2.json")).json())
    service = {key for key in whole if not key[0].startswith("/api/")}
    assert {key for key in v1 if key[0].startswith("/api/")} == {
        key for key in whole if key[0].startswith("/api/v1/")
    }
    assert {key for key in v2 if key[0].startswith("/api/")} == {
        key for key in whole if key[0].startswith("/api/v2/")
    }
    assert service <= set(v1)
    assert service <= set(v2)
    assert ("/api/v2/oauth2/token", "POST") in v2
    # An operation reads the same in its part as in the whole document.
    for key, operation in v1.items():
        assert operation == whole[key], key
    for name in ("sandbox", "v3", "openapi", ""):  # the control API is off here
        r = await client.get(f"/openapi/{name}.json")
        assert r.status_code == 404
        assert r.json() == {"message": "Not Found", "documentation_url": app.settings.docs_url}
