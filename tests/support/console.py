"""The web console in tests: a company worth looking at, and signing in over HTTP."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from pathsessions.client import ClientV2
from pathsessions.testing import RunningServer

from .sandbox import ADMIN_TOKEN

CONSOLE = "/__admin/console"
COMPANY = "6d0000000000000000000001"
GROUP = "6d0000000000000000000002"
PATH = "6d0000000000000000000003"
OTHER_PATH = "6d0000000000000000000004"
SESSION = "6d0000000000000000000005"
LEARNERS = ["ada", "bo", "cyd", "dee", "eli", "fay"]
# Sessions besides SESSION: 30 of Onboarding, dated 2030-01-01 on (one a week), 12 of Safety.
ONBOARDING = 30
SAFETY = 12
API_KEY = "a-literal-key-for-the-console-tests"


def console_document() -> dict[str, Any]:
    progress = [
        {
            "progress": 100,
            "score": 92,
            "timeSpent": 5_400_000,
            "completedAt": "2030-01-20T10:00:00Z",
        },
        {"progress": 40, "timeSpent": 1_800_000, "startedAt": "2030-01-11T09:00:00Z"},
        {
            "progress": 100,
            "status": {"type": "unsuccessful", "reason": "sessionEnded"},
            "score": 35,
        },
        {"progress": 0},
        None,
        None,
    ]
    enrollments = []
    for name, given in zip(LEARNERS, progress, strict=True):
        enrollment: dict[str, Any] = {"user": f"{name}@acme.test"}
        if given is not None:
            enrollment["progress"] = given
        enrollments.append(enrollment)
    enrollments[-1]["status"] = "archived"
    sessions: list[dict[str, Any]] = [
        {
            "id": SESSION,
            "path": PATH,
            "sessionName": "Onboarding — January intake",
            "startDate": "2030-01-10T09:00:00.000Z",
            "endDate": "2030-02-10T17:00:00.000Z",
            "sessionOwnerGroup": GROUP,
            "instructorsMails": ["ines@acme.test"],
            "enrollments": enrollments,
        }
    ]
    for n in range(ONBOARDING):
        day = 1 + (n * 7) % 28
        sessions.append(
            {
                "path": PATH,
                "sessionName": f"Onboarding cohort {n + 1:02d}",
                "startDate": f"{2030 + n // 12}-{n % 12 + 1:02d}-{day:02d}T09:00:00.000Z",
                "sessionOwnerGroup": GROUP,
            }
        )
    for n in range(SAFETY):
        sessions.append(
            {
                "path": OTHER_PATH,
                "sessionName": f"Safety refresher {n + 1:02d}",
                "startDate": f"2031-{n + 1:02d}-15T09:00:00.000Z",
                "sessionOwnerGroup": GROUP,
            }
        )
    return {
        "companies": [
            {
                "id": COMPANY,
                "name": "Northwind Academy",
                "owner": "owner@acme.test",
                "apiKeys": [API_KEY],
                "apiCredentials": [
                    {"name": "console tests", "scopes": ["webhooks:read", "webhooks:write"]}
                ],
                "groups": [{"id": GROUP, "name": "Everyone", "public": True}],
                "users": [
                    {"mail": "owner@acme.test", "firstName": "Olive", "lastName": "Owner"},
                    {
                        "mail": "ines@acme.test",
                        "firstName": "Ines",
                        "lastName": "Instructor",
                        "roles": {GROUP: "editor"},
                    },
                    *[
                        {
                            "mail": f"{name}@acme.test",
                            "firstName": name.title(),
                            "lastName": "Learner",
                            "roles": {GROUP: "learner"},
                        }
                        for name in LEARNERS
                    ],
                ],
                "paths": [
                    {"id": PATH, "name": "Onboarding", "group": GROUP},
                    {"id": OTHER_PATH, "name": "Safety", "group": GROUP},
                ],
                "sessions": sessions,
            }
        ]
    }


def csrf_of(page: str, action: str | None = None) -> str:
    """The CSRF token of the form posting to `action` (a URL ending), or of the first form."""
    forms = re.findall(r'<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>', page, re.DOTALL)
    for target, body in forms:
        if action is None or target.endswith(action):
            found = re.search(r'name="csrf" value="([^"]+)"', body)
            if found:
                return found.group(1)
    raise AssertionError(f"no form posting to {action} on the page")


async def sign_in(client: httpx.AsyncClient, token: str = ADMIN_TOKEN) -> httpx.Response:
    page = await client.get(CONSOLE)
    return await client.post(
        CONSOLE + "/sign-in",
        data={"csrf": csrf_of(page.text, "/sign-in"), "token": token},
        headers={"Origin": str(client.base_url).rstrip("/")},
    )


# --- A real server with something to show ---------------------------------------------------


def _answering(status: int) -> type[BaseHTTPRequestHandler]:
    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()
            self.server.received += 1  # type: ignore[attr-defined]

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Answer


@contextmanager
def receivers() -> Iterator[tuple[ThreadingHTTPServer, ThreadingHTTPServer]]:
    """Two webhook receivers on the loopback, in threads: one answers 204, the other 500."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _answering(s)) for s in (204, 500)]
    for server in servers:
        server.received = 0  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def api_headers() -> dict[str, str]:
    return {"X-company-id": COMPANY, "X-apiKey": API_KEY}


def seed(
    server: RunningServer, good: ThreadingHTTPServer, failing: ThreadingHTTPServer
) -> dict[str, str]:
    """Webhook subscriptions (one delivered to, one failing), a session whose creation they
    are told of, and some API traffic for the journal; answers the subscriptions' ids by name."""
    company = server.companies[0]
    assert company.client_id is not None
    assert company.client_secret is not None
    ids = {}
    with ClientV2(server.url, company.client_id, company.client_secret) as v2:
        for name, receiver in (("Good hook", good), ("Failing hook", failing)):
            url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
            made = v2.create_webhook_subscription(
                event_type="path.session.added", name=name, url=url
            )
            ids[name] = made["_id"]
    with httpx.Client(base_url=server.url, headers=api_headers()) as api:
        api.get("/api/v1/paths")
        created = api.post(
            f"/api/v1/paths/{PATH}/sessions/",
            json={
                "sessionName": "Onboarding — webhook check",
                "startDate": "2030-06-01T09:00:00.000Z",
                "sessionOwnerGroup": GROUP,
            },
        )
        assert created.status_code == 200, created.text
        api.get(f"/api/v1/paths/{PATH}/sessions/{'0' * 24}")
        api.get("/api/v1/paths/sessions", params={"apiKey": API_KEY})
    deadline = time.monotonic() + 10
    while good.received < 1 or failing.received < 1:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the webhooks were not delivered"
        time.sleep(0.02)
    return ids
