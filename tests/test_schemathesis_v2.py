"""Schemathesis over v2: every v2 operation, every answer held to /openapi.json.

As for v1 (test_schemathesis.py): the document is loaded from the app, which is called in
process on each backend; each operation gets its coverage cases and up to MAX_EXAMPLES
generated ones, and `before_call` swaps many generated ids and references for those of the
known world, so that success answers get checked too. Requests carry a bearer token of ACME's
credential with every scope; the version header is a parameter of the document, generated
like any other (the negative cases leave it out or change it).

The line at the end of the pytest report gives the figures of each backend's run and its seed;
PATHSESSIONS_TEST_SCHEMATHESIS_SEED=<seed> runs with that seed again.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.python import asgi

from pathsessions.api.v2.routes import ROUTES
from pathsessions.app import create_app
from pathsessions.core.model import Progress
from pathsessions.loader import load_document
from pathsessions.settings import Settings
from pathsessions.storage import Database
from support import WORLD, world_document
from support.fuzzing import Counted, keep_node_id, seed_setting, swap
from support.progress import enrol, record, unenrol
from support.report import ReportLines
from support.v2 import v2_token

# Generated cases per operation, on top of its coverage cases.
MAX_EXAMPLES = 20

Case = schemathesis.Case[Any]
SECOND_PATH = "6c0000000000000000000003"
KEPT_SESSION = "6d0000000000000000000001"
# A session of another path: asked for under WORLD.path, it is `sessionNotBelongToPath`.
OTHER_PATH_SESSION = "6d0000000000000000000002"
CHILD_SESSION = "6d0000000000000000000003"  # KEPT_SESSION's
# Enrols through an audience (v2 §5): its audience can be read and replaced.
AUDIENCE_SESSION = "6d0000000000000000000004"
# Only the delete route gets these, so the sessions the other routes read stay in place.
DISPOSABLE_SESSIONS = [f"6d00000000000000000000{n:02x}" for n in range(16, 20)]
# Webhook subscriptions of ACME: one kept (with events), and some only the delete route gets.
KEPT_SUBSCRIPTION = "7b0000000000000000000001"
DISPOSABLE_SUBSCRIPTIONS = [f"7b00000000000000000000{n:02x}" for n in range(16, 20)]
START = "2031-01-01T09:00:00.000Z"
END = "2031-06-30T17:00:00.000Z"

# What a generated value may be swapped for, by the path parameter or body field it is the
# value of. The other company's objects are there to be answered as unknown.
PATH_PARAMETERS: dict[str, list[str]] = {
    "pathId": [WORLD.path, WORLD.path, SECOND_PATH, WORLD.archived_path, WORLD.other_path],
    "groupId": [WORLD.root_group, WORLD.sales_group, WORLD.other_group],
    "userId": [WORLD.owner, WORLD.instructor, WORLD.second_instructor],
    "sessionId": [KEPT_SESSION, OTHER_PATH_SESSION, CHILD_SESSION, AUDIENCE_SESSION],
    "childSessionId": [CHILD_SESSION, KEPT_SESSION],
    "subscriptionId": [KEPT_SUBSCRIPTION],
}
BODY_FIELDS: dict[str, list[Any]] = {
    "mainInstructorId": [WORLD.instructor, WORLD.owner],
    "instructorIds": [[WORLD.second_instructor], []],
    "groupId": [WORLD.root_group, WORLD.sales_group],
    "startDate": [START],
    "endDate": [END],
    # Loopback targets only: deliveries to them are refused (the default), so no generated
    # URL is ever called.
    "url": ["http://127.0.0.1:9/hook", "https://[::1]/hook"],
}


def before_call(context: schemathesis.HookContext, case: Case, kwargs: Any) -> None:
    if not case.operation.path.startswith("/api/v2/"):
        return
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    generated = repr((case.path_parameters, case.query, case.body))
    if positive and case.query:
        # Any string is a valid `next` to the document, but only a page token the server
        # made is accepted; the negative cases still send made-up ones.
        case.query.pop("next", None)
    for name, value in list((case.path_parameters or {}).items()):
        known = PATH_PARAMETERS.get(name)
        if name == "sessionId" and case.operation.method == "delete":
            known = DISPOSABLE_SESSIONS
        if name == "subscriptionId" and case.operation.method == "delete":
            known = DISPOSABLE_SUBSCRIPTIONS
        if known and positive:
            case.path_parameters[name] = swap(generated, value, known)
    # A body is swapped into only when all of it is valid: a negative case must stay invalid
    # exactly where schemathesis made it so.
    if isinstance(case.body, dict) and positive:
        for name, value in list(case.body.items()):
            if name in BODY_FIELDS:
                case.body[name] = swap(generated, value, BODY_FIELDS[name])


async def _load_world(settings: Settings) -> str:
    """The test world, plus sessions with known ids, loaded through an app on this test's
    event loop; answers a bearer token of ACME's credential with every scope."""
    document = world_document()
    acme = document["companies"][0]
    acme["paths"].append({"id": SECOND_PATH, "name": "Second", "group": WORLD.root_group})
    acme["sessions"] = [
        {
            "id": session_id,
            "path": WORLD.path if session_id != OTHER_PATH_SESSION else SECOND_PATH,
            "sessionName": f"Session {session_id[-2:]}",
            "startDate": "2030-01-01T09:00:00.000Z",
            "endDate": "2040-02-01T09:00:00.000Z",
            "sessionOwnerGroup": WORLD.root_group,
            "instructorsMails": [WORLD.instructor_mail],
        }
        for session_id in [KEPT_SESSION, OTHER_PATH_SESSION, *DISPOSABLE_SESSIONS]
    ]
    acme["sessions"].append(
        {**acme["sessions"][0], "id": CHILD_SESSION, "rootSession": KEPT_SESSION}
    )
    acme["sessions"].append(
        {
            **acme["sessions"][0],
            "id": AUDIENCE_SESSION,
            "sessionName": "Audience",
            "audience": {"filters": [{"type": "users", "ids": [WORLD.owner]}], "mode": "dynamic"},
            "enrollments": [{"user": WORLD.second_instructor, "selfEnrolled": True}],
        }
    )
    app = create_app(settings)
    await app.startup()
    try:
        await load_document(app.db, document)
        await _learners(app.db)
        await _add_subscriptions(app.db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://setup") as client:
            credential = WORLD.credential
            return await v2_token(client, credential.client_id, credential.client_secret)
    finally:
        await app.shutdown()


async def _learners(db: Database) -> None:
    """Learners in the kept session, so that the statistics answered have items to check: one
    with progress recorded, one unenrolled."""
    users = [WORLD.owner, WORLD.instructor, WORLD.second_instructor]
    enrolled = await enrol(db, KEPT_SESSION, users, 1_893_456_000_000)
    await record(
        db,
        enrolled[WORLD.owner],
        Progress(
            100,
            status="successful",
            time_spent=60_000,
            score=75,
            completed_at=1_893_600_000_000,
            started_at=1_893_500_000_000,
            certificate_id=KEPT_SESSION,
        ),
    )
    await unenrol(db, KEPT_SESSION, users[2:], 1_893_500_000_000)


async def _add_subscriptions(db: Database) -> None:
    """ACME's webhook subscriptions (to loopback URLs, which deliveries refuse), and two
    events of the kept one."""
    await db.executemany(
        "INSERT INTO webhook_subscriptions (id, company_id, event_type, name, url, status,"
        " secret, created_at, modified_at) VALUES (?, ?, 'path.session.added', ?, ?,"
        " 'active', 'a-secret', 0, 0)",
        [
            (sub_id, WORLD.company, f"Hook {i}", f"http://127.0.0.1:9/{i}")
            for i, sub_id in enumerate([KEPT_SUBSCRIPTION, *DISPOSABLE_SUBSCRIPTIONS])
        ],
    )
    await db.executemany(
        "INSERT INTO webhook_events (id, subscription_id, company_id, payload, created_at,"
        " status) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (f"7e000000000000000000000{i}", KEPT_SUBSCRIPTION, WORLD.company, '{"n":1}', 0, st)
            for i, st in enumerate(["delivered", "failed"])
        ],
    )


