"""v2's closed table of errors: every core `ErrorCode` v2 answers -> its status, its camelCase
code and our message; the request-validation failure (`BadRequest`); and the one place v2
error bodies are made.

Business errors are the nested envelope `{"error": {"code", "message"}}`, both members always
present. Two answers are a bare string instead, as the published API gives them: 401
`{"error": "invalid_token"}` and 429 `{"error": "tooManyRequests"}`.

`docs/api-v2.md` lists the same table, and a test checks that `ERRORS` and `NOT_RAISED`
together cover `ErrorCode`.
"""

from __future__ import annotations

import msgspec

from ...core.errors import DomainError, ErrorCode

E = ErrorCode

# code -> (status, wire code, message), in the order docs/api-v2.md lists them.
ERRORS: dict[ErrorCode, tuple[int, str, str]] = {
    # Conventions shared by every endpoint, in the order they are checked.
    E.PAYLOAD_TOO_LARGE: (413, "payloadTooLarge", "The request body is too large."),
    E.INVALID_TOKEN: (401, "invalid_token", ""),
    # A v1 failure to authenticate, should a credential rule raise it, is v2's too.
    E.UNAUTHENTICATED: (401, "invalid_token", ""),
    E.INVALID_API_VERSION: (
        400,
        "invalidApiVersion",
        "The 360-api-version header must be v2.0.",
    ),
    E.INSUFFICIENT_SCOPE: (
        403,
        "invalid_scope",
        "The access token lacks the scope this operation requires.",
    ),
    E.RATE_LIMITED: (429, "tooManyRequests", ""),
    E.INVALID_BODY: (400, "badRequest", "body: must be a JSON object"),
    E.DATABASE_UNAVAILABLE: (
        503,
        "databaseUnavailable",
        "The database cannot be reached; try again shortly.",
    ),
    E.SERVICE_UNAVAILABLE: (
        503,
        "serviceUnavailable",
        "The service cannot answer now; try again shortly.",
    ),
    # Objects that are missing (or another company's, which answers the same).
    E.PATH_NOT_FOUND: (404, "pathNotFound", "No such path."),
    E.SESSION_NOT_FOUND: (404, "sessionNotFound", "No such path session."),
    E.GROUP_NOT_FOUND: (404, "groupNotFound", "No such group."),
    E.USER_NOT_FOUND: (404, "userNotFound", "No such user."),
    E.USERS_NOT_FOUND: (404, "usersNotFound", "A user given is not a user of the company."),
    E.GROUPS_NOT_FOUND: (404, "groupsNotFound", "A group given is not a group of the company."),
    # Path sessions.
    E.PATH_ARCHIVED: (400, "pathArchived", "The path is archived."),
    E.INVALID_DATES: (400, "invalidStartOrEndDate", "The end date precedes the start date."),
    E.INVALID_IP_FILTERING: (
        400,
        "invalidIpFiltering",
        "An authorized address is not an IP address, a CIDR block or a * pattern.",
    ),
    E.MISSING_CERTIFICATE: (
        400,
        "missingCertificate",
        "Re-enrollment on certificate expiry needs a path with a certificate.",
    ),
    E.INVALID_REGISTRATION_OPTION: (
        400,
        "invalidRegistrationRequestOption",
        "The owner group has no admin or coach to validate registration requests.",
    ),
    E.SESSION_NOT_IN_PATH: (
        400,
        "sessionNotBelongToPath",
        "The session belongs to another path.",
    ),
    E.CHILD_SESSION: (
        400,
        "childPathSession",
        "The session is a child session: use the child-session route.",
    ),
    E.ROOT_SESSION: (400, "rootPathSession", "The session is not a child session."),
    E.SESSION_ENDED: (400, "sessionEnded", "The session has ended."),
    E.END_DATE_LOCKED: (
        400,
        "unsupportedEndDateUpdate",
        "The end date of an ended session cannot be changed.",
    ),
    # §5: audiences, enrollments and self-enrollments.
    E.NOT_AUDIENCE_BUILDER: (
        400,
        "sessionIsNotAudienceBuilder",
        "The session does not enrol through an audience.",
    ),
    E.INVALID_AUDIENCE_SHAPE: (
        400,
        "invalidAudienceBuilderShape",
        "An audience has at most one filter of each type.",
    ),
    E.LEARNER_NOT_ENROLLED: (
        404,
        "learnerNotEnrolled",
        "The learner has no published enrollment in the session.",
    ),
    E.LEARNER_NOT_SELF_ENROLLED: (
        400,
        "learnerNotSelfEnrolled",
        "The learner did not enrol themselves: change the session's audience instead.",
    ),
    # (end of §5)
    # §8 webhooks.
    E.SUBSCRIPTION_NOT_FOUND: (404, "subscriptionNotFound", "No such webhook subscription."),
    E.ACTIVE_SUBSCRIPTION_NOT_FOUND: (
        404,
        "activeSubscriptionNotFound",
        "No such active webhook subscription.",
    ),
    E.SUBSCRIPTION_ALREADY_EXISTS: (
        400,
        "subscriptionAlreadyExists",
        "A subscription already exists for this event type and URL.",
    ),
    E.SUBSCRIPTIONS_LIMIT_REACHED: (
        400,
        "subscriptionsLimitReached",
        "The company has the most subscriptions allowed for this event type (20).",
    ),
    E.INVALID_RETRY_TIMEFRAME: (
        400,
        "invalidRetryTimeframe",
        "The end date must follow the start date, at most 3 days after it.",
    ),
}

