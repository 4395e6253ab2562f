"""The known world: two companies, so every test can check the other one is invisible.

`world_document()` is what the `world` fixture loads. tests/fixtures/example.json, which the
real-server tests load through the CLI, is part of the same world: ACME with the same ids,
under a literal key of its own (`EXAMPLE_KEY`), and one session.

Each company also has v2 API credentials with fixed client ids and secrets (`Credential`):
ACME one with every scope, one with `paths:read` alone, one with `groups:read` and
`users:read`; OTHER one with every scope. `support.v2` makes tokens and headers from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACME = "5f1b2c3d4e5f60718293a4b5"
ACME_KEY = "acme-test-key"
OTHER = "5f1b2c3d4e5f60718293a4b6"
OTHER_KEY = "other-test-key"

# Every v2 scope, as a credential is given them.
ALL_SCOPES = (
    "paths:read",
    "paths:write",
    "pathStats:read",
    "groups:read",
    "users:read",
    "webhooks:read",
    "webhooks:write",
    "webhookSecrets:read",
    "webhookSecrets:write",
)


@dataclass(frozen=True)
class Credential:
    """A v2 API credential of the world: its client id, secret, name and scopes."""

    client_id: str
    client_secret: str
    name: str
    scopes: tuple[str, ...]

    def fixture(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "name": self.name,
            "scopes": list(self.scopes),
        }


ACME_FULL = Credential("a1" + "0" * 30, "acme-v2-secret-full", "full", ALL_SCOPES)
ACME_PATHS_READ = Credential(
    "a2" + "0" * 30, "acme-v2-secret-paths-read", "paths read", ("paths:read",)
)
ACME_DIRECTORY_READ = Credential(
    "a3" + "0" * 30,
    "acme-v2-secret-directory-read",
    "directory read",
    ("groups:read", "users:read"),
)
OTHER_FULL = Credential("b1" + "0" * 30, "other-v2-secret-full", "full", ALL_SCOPES)

# The signing key of every application and server the tests start.
TOKEN_SECRET = "a-token-secret-for-tests-0123456789abcdef"

EXAMPLE = Path(__file__).parent.parent / "fixtures" / "example.json"
EXAMPLE_KEY = "a-literal-key-for-tests"


@dataclass(frozen=True)
class World:
    company: str = ACME
    key: str = ACME_KEY
    root_group: str = "6a0000000000000000000001"
    sales_group: str = "6a0000000000000000000002"
    owner: str = "6b0000000000000000000001"
    owner_mail: str = "owner@acme.test"
    instructor: str = "6b0000000000000000000002"
    instructor_mail: str = "ines@acme.test"
    second_instructor: str = "6b0000000000000000000003"
    second_instructor_mail: str = "ivan@acme.test"
    deleted_mail: str = "gone@acme.test"
    path: str = "6c0000000000000000000001"
    archived_path: str = "6c0000000000000000000002"
    other_company: str = OTHER
    other_key: str = OTHER_KEY
    other_group: str = "6a0000000000000000000009"
    other_path: str = "6c0000000000000000000009"
    other_user_mail: str = "olga@other.test"
    credential: Credential = ACME_FULL
    paths_read_credential: Credential = ACME_PATHS_READ
    directory_read_credential: Credential = ACME_DIRECTORY_READ
    other_credential: Credential = OTHER_FULL

    @property
    def headers(self) -> dict[str, str]:
        return {"X-company-id": self.company, "X-apiKey": self.key}

    @property
    def other_headers(self) -> dict[str, str]:
        return {"X-company-id": self.other_company, "X-apiKey": self.other_key}

    @property
    def query(self) -> dict[str, str]:
        return {"company": self.company, "apiKey": self.key}

    def sessions_url(self, path_id: str | None = None) -> str:
        return f"/api/v1/paths/{self.path if path_id is None else path_id}/sessions/"


WORLD = World()


def world_document() -> dict[str, Any]:
    w = WORLD
    return {
        "companies": [
            {
                "id": w.company,
                "name": "Acme Learning",
                "apiKeys": [w.key],
                "apiCredentials": [
                    c.fixture()
                    for c in (w.credential, w.paths_read_credential, w.directory_read_credential)
                ],
                "owner": w.owner_mail,
                "groups": [
                    {"id": w.root_group, "name": "Acme", "public": True},
                    {"id": w.sales_group, "name": "Sales", "parent": w.root_group},
                ],
                "users": [
                    {
                        "id": w.owner,
                        "mail": w.owner_mail,
                        "firstName": "Olive",
                        "lastName": "Owner",
                    },
                    {
                        "id": w.instructor,
                        "mail": w.instructor_mail,
                        "firstName": "Ines",
                        "lastName": "Instructor",
                        "roles": {w.sales_group: "author"},
                    },
                    {
                        "id": w.second_instructor,
                        "mail": w.second_instructor_mail,
                        "firstName": "Ivan",
                        "lastName": "Instructor",
                    },
                    {"mail": w.deleted_mail, "status": "deleted"},
                ],
                "paths": [
                    {"id": w.path, "name": "Onboarding", "group": w.root_group},
                    {
                        "id": w.archived_path,
                        "name": "Old path",
                        "group": w.root_group,
                        "status": "archived",
                    },
                ],
            },
            {
                "id": w.other_company,
                "name": "Other Corp",
                "apiKeys": [w.other_key],
                "apiCredentials": [w.other_credential.fixture()],
                "owner": "owner@other.test",
                "groups": [{"id": w.other_group, "name": "Other"}],
                "users": [{"mail": w.other_user_mail, "firstName": "Olga"}],
                "paths": [{"id": w.other_path, "name": "Elsewhere", "group": w.other_group}],
            },
        ]
    }
