"""v2's part of /openapi.json: every operation, parameter, schema and error with its status,
under the operation ids and with the shapes of 360Learning's published v2 document.

The published facts are copied below by hand, as small tables (the published document is not
part of this repository): where the two documents describe the same operation, they must
agree on its id, its method and path, and the property names of its body and answer.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from pathsessions.api.v2 import routes
from pathsessions.api.v2.errors import BARE, statuses
from pathsessions.api.v2.pagination import Listing
from pathsessions.api.v2.routes import OPERATIONS, SCOPE_OF

pytestmark = pytest.mark.backend_independent

# (METHOD, path) -> operationId in the published documents, for what §2, §4, §5, §6, §7 and §8
# of the v2 contract serve.
PUBLISHED: dict[tuple[str, str], str] = {
    ("POST", "/api/v2/oauth2/token"): "v2.authentication.GenerateTokenController_generateToken",
    ("GET", "/api/v2/paths/sessions"): "v2.paths.GetAllPathSessionsController_getAllPathSessions",
    ("GET", "/api/v2/paths"): "v2.paths.GetPathsController_getPaths",
    ("GET", "/api/v2/paths/{pathId}"): "v2.paths.GetPathController_getPath",
    (
        "POST",
        "/api/v2/paths/{pathId}/sessions",
    ): "v2.paths.CreatePathSessionController_createPathSession",
    (
        "GET",
        "/api/v2/paths/{pathId}/sessions",
    ): "v2.paths.GetPathSessionsController_getPathSessions",
    (
        "DELETE",
        "/api/v2/paths/{pathId}/sessions/{sessionId}",
    ): "v2.paths.DeletePathSessionController_deletePathSession",
    (
        "GET",
        "/api/v2/paths/{pathId}/sessions/{sessionId}",
    ): "v2.paths.GetPathSessionController_getPathSession",
    (
        "PATCH",
        "/api/v2/paths/{pathId}/sessions/{sessionId}",
    ): "v2.paths.ModifyPathSessionController_modifyPathSession",
    (
        "PATCH",
        "/api/v2/paths/{pathId}/child-sessions/{childSessionId}",
    ): "v2.paths.ModifyChildPathSessionController_modifyChildPathSession",
    ("GET", "/api/v2/groups"): "v2.groups.GetGroupsController_getGroups",
    ("GET", "/api/v2/groups/{groupId}"): "v2.groups.GetGroupController_getGroup",
    (
        "GET",
        "/api/v2/groups/{groupId}/roles",
    ): "v2.groups.GetGroupMembersController_getGroupMembers",
    ("GET", "/api/v2/users"): "v2.users.GetUsersController_getUsers",
    ("GET", "/api/v2/users/{userId}"): "v2.users.GetUserController_getUser",
    (
        "GET",
        "/api/v2/users/{userId}/roles",
    ): "v2.users.GetUserRolesInGroupsController_getUserRolesInGroups",
    # §6. The published id of the session counts repeats its prefix; it is copied as is.
    ("GET", "/api/v2/paths/stats"): "v2.paths.GetPathStatsController_getPathStats",
    (
        "GET",
        "/api/v2/paths/{pathId}/sessions/{sessionId}/user-statuses",
    ): "v2.paths.v2.paths.GetSessionStatsController_getSessionStats",
    (
        "GET",
        "/api/v2/paths/{pathId}/sessions/{sessionId}/user-stats",
    ): "v2.paths.GetUserStatsController_getUserStats",
    # §5: who is enrolled.
    (
        "GET",
        "/api/v2/paths/{pathId}/enrollments",
    ): "v2.paths.GetEnrollmentsController_getEnrollments",
    (
        "GET",
        "/api/v2/paths/{pathId}/sessions/{sessionId}/audiences",
    ): "v2.paths.GetSessionAudienceController_getSessionAudience",
    (
        "PUT",
        "/api/v2/paths/{pathId}/sessions/{sessionId}/audiences",
    ): "v2.paths.UpdateSessionAudienceController_updateSessionAudience",
    (
        "DELETE",
        "/api/v2/paths/{pathId}/sessions/{sessionId}/self-enrollments/{userId}",
    ): "v2.paths.ArchiveSelfEnrollmentController_archiveSelfEnrollment",
    # §8 webhooks.
    **{
        (method, f"/api/v2/webhooks/subscriptions{rest}"): f"v2.webhook.subscriptions.{name}"
        for method, rest, name in [
            ("POST", "", "CreateSubscriptionController_createSubscription"),
            ("GET", "", "GetSubscriptionsController_getSubscriptions"),
            ("GET", "/{subscriptionId}", "GetSubscriptionController_getSubscription"),
            ("PATCH", "/{subscriptionId}", "UpdateSubscriptionController_updateSubscription"),
            ("DELETE", "/{subscriptionId}", "DeleteSubscriptionController_deleteSubscription"),
            ("GET", "/{subscriptionId}/events", "GetEventsController_getEvents"),
            ("GET", "/{subscriptionId}/secrets", "GetSigningSecretController_getSigningSecret"),
            (
                "POST",
                "/{subscriptionId}/events/retry-failure",
                "RetryEventFailuresController_retryEventFailures",
            ),
            (
                "POST",
                "/{subscriptionId}/events/retry-success",
                "RetryEventSuccessesController_retryEventSuccesses",
            ),
            (
                "POST",
                "/{subscriptionId}/secrets/rotate",
                "RotateSigningSecretController_rotateSigningSecret",
            ),
        ]
    },
}

# The published schemas' property names we serve: (required, optional).
_SESSION_REQUIRED = {
    "_id",
    "pathId",
    "name",
    "startDate",
    "mainInstructorId",
    "instructorIds",
    "groupId",
    "registrationRequestValidation",
    "isAudienceBuilder",
    "createdAt",
    "modifiedAt",
}
_SESSION_OPTIONAL = {
    "endDate",
    "userLimit",
    "automaticReenrollment",
    "ipFiltering",
    "additionalInformation",
    "rootSessionId",
}
PATH_SESSION = ({*_SESSION_REQUIRED, "translations"}, _SESSION_OPTIONAL)
PATH_SESSION_WITHOUT_TRANSLATIONS = (_SESSION_REQUIRED, _SESSION_OPTIONAL)
PATH = (
    {
        "_id",
        "name",
        "groupId",
        "authorId",
        "coAuthorIds",
        "createdAt",
        "modifiedAt",
        "defaultLang",
        "sourceLang",
        "options",
        "status",
        "steps",
        "translations",
    },
    {"certificateId", "description", "additionalInformation"},
)
GROUP = ({"_id", "name", "public"}, {"parentId", "custom"})
USER = (
    {"_id", "status", "lang"},
    {
        "mail",
        "username",
        "firstName",
        "lastName",
        "job",
        "organization",
        "phone",
        "custom",
        "primaryGroupId",
    },
)
USER_ROLE = ({"userId", "role"}, set[str]())
MEMBERSHIP = ({"groupId", "role"}, set[str]())
CREATE_BODY = (
    {"mainInstructorId", "registrationRequestValidation", "startDate", "name"},
    {
        "endDate",
        "userLimit",
        "automaticReenrollment",
        "ipFiltering",
        "additionalInformation",
        "instructorIds",
    },
)
EDIT_BODY = (
    set[str](),
    {
        "additionalInformation",
        "instructorIds",
        "mainInstructorId",
        "name",
        "groupId",
        "registrationRequestValidation",
        "startDate",
        "endDate",
        "userLimit",
        "automaticReenrollment",
        "ipFiltering",
    },
)
CHILD_BODY = (set[str](), {"additionalInformation", "mainInstructorId", "instructorIds"})
_STAT_REQUIRED = {"_id", "progress", "status", "timeSpent", "userId", "enrolledAt", "selfEnrolled"}
_STAT_OPTIONAL = {"completedAt", "score", "unenrolledAt", "certificateId", "startedAt", "dueDate"}
SESSION_USER_STAT = (_STAT_REQUIRED, _STAT_OPTIONAL)
PATH_SESSION_USER_STAT = ({*_STAT_REQUIRED, "pathId", "sessionId"}, _STAT_OPTIONAL)
AGGREGATED_SESSION_STAT = ({"certificates", "usersCountByStatus"}, set[str]())
TOKEN_BODY = (
    {"grant_type", "client_id", "client_secret"},
    {"user_id", "company_id"},
)
TOKEN_ANSWER = ({"token_type", "access_token", "expires_in"}, set[str]())
AUDIENCE = ({"filters", "mode"}, set[str]())
ENROLLMENT = (
    {"_id", "createdAt", "isSelfEnrolled", "sessionId", "status", "userId"},
    {"archivedAt", "modifiedAt"},
)
SUBSCRIPTION_BODY = ({"eventType", "name", "url"}, set[str]())
SUBSCRIPTION = ({"eventType", "name", "url", "_id", "status"}, set[str]())
SUBSCRIPTION_PATCH = (set[str](), {"name", "status", "url"})
SIGNING_SECRET = ({"secret"}, set[str]())
WEBHOOK_EVENT = ({"_id", "createdAt", "status", "payload"}, set[str]())
RETRY_BODY = ({"startDate", "endDate"}, set[str]())

Shape = tuple[set[str], set[str]]
# operationId -> (the request body's shape or None, the success answer's shape; for a list,
# the shape of an item).
SHAPES: dict[str, tuple[Shape | None, Shape | None]] = {
    "v2.authentication.GenerateTokenController_generateToken": (TOKEN_BODY, TOKEN_ANSWER),
    "v2.paths.CreatePathSessionController_createPathSession": (CREATE_BODY, PATH_SESSION),
    "v2.paths.GetPathSessionsController_getPathSessions": (None, PATH_SESSION),
    "v2.paths.GetAllPathSessionsController_getAllPathSessions": (
        None,
        PATH_SESSION_WITHOUT_TRANSLATIONS,
    ),
    "v2.paths.GetPathSessionController_getPathSession": (None, PATH_SESSION),
    "v2.paths.ModifyPathSessionController_modifyPathSession": (EDIT_BODY, PATH_SESSION),
    "v2.paths.DeletePathSessionController_deletePathSession": (None, None),
    "v2.paths.ModifyChildPathSessionController_modifyChildPathSession": (
        CHILD_BODY,
        PATH_SESSION,
    ),
    "v2.paths.GetPathsController_getPaths": (None, PATH),
    "v2.paths.GetPathController_getPath": (None, PATH),
    "v2.groups.GetGroupsController_getGroups": (None, GROUP),
    "v2.groups.GetGroupController_getGroup": (None, GROUP),
    "v2.groups.GetGroupMembersController_getGroupMembers": (None, USER_ROLE),
    "v2.users.GetUsersController_getUsers": (None, USER),
    "v2.users.GetUserController_getUser": (None, USER),
    "v2.users.GetUserRolesInGroupsController_getUserRolesInGroups": (None, MEMBERSHIP),
    "v2.paths.GetPathStatsController_getPathStats": (None, PATH_SESSION_USER_STAT),
    "v2.paths.v2.paths.GetSessionStatsController_getSessionStats": (
        None,
        AGGREGATED_SESSION_STAT,
    ),
    "v2.paths.GetUserStatsController_getUserStats": (None, SESSION_USER_STAT),
    "v2.paths.GetEnrollmentsController_getEnrollments": (None, ENROLLMENT),
    "v2.paths.GetSessionAudienceController_getSessionAudience": (None, AUDIENCE),
    "v2.paths.UpdateSessionAudienceController_updateSessionAudience": (AUDIENCE, AUDIENCE),
    "v2.paths.ArchiveSelfEnrollmentController_archiveSelfEnrollment": (None, None),
    # §8 webhooks.
    "v2.webhook.subscriptions.CreateSubscriptionController_createSubscription": (
        SUBSCRIPTION_BODY,
        SUBSCRIPTION,
    ),
    "v2.webhook.subscriptions.GetSubscriptionsController_getSubscriptions": (None, SUBSCRIPTION),
    "v2.webhook.subscriptions.GetSubscriptionController_getSubscription": (None, SUBSCRIPTION),
    "v2.webhook.subscriptions.UpdateSubscriptionController_updateSubscription": (
        SUBSCRIPTION_PATCH,
        SUBSCRIPTION,
    ),
    "v2.webhook.subscriptions.DeleteSubscriptionController_deleteSubscription": (None, None),
    "v2.webhook.subscriptions.GetEventsController_getEvents": (None, WEBHOOK_EVENT),
    "v2.webhook.subscriptions.GetSigningSecretController_getSigningSecret": (
        None,
        SIGNING_SECRET,
    ),
    "v2.webhook.subscriptions.RotateSigningSecretController_rotateSigningSecret": (
        None,
        SIGNING_SECRET,
    ),
    "v2.webhook.subscriptions.RetryEventFailuresController_retryEventFailures": (
        RETRY_BODY,
        None,
    ),
    "v2.webhook.subscriptions.RetryEventSuccessesController_retryEventSuccesses": (
        RETRY_BODY,
        None,
    ),
}

# The business errors the published document gives each operation, with their status.
PUBLISHED_ERRORS: dict[str, dict[str, int]] = {
    "v2.paths.CreatePathSessionController_createPathSession": {
        "invalidStartOrEndDate": 400,
        "invalidIpFiltering": 400,
        "missingCertificate": 400,
        "pathArchived": 400,
        "invalidRegistrationRequestOption": 400,
        "pathNotFound": 404,
        "usersNotFound": 404,
    },
    "v2.paths.GetPathSessionsController_getPathSessions": {"pathNotFound": 404},
    "v2.paths.GetAllPathSessionsController_getAllPathSessions": {},
    "v2.paths.GetPathSessionController_getPathSession": {
        "sessionNotBelongToPath": 400,
        "pathNotFound": 404,
        "sessionNotFound": 404,
    },
    "v2.paths.ModifyPathSessionController_modifyPathSession": {
        "childPathSession": 400,
        "invalidIpFiltering": 400,
        "missingCertificate": 400,
        "invalidRegistrationRequestOption": 400,
        "sessionNotBelongToPath": 400,
        "sessionEnded": 400,
        "invalidStartOrEndDate": 400,
        "unsupportedEndDateUpdate": 400,
        "pathNotFound": 404,
        "sessionNotFound": 404,
        "groupNotFound": 404,
        "usersNotFound": 404,
    },
    "v2.paths.DeletePathSessionController_deletePathSession": {
        "sessionNotBelongToPath": 400,
        "pathNotFound": 404,
        "sessionNotFound": 404,
    },
    "v2.paths.ModifyChildPathSessionController_modifyChildPathSession": {
        "rootPathSession": 400,
        "sessionNotBelongToPath": 400,
        "sessionEnded": 400,
        "pathNotFound": 404,
        "sessionNotFound": 404,
        "usersNotFound": 404,
    },
    "v2.paths.GetPathsController_getPaths": {},
    "v2.paths.GetPathController_getPath": {"pathNotFound": 404},
    "v2.groups.GetGroupsController_getGroups": {},
    "v2.groups.GetGroupController_getGroup": {"groupNotFound": 404},
    "v2.groups.GetGroupMembersController_getGroupMembers": {"groupNotFound": 404},
    "v2.users.GetUsersController_getUsers": {},
    "v2.users.GetUserController_getUser": {"userNotFound": 404},
    "v2.users.GetUserRolesInGroupsController_getUserRolesInGroups": {"userNotFound": 404},
    "v2.paths.GetPathStatsController_getPathStats": {},
    "v2.paths.v2.paths.GetSessionStatsController_getSessionStats": {
        "sessionNotBelongToPath": 400,
        "pathNotFound": 404,
        "sessionNotFound": 404,
    },
    "v2.paths.GetUserStatsController_getUserStats": {
        "sessionNotBelongToPath": 400,
        "pathNotFound": 404,
        "sessionNotFound": 404,
    },
    # (§5) unsupportedAudienceFilter and the tokenBasedPath* codes concern features not
    # modelled: never answered, so not listed.
    "v2.paths.GetEnrollmentsController_getEnrollments": {"pathNotFound": 404},
    "v2.paths.GetSessionAudienceController_getSessionAudience": {
        "sessionNotBelongToPath": 400,
        "sessionIsNotAudienceBuilder": 400,
        "pathNotFound": 404,
        "sessionNotFound": 404,
    },
    "v2.paths.UpdateSessionAudienceController_updateSessionAudience": {
        "sessionNotBelongToPath": 400,
        "sessionIsNotAudienceBuilder": 400,
        "pathArchived": 400,
        "childPathSession": 400,
        "sessionEnded": 400,
        "invalidAudienceBuilderShape": 400,
        "pathNotFound": 404,
        "sessionNotFound": 404,
        "usersNotFound": 404,
        "groupsNotFound": 404,
    },
    "v2.paths.ArchiveSelfEnrollmentController_archiveSelfEnrollment": {
        "sessionNotBelongToPath": 400,
        "sessionEnded": 400,
        "childPathSession": 400,
        "learnerNotSelfEnrolled": 400,
        "pathNotFound": 404,
        "sessionNotFound": 404,
        "learnerNotEnrolled": 404,
    },
    # §8 webhooks; `urlUnreachable` (create, edit) needs a probe call, which we never make.
    "v2.webhook.subscriptions.CreateSubscriptionController_createSubscription": {
        "subscriptionAlreadyExists": 400,
        "subscriptionsLimitReached": 400,
    },
    "v2.webhook.subscriptions.GetSubscriptionsController_getSubscriptions": {},
    "v2.webhook.subscriptions.GetSubscriptionController_getSubscription": {
        "subscriptionNotFound": 404
    },
    "v2.webhook.subscriptions.UpdateSubscriptionController_updateSubscription": {
        "subscriptionAlreadyExists": 400,
        "subscriptionNotFound": 404,
    },
    "v2.webhook.subscriptions.DeleteSubscriptionController_deleteSubscription": {
        "subscriptionNotFound": 404
    },
    "v2.webhook.subscriptions.GetEventsController_getEvents": {"subscriptionNotFound": 404},
    "v2.webhook.subscriptions.GetSigningSecretController_getSigningSecret": {
        "subscriptionNotFound": 404
    },
    "v2.webhook.subscriptions.RotateSigningSecretController_rotateSigningSecret": {
        "subscriptionNotFound": 404
    },
    "v2.webhook.subscriptions.RetryEventFailuresController_retryEventFailures": {
        "invalidRetryTimeframe": 400,
        "activeSubscriptionNotFound": 404,
    },
    "v2.webhook.subscriptions.RetryEventSuccessesController_retryEventSuccesses": {
        "invalidRetryTimeframe": 400,
        "activeSubscriptionNotFound": 404,
    },
}

# What every authenticated v2 operation can answer, whatever it does.
CONVENTIONS = {
    "invalid_token": 401,
    "invalidApiVersion": 400,
    "invalid_scope": 403,
    "tooManyRequests": 429,
    "payloadTooLarge": 413,
    "serviceUnavailable": 503,
}


async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def v2_operations(doc: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (METHOD, path, operation object), for the paths under /api/v2."""
    return {
        op["operationId"]: (method.upper(), path, op)
        for path, methods in doc["paths"].items()
        if path.startswith("/api/v2/")
        for method, op in methods.items()
    }


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def shape(doc: dict[str, Any], schema: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(required, all) property names of an object schema (the parts of an `allOf` together),
    or of a list's items."""
    schema = resolve(doc, schema)
    if schema.get("type") == "array":
        schema = resolve(doc, schema["items"])
    required, names = set(schema.get("required", [])), set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        more_required, more_names = shape(doc, part)
        required |= more_required
        names |= more_names
    return required, names


def answered(op: dict[str, Any]) -> dict[str, int]:
    """Every error code an operation's responses list, with the status listing it."""
    found: dict[str, int] = {}
    for status, response in op["responses"].items():
        examples = response.get("content", {}).get("application/json", {}).get("examples", {})
        for code in examples:
            found[code] = int(status)
    return found


def references(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [r for k, v in value.items() for r in ([v] if k == "$ref" else references(v))]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


async def test_every_reference_names_a_component(client: httpx.AsyncClient) -> None:
    doc = await document(client)
    refs = references(doc)
    assert "#/components/schemas/v2.Group" in refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in doc["components"]["schemas"], ref


async def test_every_operation_served_under_a_published_path_has_its_published_id(
    client: httpx.AsyncClient,
) -> None:
    ours = {
        (method, path): op_id
        for op_id, (method, path, _) in v2_operations(await document(client)).items()
    }
    for key, op_id in ours.items():
        if key in PUBLISHED:
            assert op_id == PUBLISHED[key], key
    assert set(ours) >= set(PUBLISHED), sorted(set(PUBLISHED) - set(ours))
    # Every v2 operation id is written as the published ones are (one of which repeats its
    # prefix).
    for op_id in ours.values():
        assert re.fullmatch(r"v2(?:\.\w+)+\.\w+Controller_\w+", op_id), op_id


async def test_bodies_and_answers_have_the_published_property_names(
    client: httpx.AsyncClient,
) -> None:
    doc = await document(client)
    operations = v2_operations(doc)
    for op_id, (body_shape, answer_shape) in SHAPES.items():
        _, _, op = operations[op_id]
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body_shape is None:
            assert body is None, op_id
        else:
            required, names = shape(doc, body["schema"])
            assert required == body_shape[0], op_id
            assert names >= body_shape[0] | body_shape[1], (op_id, body_shape[1] - names)
        success = next(
            (status, r) for status, r in op["responses"].items() if status.startswith("2")
        )
        content = success[1].get("content", {}).get("application/json")
        if answer_shape is None:
            assert success[0] == "204", op_id
            assert not content, op_id
        else:
            required, names = shape(doc, content["schema"])
            assert required == answer_shape[0], (op_id, required ^ answer_shape[0])
            assert names >= answer_shape[0] | answer_shape[1], (op_id, answer_shape[1] - names)


async def test_every_operation_needs_the_version_header_and_its_scope(
    client: httpx.AsyncClient,
) -> None:
    operations = v2_operations(await document(client))
    assert set(operations) == set(SCOPE_OF) | {
        "v2.authentication.GenerateTokenController_generateToken"
    }
    for op_id, scope in SCOPE_OF.items():
        _, _, op = operations[op_id]
        (version,) = [p for p in op["parameters"] if p["name"] == "360-api-version"]
        assert version["in"] == "header"
        assert version["required"] is True
        assert version["schema"]["enum"] == ["v2.0"]
        assert op["security"] == [{"oauth2": [scope]}], op_id
        assert f"`{scope}`" in op["description"], op_id


async def test_every_list_describes_its_filters_next_and_link(client: httpx.AsyncClient) -> None:
    operations = v2_operations(await document(client))
    listings = {
        value.operation_id: value
        for module in routes.MODULES
        for value in vars(module).values()
        if isinstance(value, Listing)
    }
    lists = [
        op_id
        for op_id, (_, _, op) in operations.items()
        if "headers" in op["responses"].get("200", {}) or op_id in listings
    ]
    # The lists of the contract, at least; a roles list takes no filter.
    assert len(lists) >= 7, lists
    for op_id in lists:
        _, _, op = operations[op_id]
        success = op["responses"]["200"]
        assert success["headers"]["Link"]["schema"] == {"type": "string"}, op_id
        assert success["content"]["application/json"]["schema"]["type"] == "array", op_id
        names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        listing = listings.get(op_id)
        expected = {
            f"{field}[{operator}]"
            for field, kind in (listing.filters if listing else {}).items()
            for operator in kind.operators
        }
        assert names == expected | {"next"}, op_id
        if listing is not None:
            assert f"at most {listing.page_size} " in success["description"], op_id


async def test_every_error_is_listed_with_its_status_and_its_published_ones_too(
    client: httpx.AsyncClient,
) -> None:
    operations = v2_operations(await document(client))
    status_of = statuses()
    for op_id in SCOPE_OF:
        _, _, op = operations[op_id]
        listed = answered(op)
        for code, status in listed.items():
            assert status_of[code] == status, (op_id, code)
        for code, status in CONVENTIONS.items():
            assert listed.get(code) == status, (op_id, code)
        validates = "requestBody" in op or any(p["in"] == "query" for p in op["parameters"])
        assert ("badRequest" in listed) == validates, op_id
        for code, status in PUBLISHED_ERRORS.get(op_id, {}).items():
            assert listed.get(code) == status, (op_id, code)
        # The schema of each status admits its codes only, in their envelope.
        for status, response in op["responses"].items():
            schema = (
                response["content"]["application/json"]["schema"] if int(status) >= 400 else None
            )
            if schema is None or status == "500":
                continue
            options = schema.get("anyOf", [schema])
            enumerated = set()
            for option in options:
                error = option.get("properties", {}).get("error", {})
                enumerated |= set(error.get("enum", []))
                enumerated |= set(error.get("properties", {}).get("code", {}).get("enum", []))
            codes = {c for c, s in listed.items() if str(s) == status}
            assert enumerated == codes, (op_id, status)
            for option in options:
                error = option.get("properties", {}).get("error", {})
                if "enum" in error:
                    assert set(error["enum"]) <= BARE, (op_id, status)


async def test_the_unexpected_fault_and_the_unknown_route_are_described(
    client: httpx.AsyncClient,
) -> None:
    doc = await document(client)
    for op_id in SCOPE_OF:
        _, _, op = v2_operations(doc)[op_id]
        fault = op["responses"]["500"]["content"]["application/json"]["schema"]
        assert fault["properties"]["error"]["properties"]["code"]["enum"] == ["internalError"]
        not_found = op["responses"]["404"]["content"]["application/json"]["schema"]
        refs = [o.get("$ref") for o in not_found.get("anyOf", [not_found])]
        assert "#/components/schemas/NotFound" in refs, op_id


async def test_v2_s_own_document_has_every_v2_operation(client: httpx.AsyncClient) -> None:
    """The document /docs shows for v2: every v2 operation with its scope, and no v1 one."""
    r = await client.get("/openapi/v2.json")
    assert r.status_code == 200
    doc = r.json()
    for op in OPERATIONS:
        described = doc["paths"][op.route.path][op.route.method.lower()]
        assert described["operationId"] == op.route.operation_id
        assert described["security"] == [{"oauth2": [op.scope]}]
    assert not any(path.startswith("/api/v1/") for path in doc["paths"])
