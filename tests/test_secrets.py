"""Secrets: keys compared in constant time, never written to a log, and a server that will
not start without the secret that signs its tokens."""

from __future__ import annotations

import base64
import hmac
import json
import re
from dataclasses import replace
from urllib.parse import quote, quote_plus, urlencode

import httpx
import pytest

from pathsessions.app import create_app
from pathsessions.core.keys import hash_key, matching_key
from pathsessions.settings import Settings, SettingsError, load_settings
from support.realserver import (
    COMPANY,
    HEADERS,
    KEY,
    PATH,
    QUERY,
    SESSIONS,
    Servers,
    body,
    cli,
    created_id,
    load_example,
    stop_cleanly,
)
from support.world import TOKEN_SECRET

# --- Key comparison ---------------------------------------------------------------------------


def test_matching_key_names_the_key_presented() -> None:
    active = [("k1", hash_key("one")), ("k2", hash_key("two")), ("k3", hash_key("three"))]
    assert [matching_key(k, active) for k in ("one", "two", "three")] == ["k1", "k2", "k3"]
    assert matching_key("four", active) is None
    assert matching_key("one", []) is None
    assert matching_key(hash_key("one"), active) is None  # the hash is not the key


@pytest.mark.parametrize("position", [0, 12, 24])
def test_every_active_key_is_compared_in_full_wherever_the_match_is(
    position: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    active = [(f"k{i}", hash_key(f"key {i}")) for i in range(25)]
    compared: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    assert matching_key(f"key {position}", active) == f"k{position}"
    assert compared == [h.encode() for _, h in active]


# --- The token secret -------------------------------------------------------------------------


def test_a_short_token_secret_is_refused() -> None:
    with pytest.raises(SettingsError, match="at least 32 characters"):
        load_settings({"PATHSESSIONS_TOKEN_SECRET": "x" * 31})
    assert load_settings({"PATHSESSIONS_TOKEN_SECRET": "x" * 32}).token_secret == "x" * 32


@pytest.mark.backend_independent
async def test_the_application_will_not_start_without_a_token_secret(settings: Settings) -> None:
    app = create_app(replace(settings, token_secret=""))
    with pytest.raises(SettingsError, match="PATHSESSIONS_TOKEN_SECRET is not set"):
        await app.startup()


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "error: PATHSESSIONS_TOKEN_SECRET is not set: a server needs it to sign bearer"),
        ("too-short", "error: PATHSESSIONS_TOKEN_SECRET must be at least 32 characters"),
    ],
)
def test_serve_refuses_to_start_without_a_token_secret(
    database_url: str, servers: Servers, secret: str, message: str
) -> None:
    server = servers.start(ready=False, env={"PATHSESSIONS_TOKEN_SECRET": secret})
    assert server.process.wait(timeout=30) == 1
    assert server.stderr.startswith(message), server.stderr
    assert "Traceback" not in server.stderr
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.base_url}/health", timeout=1.0)