EXAMPLES: dict[str, int] = {}


@pytest.fixture
async def api_schema(
    settings: Settings,
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
) -> AsyncIterator[schemathesis.BaseSchema]:
    keep_node_id(request)
    token = await _load_world(settings)
    config = schemathesis.Config.from_dict(
        {
            **seed_setting(),
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {"max-examples": MAX_EXAMPLES},
            "checks": {
                "not_a_server_error": {"enabled": True},
                "status_code_conformance": {"enabled": True},
                "content_type_conformance": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
                "response_headers_conformance": {"enabled": True},
                # Another method on a known path is the unknown-route 404, as on v1
                # (docs/api.md, "Our decisions"), and documented as such.
                "unsupported_method": {"enabled": False},
                # The token is sent with every case, the ones meant to go without included:
                # the answers to missing and bad tokens are tested in test_v2_conventions.py.
                "ignored_auth": {"enabled": False},
            },
            "operations": [
                {
                    # Whether a value the document allows is accepted depends on what is
                    # stored and on the other fields (a user of the company, an end after the
                    # start, an open session); these answer 4xx with a documented code.
                    "include-method": ["POST", "PATCH", "PUT", "DELETE"],
                    "checks": {"positive_data_acceptance": {"enabled": False}},
                },
                {
                    # A session asked for under another path than its own is a 400, and so
                    # is the audience of a session that has none.
                    "include-operation-id": [
                        "v2.paths.GetPathSessionController_getPathSession",
                        "v2.paths.v2.paths.GetSessionStatsController_getSessionStats",
                        "v2.paths.GetUserStatsController_getUserStats",
                        "v2.paths.GetSessionAudienceController_getSessionAudience",
                    ],
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "401", "403", "404", "429"]
                        }
                    },
                },
            ],
        }
    )
    app = Counted(create_app(settings))
    started = time.perf_counter()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    schemathesis.hook(before_call)
    EXAMPLES.clear()
    try:
        yield schema
    finally:
        schemathesis.hooks.unregister(before_call)
        asgi.shutdown_lifespans()
    elapsed = time.perf_counter() - started
    assert sorted(EXAMPLES) == sorted(f"{r.method} {r.path}" for r in ROUTES), "not every route"
    examples = sum(EXAMPLES.values())
    backend = request.node.callspec.params["database_url"]
    record_property(
        f"{ReportLines.PREFIX}schemathesis v2",
        f"{backend}: {len(EXAMPLES)} operations, {examples} examples, {app.requests} requests "
        f"answered, {elapsed:.1f} s (seed {config.seed})",
    )


schema = schemathesis.pytest.from_fixture("api_schema").include(
    operation_id=[route.operation_id for route in ROUTES]
)


@schema.parametrize()
def test_api_v2(case: Case) -> None:
    EXAMPLES[case.operation.label] = EXAMPLES.get(case.operation.label, 0) + 1
    case.call_and_validate()
