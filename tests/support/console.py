"""The web console in tests: a company worth looking at, and signing in over HTTP."""

from __future__ import annotations

import re
from typing import Any

import httpx

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
                "apiCredentials": [{"name": "console tests", "scopes": ["webhooks:write"]}],
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
