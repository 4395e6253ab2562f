"""A database written by the previous release (schema version 2, v1 only) carried forward.

The rows are written with the previous release's schema and SQL, then the current migrations
run: v1 answers exactly what it answered before, and v2 reads the same rows with the defaults
v1-written data implies (docs/storage.md).
"""

from __future__ import annotations

import importlib

import httpx
import pytest

from pathsessions.app import create_app
from pathsessions.core.clock import SYSTEM_CLOCK
from pathsessions.core.keys import SCOPES, hash_key
from pathsessions.core.operators import create_credential
from pathsessions.settings import Settings
from pathsessions.storage import Database, migrate, open_database
from pathsessions.storage.migrate import available, current_version
from support import TOKEN_SECRET
from support.v2 import VERSION_HEADER, v2_token

pytestmark = pytest.mark.fresh_database

migrate_module = importlib.import_module("pathsessions.storage.migrate")

PREVIOUS_RELEASE_SCHEMA = 2

COMPANY = "5f1b2c3d4e5f60718293a4b5"
KEY = "a-key-from-the-previous-release"
ROOT = "6a0000000000000000000001"
SALES = "6a0000000000000000000002"
OWNER = "6b0000000000000000000001"
INES = "6b0000000000000000000002"
LEARNER = "6b0000000000000000000003"
PATH = "6c0000000000000000000001"
SESSION = "6d0000000000000000000001"
T0 = 1_700_000_000_000  # 2023-11-14T22:13:20.000Z
T1 = T0 + 60_000

# Every statement in the previous release's own column lists: nothing here knows the new ones.
PREVIOUS_ROWS: list[tuple[str, tuple[object, ...]]] = [
    (
        "INSERT INTO companies (id, name, owner_user_id, created_at) VALUES (?, ?, ?, ?)",
        (COMPANY, "Acme Learning", OWNER, T0),
    ),
    (
        "INSERT INTO api_keys (id, company_id, key_hash, label, created_at) VALUES (?, ?, ?, ?, ?)",
        ("6e0000000000000000000001", COMPANY, hash_key(KEY), "default", T0),
    ),
    (
        "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (ROOT, COMPANY, "Acme", True, None, T0),
    ),
    (
        "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (SALES, COMPANY, "Sales", False, ROOT, T0),
    ),
    *(
        (
            "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (user_id, COMPANY, mail, mail.lower(), first, last, "active", T0),
        )
        for user_id, mail, first, last in [
            (OWNER, "owner@acme.test", "Olive", "Owner"),
            (INES, "Ines@Acme.test", "Ines", "Instructor"),
            (LEARNER, "lea@acme.test", "Lea", "Learner"),
        ]
    ),
    (
        "INSERT INTO user_roles (user_id, group_id, role) VALUES (?, ?, ?)",
        (INES, SALES, "author"),
    ),
    (
        "INSERT INTO user_roles (user_id, group_id, role) VALUES (?, ?, ?)",
        (LEARNER, SALES, "learner"),
    ),
    (
        "INSERT INTO paths (id, company_id, name, group_id, status, created_at, modified_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (PATH, COMPANY, "Onboarding", ROOT, "published", T0, T0),
    ),
    (
        "INSERT INTO path_sessions (id, company_id, path_id, name, start_date, end_date,"
        " owner_group_id, additional_information, created_at, modified_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (SESSION, COMPANY, PATH, "Cohort 1", T0, T1, SALES, "REG-42", T0, T0),
    ),
    *(
        (
            "INSERT INTO session_instructors (session_id, position, user_id) VALUES (?, ?, ?)",
            (SESSION, position, user_id),
        )
        for position, user_id in [(0, INES), (1, OWNER)]
    ),
    (
        "INSERT INTO session_users (session_id, user_id, enrolled_at) VALUES (?, ?, ?)",
        (SESSION, LEARNER, T0),
    ),
    (
        "INSERT INTO session_groups (session_id, group_id, enrolled_at) VALUES (?, ?, ?)",
        (SESSION, SALES, T0),
    ),
]

# What the previous release's v1 answered for these rows, whole.
V1_ITEM = {
    "sessionName": "Cohort 1",
    "sessionId": SESSION,
    "sessionOwnerGroup": SALES,
    "pathId": PATH,
    "startDate": "2023-11-14T22:13:20.000Z",
    "endDate": "2023-11-14T22:14:20.000Z",
    "instructorsMails": ["Ines@Acme.test", "owner@acme.test"],
    "sessionAdditionalInformation": "REG-42",
    "createdAt": "2023-11-14T22:13:20.000Z",
    "modifiedAt": "2023-11-14T22:13:20.000Z",
}
V1_DETAIL = {
    **V1_ITEM,
    "path": {
        "_id": PATH,
        "name": "Onboarding",
        "groupId": ROOT,
        "status": "published",
        "createdAt": "2023-11-14T22:13:20.000Z",
        "modifiedAt": "2023-11-14T22:13:20.000Z",
    },
    "users": [{"_id": LEARNER, "mail": "lea@acme.test", "firstName": "Lea", "lastName": "Learner"}],
    "groups": [{"_id": SALES, "name": "Sales"}],
}


