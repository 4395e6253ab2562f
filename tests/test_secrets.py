"""Secrets: keys compared in constant time, never written to a log, and a server that will
not start without the secret that signs its tokens."""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import replace
from urllib.parse import urlencode

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
    created_id,
    load_example,
    stop_cleanly,
)

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