# --- Logs -------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_no_key_or_token_reaches_the_logs(database_url: str, servers: Servers) -> None:
    """Every way of presenting a credential, right or wrong; then the logs are searched."""
    load_example(database_url)
    server = servers.start(env={"PATHSESSIONS_LOG_LEVEL": "DEBUG"})
    wrong_key = "wrong-key-" + "z" * 20
    answers: list[httpx.Response] = []
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        grant = {"grant_type": "client_credentials", "client_id": COMPANY, "client_secret": KEY}
        token = http.post("/api/v2/oauth2/token", json=grant).json()["access_token"]
        answers += [
            http.post("/api/v2/oauth2/token", data=grant),
            http.post("/api/v2/oauth2/token", json={**grant, "client_secret": wrong_key}),
            http.post("/api/v2/oauth2/token", params=grant, json=grant),
            http.post(SESSIONS, params=QUERY, json=body("By query")),
            http.post(SESSIONS, headers=HEADERS, json=body("By header")),
            http.post(
                SESSIONS, headers={"Authorization": f"Bearer {token}"}, json=body("By token")
            ),
            http.get("/api/v1/groups", params={**QUERY, "apiKey": wrong_key}),
            http.get("/api/v1/groups", headers={**HEADERS, "X-apiKey": wrong_key}),
            http.get("/api/v1/groups", headers={"Authorization": f"Bearer {token}x"}),
            # Spellings a careless redaction would miss.
            http.get(f"/api/v1/groups?company={COMPANY}&api%4Bey={KEY}"),
            http.get(f"/api/v1/groups?{urlencode(QUERY)}&apiKey={wrong_key}"),
            http.get(f"/api/v1/paths/{PATH}?company={COMPANY}&apiKey={KEY}#fragment"),
            http.get(f"/no/such/route?apiKey={KEY}&access_token={token}"),
        ]
    created_id(answers[3])
    assert [r.status_code for r in answers] == [
        200, 401, 200, 200, 200, 200, 401, 401, 401, 200, 200, 200, 404
    ]  # fmt: skip
    stop_cleanly(server)
    logs = server.stdout + server.stderr
    for secret in (KEY, wrong_key, token, hash_key(KEY)):
        assert secret not in logs
    access = [
        json.loads(line)
        for line in server.stderr.splitlines()
        if '"logger":"pathsessions.access"' in line and '"path":"/health"' not in line
    ]
    assert len(access) == len(answers) + 1  # and the first token request
    assert all("REDACTED" in line["query"] for line in access if "ey=" in line["query"])