# What v2 reads of the same rows: v1's data with the defaults it implies.
V2_SESSION = {
    "_id": SESSION,
    "pathId": PATH,
    "name": "Cohort 1",
    "startDate": "2023-11-14T22:13:20.000Z",
    "endDate": "2023-11-14T22:14:20.000Z",
    "mainInstructorId": INES,
    "instructorIds": [OWNER],
    "groupId": SALES,
    "registrationRequestValidation": "disabled",
    "isAudienceBuilder": False,
    "additionalInformation": "REG-42",
    "createdAt": "2023-11-14T22:13:20.000Z",
    "modifiedAt": "2023-11-14T22:13:20.000Z",
    "translations": [],
}
V2_PATH_DEFAULTS = {
    "_id": PATH,
    "name": "Onboarding",
    "groupId": ROOT,
    "status": "published",
    "authorId": OWNER,
    "coAuthorIds": [],
    "defaultLang": "en",
    "sourceLang": "en",
    "steps": [],
    "translations": [],
    "options": {
        "linearProgression": False,
        "mandatoryReplay": False,
        "displayForum": False,
        "displayClassroomMessages": False,
        "automatedReminders": False,
        "notificationOnStepCreation": False,
    },
}


async def previous_release_database(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database at the previous release's schema, holding the rows above."""
    current = available()
    with monkeypatch.context() as patch:
        patch.setattr(
            migrate_module,
            "available",
            lambda: [m for m in current if m.version <= PREVIOUS_RELEASE_SCHEMA],
        )
        db = await open_database(url, pg_pool_size=1)
        try:
            await migrate(db)
            assert await current_version(db) == PREVIOUS_RELEASE_SCHEMA
            async with db.transaction() as tx:
                for sql, args in PREVIOUS_ROWS:
                    await tx.execute(sql, *args)
        finally:
            await db.close()


async def roles(db: Database) -> list[tuple[str, str, str]]:
    rows = await db.fetchall("SELECT user_id, group_id, role FROM user_roles ORDER BY user_id")
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


async def test_previous_release_data_is_carried_forward(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await previous_release_database(database_url, monkeypatch)
    settings = Settings(
        database_url=database_url,
        access_log=False,
        pg_pool_size=2,
        token_secret=TOKEN_SECRET,
        rate_limits=False,
    )
    app = create_app(settings)
    await app.startup()  # migrates to the current version
    try:
        assert await current_version(app.db) == available()[-1].version
        # The older role name is the v2 name now; nothing else about the roles changed.
        assert await roles(app.db) == [(INES, SALES, "editor"), (LEARNER, SALES, "learner")]
        transport = httpx.ASGITransport(app=app)
        headers = {"X-company-id": COMPANY, "X-apiKey": KEY}
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            one = await c.get(f"/api/v1/paths/sessions/{SESSION}", headers=headers)
            assert one.status_code == 200, one.text
            assert one.json() == V1_DETAIL
            listed = await c.get("/api/v1/paths/sessions", headers=headers)
            assert listed.status_code == 200
            assert listed.json() == [V1_ITEM]
            users = await c.get("/api/v1/users", headers=headers)
            assert sorted(u["mail"] for u in users.json()) == [
                "Ines@Acme.test",
                "lea@acme.test",
                "owner@acme.test",
            ]

            # v2 reads the same rows whole, with the defaults v1-written data implies.
            made = await create_credential(
                app.db, SYSTEM_CLOCK, COMPANY, "after the upgrade", list(SCOPES)
            )
            token = await v2_token(c, made.client_id, made.client_secret)
            v2 = {"Authorization": f"Bearer {token}", **VERSION_HEADER}
            session = await c.get(f"/api/v2/paths/{PATH}/sessions/{SESSION}", headers=v2)
            assert session.status_code == 200, session.text
            assert session.json() == V2_SESSION
            path = await c.get(f"/api/v2/paths/{PATH}", headers=v2)
            assert path.status_code == 200, path.text
            assert {k: path.json().get(k) for k in V2_PATH_DEFAULTS} == V2_PATH_DEFAULTS
            ines = await c.get(f"/api/v2/users/{INES}", headers=v2)
            assert ines.status_code == 200, ines.text
            assert (ines.json()["mail"], ines.json()["status"], ines.json()["lang"]) == (
                "Ines@Acme.test",
                "active",
                "en",
            )
            memberships = await c.get(f"/api/v2/users/{INES}/roles", headers=v2)
            assert memberships.json() == [{"groupId": SALES, "role": "editor"}]
    finally:
        await app.shutdown()