# Codes v2 never answers: the token endpoint's (it is a v1 route, answering in v1's words) and
# v1's field rules (v2 words a field error as `badRequest`). A v2 operation raising one is a
# fault (500). Moving a code from here into ERRORS is how v2 starts answering it.
NOT_RAISED = frozenset(
    {
        E.INVALID_TOKEN_REQUEST,
        E.UNSUPPORTED_GRANT_TYPE,
        E.INVALID_CLIENT,
        E.NON_EXISTING_USER,
        E.OWNER_GROUP_NOT_FOUND,
        E.INSTRUCTORS_NOT_FOUND,
        E.INVALID_SESSION_NAME,
        E.INVALID_START_DATE,
        E.INVALID_END_DATE,
        E.INVALID_OWNER_GROUP,
        E.INVALID_INSTRUCTORS,
        E.INVALID_ADDITIONAL_INFORMATION,
        E.INVALID_USERS,
        E.INVALID_GROUPS,
        E.START_LOCKED_WHILE_RUNNING,
        E.START_IN_PAST,
        E.END_IN_PAST,
        E.END_BEFORE_START,
    }
)

# The two answers the published API gives as a bare string.
BARE = frozenset({"invalid_token", "tooManyRequests"})

BAD_REQUEST = "badRequest"
INTERNAL_ERROR = "internalError"


class BadRequest(Exception):
    """A request that breaks its schema: 400 `badRequest`, the message naming the offending
    field's path first (`startDate: must be …`, `createdAt[gte]: must be …`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def field_error(path: str, what: str) -> BadRequest:
    return BadRequest(f"{path}: {what}")


_encode = msgspec.json.Encoder().encode


def body(code: str, message: str) -> bytes:
    if code in BARE:
        return _encode({"error": code})
    return _encode({"error": {"code": code, "message": message}})


def render(error: DomainError | BadRequest) -> tuple[int, bytes]:
    """The status and body v2 answers for a failure; KeyError for a code it never raises."""
    if isinstance(error, BadRequest):
        return 400, body(BAD_REQUEST, error.message)
    status, code, message = ERRORS[error.code]
    return status, body(code, message)


def render_code(code: ErrorCode) -> tuple[int, bytes]:
    status, wire, message = ERRORS[code]
    return status, body(wire, message)


def internal_error_body(error_id: str) -> bytes:
    return body(INTERNAL_ERROR, f"An unexpected error occurred: {error_id}")


def statuses() -> dict[str, int]:
    """Every code v2 can answer, with its status (the description reads this)."""
    found = {code: status for status, code, _ in ERRORS.values()}
    found[BAD_REQUEST] = 400
    found[INTERNAL_ERROR] = 500
    return found