def _spellings(secret: str) -> list[str]:
    """How a secret could be written into a log: as is, percent-encoded, and in base64."""
    raw = secret.encode()
    return [
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        *(enc(raw).decode() for enc in (base64.b64encode, base64.urlsafe_b64encode)),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


# Names a client might put a credential under, mangled past any list of secret names.
MANGLED_NAMES = [
    "apiKey[]",
    ";apiKey",
    "x;apiKey",
    "api+Key",
    "api%2BKey",
    "%E2%80%8BapiKey",
    "\u200bapiKey",
    "APIKEY ",
    "api_key",
    "key",
    "secret",
    "client%5Fsecret",
    "Authorization",
    "bearer",
    "Company",
]


@pytest.mark.e2e
def test_no_secret_we_issue_reaches_the_logs_under_any_name_or_place(
    database_url: str, servers: Servers
) -> None:
    """A generated API key, a v2 client secret, the bearer tokens made from them and the token
    secret, under a dozen mangled names in the query string, as names themselves, in the path
    and in other headers; then every line the server wrote is searched for each, as is,
    percent-encoded and in base64."""
    load_example(database_url)
    created = cli(database_url, "key", "create", "--company", COMPANY, "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)["apiKey"]
    made = cli(
        database_url,
        *("credential", "create", "--company", COMPANY, "--name", "logs"),
        *("--scope", "paths:read", "--json"),
    )
    assert made.returncode == 0, made.stderr
    credential = json.loads(made.stdout)
    server = servers.start(env={"PATHSESSIONS_LOG_LEVEL": "DEBUG"})
    statuses: list[int] = []
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        grant = {"grant_type": "client_credentials", "client_id": COMPANY, "client_secret": key}
        token = http.post("/api/v2/oauth2/token", json=grant).json()["access_token"]
        v2_grant = {
            "grant_type": "client_credentials",
            "client_id": credential["clientId"],
            "client_secret": credential["clientSecret"],
        }
        v2_token = http.post("/api/v2/oauth2/token", json=v2_grant).json()["access_token"]
        statuses.append(
            http.get("/api/v1/groups", headers={"Authorization": f"Bearer {v2_token}"}).status_code
        )
        statuses.append(http.post("/api/v2/oauth2/token", data=v2_grant).status_code)
        statuses.append(
            http.post("/api/v2/oauth2/token", json={**v2_grant, "client_secret": key}).status_code
        )
        secrets = [key, token, credential["clientSecret"], v2_token, TOKEN_SECRET]
        for secret in secrets:
            for value in (quote(secret, safe=""), secret):
                for name in MANGLED_NAMES:
                    query = f"company={COMPANY}&{name}={value}"
                    statuses.append(http.get(f"/api/v1/groups?{query}").status_code)
                    statuses.append(http.get(f"/no/such/route?{name}={value}").status_code)
                    statuses.append(
                        http.post(f"/api/v2/oauth2/token?{name}={value}", json=grant).status_code
                    )
                # The secret as a value of the parameters we read, and as a name.
                for query in (f"company={value}", f"{value}", f"{value}=1", f"apiKey{value}=1"):
                    statuses.append(http.get(f"/api/v1/groups?{query}").status_code)
            # In the path: as a route's parameter, and as a segment of no route.
            for path in (
                f"/api/v1/paths/{secret}/sessions",
                f"/api/v1/paths/sessions/{quote(secret, safe='')}",
                f"/api/v1/users/{secret}",
                f"/{secret}",
                f"/api/{secret}/x",
            ):
                statuses.append(http.get(path, headers=HEADERS).status_code)
            # In headers other than the credential headers (never logged).
            other_headers = {
                "X-Api-Key": secret,
                "Api-Key": secret,
                "X-Token": secret,
                "Cookie": f"session={secret}",
                "Proxy-Authorization": f"Bearer {secret}",
                "X-Forwarded-For": secret,
                "Referer": f"http://example.com/?apiKey={secret}",
                "User-Agent": secret,
            }
            statuses.append(http.get("/api/v1/groups", headers=other_headers).status_code)
            statuses.append(
                http.get("/api/v1/groups", headers={**HEADERS, **other_headers}).status_code
            )
    assert set(statuses) <= {200, 400, 401, 404}, statuses
    stop_cleanly(server)
    logs = server.stdout + server.stderr
    access = [line for line in logs.splitlines() if '"logger":"pathsessions.access"' in line]
    assert len(access) > len(statuses)  # every request was logged (and /health)
    for secret in secrets:
        for spelling in _spellings(secret):
            assert spelling not in logs, spelling


@pytest.mark.e2e
def test_every_log_line_is_json_and_every_request_has_one(
    database_url: str, servers: Servers
) -> None:
    load_example(database_url)
    server = servers.start("serve", "--workers", "2")
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        answers = [
            http.post(SESSIONS, headers=HEADERS, json=body("Logged")),
            http.get("/api/v1/paths/sessions", headers=HEADERS),
            http.get("/api/v1/paths/sessions/" + "0" * 24, headers=HEADERS),
            http.post(SESSIONS, json=body()),
            http.get("/nowhere"),
        ]
    stop_cleanly(server)
    lines = [json.loads(line) for line in server.stderr.splitlines()]
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    access = {
        line["request_id"]: line
        for line in lines
        if line["logger"] == "pathsessions.access" and line["path"] != "/health"
    }
    assert sorted(access) == sorted(r.headers["x-request-id"] for r in answers)
    expected = [
        ("POST", "/api/v1/paths/{pathId}/sessions", 200, COMPANY),
        ("GET", "/api/v1/paths/sessions", 200, COMPANY),
        ("GET", "/api/v1/paths/sessions/{sessionId}", 404, COMPANY),
        ("POST", "/api/v1/paths/{pathId}/sessions", 401, None),
        ("GET", None, 404, None),
    ]
    for r, (method, route, status, company) in zip(answers, expected, strict=True):
        line = access[r.headers["x-request-id"]]
        assert (line["method"], line["route"], line["status"], line["company_id"]) == (
            method,
            route,
            status,
            company,
        )
        assert r.status_code == status
        assert isinstance(line["duration_ms"], float)
