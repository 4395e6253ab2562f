"""Schemathesis against our own /openapi.json: every operation, every answer held to the document.

Schemathesis loads the document from the app and calls the app in process, through its ASGI
transport, on each backend, with ACME's API key. For each operation it sends its coverage cases
(boundaries, missing and wrong-typed fields, unexpected methods) and up to MAX_EXAMPLES
generated ones, valid and invalid, JSON and forms, and runs its checks on every answer.

Random ids almost never name a stored object, so `before_call` swaps many of the valid ones for
ids and references of the known world: the success answers get checked, not only 404s and 400s.

At the end of the pytest report, a line per backend gives the examples generated, the requests
the app answered (the checks send some of their own), the time taken and the seed;
PATHSESSIONS_TEST_SCHEMATHESIS_SEED=<seed> runs with that seed again.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.python import asgi

from pathsessions.api.v1.routes import ROUTES
from pathsessions.app import create_app
from pathsessions.loader import load_document
from pathsessions.settings import Settings
from support import WORLD, world_document
from support.fuzzing import Counted, keep_node_id, seed_setting, swap
from support.report import ReportLines

# Generated cases per operation, on top of its coverage cases: about 15 s per backend.
MAX_EXAMPLES = 30

Case = schemathesis.Case[Any]
OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")
KEPT_SESSION = "6d0000000000000000000001"
ENROLLED_SESSION = "6d0000000000000000000002"
# Only the delete route gets these, so the sessions the other routes read stay in place.
DISPOSABLE_SESSIONS = [f"6d00000000000000000000{n:02x}" for n in range(16, 20)]
START = "2031-01-01T09:00:00+01:00"
END = "2031-06-30T17:00:00.000Z"

# What a generated value may be swapped for, by the path parameter or body field it is the
# value of. The other company's objects are there to be answered as unknown.
PATH_PARAMETERS: dict[str, list[str]] = {
    "pathId": [WORLD.path, WORLD.archived_path, WORLD.other_path],
    "groupId": [WORLD.root_group, WORLD.sales_group, WORLD.other_group],
    "user": [WORLD.owner, WORLD.instructor_mail, WORLD.deleted_mail, WORLD.other_user_mail],
    "sessionId": [KEPT_SESSION, ENROLLED_SESSION],
}
BODY_FIELDS: dict[str, list[Any]] = {
    "sessionOwnerGroup": [WORLD.root_group, WORLD.sales_group],
    "startDate": [START],
    "endDate": [END],
    "instructorsMails": [[WORLD.instructor_mail, WORLD.second_instructor_mail]],
    "userEmails": [[WORLD.owner_mail, WORLD.instructor_mail], [WORLD.deleted_mail]],
    "userIds": [[WORLD.owner, WORLD.second_instructor]],
    "groupIds": [[WORLD.sales_group, WORLD.root_group]],
    "client_id": [WORLD.company],
    "client_secret": [WORLD.key],
}


def before_call(context: schemathesis.HookContext, case: Case, kwargs: Any) -> None:
    operation = case.operation
    generated = repr((case.path_parameters, case.query, case.body))
    for name, value in list((case.path_parameters or {}).items()):
        known = PATH_PARAMETERS.get(name)
        if name == "sessionId" and operation.method == "delete" and operation.path.endswith("}"):
            known = DISPOSABLE_SESSIONS
        # Only a value the document allows is swapped: the invalid ones are what the negative
        # cases are about.
        if known and isinstance(value, str) and (name == "user" or OBJECT_ID.fullmatch(value)):
            case.path_parameters[name] = swap(generated, value, known)
    # A body is swapped into only when all of it is valid: a negative case must stay invalid
    # exactly where schemathesis made it so.
    if (
        isinstance(case.body, dict)
        and case.meta is not None
        and case.meta.generation.mode.is_positive
    ):
        for name, value in list(case.body.items()):
            if name in BODY_FIELDS:
                case.body[name] = swap(generated, value, BODY_FIELDS[name])


async def _load_world(settings: Settings) -> None:
    """The test world, plus sessions with known ids, one of them with a user and a group
    enrolled; written through an app on this test's event loop, then shut down."""
    document = world_document()
    document["companies"][0]["sessions"] = [
        {
            "id": session_id,
            "path": WORLD.path,
            "sessionName": f"Session {session_id[-2:]}",
            "startDate": "2030-01-01T09:00:00.000Z",
            "endDate": "2030-02-01T09:00:00.000Z",
            "sessionOwnerGroup": WORLD.root_group,
            "instructorsMails": [WORLD.instructor_mail],
            "sessionAdditionalInformation": "REG-1",
        }
        for session_id in [KEPT_SESSION, ENROLLED_SESSION, *DISPOSABLE_SESSIONS]
    ]
    app = create_app(settings)
    await app.startup()
    try:
        await load_document(app.db, document)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://setup") as client:
            enrolled = f"/api/v1/paths/sessions/{ENROLLED_SESSION}"
            for route, body in [
                ("users", {"userEmails": [WORLD.owner_mail]}),
                ("groups", {"groupIds": [WORLD.sales_group]}),
            ]:
                r = await client.patch(f"{enrolled}/{route}", json=body, headers=WORLD.headers)
                assert r.status_code == 200, r.text
    finally:
        await app.shutdown()


EXAMPLES: dict[str, int] = {}


@pytest.fixture
async def api_schema(
    settings: Settings,
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
) -> AsyncIterator[schemathesis.BaseSchema]:
    keep_node_id(request)
    await _load_world(settings)
    config = schemathesis.Config.from_dict(
        {
            **seed_setting(),
            "auth": {
                "openapi": {
                    "companyHeader": {"api_key": WORLD.company},
                    "apiKeyHeader": {"api_key": WORLD.key},
                }
            },
            "generation": {"max-examples": MAX_EXAMPLES},
            "checks": {
                # Every check schemathesis has is on unless turned off below (but
                # max_response_time, which needs a limit); these are the ones this run is for.
                "not_a_server_error": {"enabled": True},
                "status_code_conformance": {"enabled": True},
                "content_type_conformance": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
                "response_headers_conformance": {"enabled": True},
                # The API has no 405: a known path with another method is the real service's
                # 404 Not Found (docs/api.md, "Our decisions" 27), as documented for every
                # operation.
                "unsupported_method": {"enabled": False},
            },
            "operations": [
                {
                    # Which of the values the document allows are accepted depends on what is
                    # stored and on the other fields: a group, instructors or users of the
                    # company, a date that exists (no 30 February), an end after the start,
                    # on update no date moved into the past. JSON Schema cannot say that, and
                    # these answer 400 with the documented code.
                    "include-operation-id": [
                        "createPathSession",
                        "updatePathSession",
                        "enrolPathSessionUsers",
                        "unenrolPathSessionUsers",
                        "enrolPathSessionGroups",
                        "unenrolPathSessionGroups",
                    ],
                    "checks": {"positive_data_acceptance": {"enabled": False}},
                },
                {
                    # An unknown user is a 400 `user_not_found`, as the real service answers
                    # (docs/errors.md), where other routes answer an unknown id with 404.
                    "include-operation-id": "getUser",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "401", "404", "429"]
                        }
                    },
                },
            ],
        }
    )
    app = Counted(create_app(settings))
    started = time.perf_counter()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    # Schemathesis only takes `before_call` hooks process-wide: this one lasts as long as the run.
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
    record_property("schemathesis_examples", examples)
    record_property("schemathesis_requests", app.requests)
    # Printed at the end of the report (support/report.py), from whichever process ran the test.
    record_property(
        f"{ReportLines.PREFIX}schemathesis",
        f"{backend}: {len(EXAMPLES)} operations, {examples} examples, {app.requests} requests "
        f"answered, {elapsed:.1f} s (seed {config.seed})",
    )


schema = schemathesis.pytest.from_fixture("api_schema").include(
    # Every route, /openapi.json included: schemathesis leaves out the route it loaded the
    # document from unless it is named.
    operation_id=[route.operation_id for route in ROUTES]
)


@schema.parametrize()
def test_api(case: Case) -> None:
    EXAMPLES[case.operation.label] = EXAMPLES.get(case.operation.label, 0) + 1
    case.call_and_validate()
