"""v1's closed table of errors: every core `ErrorCode` -> its status and wire string, the
PATCH field sentences, and the one place v1 error bodies are made.

`docs/errors.md` lists the same table (a test keeps the two in step), and a test checks the
table covers every member of `ErrorCode`.
"""

from __future__ import annotations

from enum import Enum

import msgspec

from ...core.errors import DomainError, ErrorCode
from ...core.values import MAX_ADDITIONAL_INFORMATION, MAX_INSTRUCTORS, MAX_SESSION_NAME

E = ErrorCode

# The wire strings, in the order docs/errors.md lists them.
ERRORS: dict[ErrorCode, tuple[int, str]] = {
    # Conventions shared by every endpoint (docs/api.md, "Conventions").
    E.INVALID_BODY: (400, "invalid_body"),
    E.PAYLOAD_TOO_LARGE: (413, "payload_too_large"),
    E.UNAUTHENTICATED: (401, "unauthorized"),
    E.DATABASE_UNAVAILABLE: (503, "database_unavailable"),
    E.SERVICE_UNAVAILABLE: (503, "service_unavailable"),
    # Per-company rate limits. camelCase is the real service's own spelling of this one.
    E.RATE_LIMITED: (429, "tooManyRequests"),
    # Create a path session, in the order the checks run.
    E.PATH_NOT_FOUND: (404, "path_not_found"),
    E.INVALID_SESSION_NAME: (400, "invalid_session_name"),
    E.INVALID_START_DATE: (400, "invalid_start_date"),
    E.INVALID_END_DATE: (400, "invalid_end_date"),
    E.INVALID_OWNER_GROUP: (400, "invalid_session_owner_group"),
    E.OWNER_GROUP_NOT_FOUND: (400, "session_owner_group_not_found"),
    E.INVALID_INSTRUCTORS: (400, "invalid_instructors"),
    E.INSTRUCTORS_NOT_FOUND: (400, "instructors_not_found"),
    E.INVALID_ADDITIONAL_INFORMATION: (400, "invalid_session_additional_information"),
    # Bearer tokens.
    E.INVALID_TOKEN_REQUEST: (400, "invalid_request"),
    E.UNSUPPORTED_GRANT_TYPE: (400, "unsupported_grant_type"),
    E.INVALID_CLIENT: (401, "invalid_client"),
    E.NON_EXISTING_USER: (400, "non_existing_user"),
    # The rest of the path-session family.
    E.SESSION_NOT_FOUND: (404, "path_session_not_found"),
    E.INVALID_USERS: (400, "invalid_users"),
    E.USERS_NOT_FOUND: (400, "users_not_found"),
    E.INVALID_GROUPS: (400, "invalid_groups"),
    E.GROUPS_NOT_FOUND: (400, "groups_not_found"),
    # Company reads; the real service answers an unknown user with 400.
    E.GROUP_NOT_FOUND: (404, "group_not_found"),
    E.USER_NOT_FOUND: (400, "user_not_found"),
    # PATCH's rules on dates: whole sentences, as the real service answers them.
    E.START_LOCKED_WHILE_RUNNING: (
        400,
        "Session startDate cannot be updated because the session is running and has "
        "enrolled learners.",
    ),
    E.START_IN_PAST: (
        400,
        "Session cannot be updated because new session start date is in the past.",
    ),
    E.END_IN_PAST: (400, "Session cannot be updated because new session end date is in the past."),
    E.END_BEFORE_START: (
        400,
        "Session cannot be updated because new session end date precedes session start date.",
    ),
}

# Codes only v2's rules raise: v1 has no words for them, and a v1 operation raising one is a
# fault (a test keeps ERRORS and this set together equal to ErrorCode).
NOT_RAISED = frozenset(
    {
        E.INVALID_API_VERSION,
        E.INVALID_TOKEN,
        E.INSUFFICIENT_SCOPE,
        E.PATH_ARCHIVED,
        E.INVALID_DATES,
        E.INVALID_IP_FILTERING,
        E.MISSING_CERTIFICATE,
        E.INVALID_REGISTRATION_OPTION,
        E.SESSION_NOT_IN_PATH,
        E.CHILD_SESSION,
        E.ROOT_SESSION,
        E.SESSION_ENDED,
        E.END_DATE_LOCKED,
        # v2 §5.
        E.NOT_AUDIENCE_BUILDER,
        E.INVALID_AUDIENCE_SHAPE,
        E.LEARNER_NOT_ENROLLED,
        E.LEARNER_NOT_SELF_ENROLLED,
        # §8 webhooks: v2 only.
        E.SUBSCRIPTION_NOT_FOUND,
        E.ACTIVE_SUBSCRIPTION_NOT_FOUND,
        E.SUBSCRIPTION_ALREADY_EXISTS,
        E.SUBSCRIPTIONS_LIMIT_REACHED,
        E.INVALID_RETRY_TIMEFRAME,
    }
)

# PATCH /api/v1/paths/sessions/{id} words its field errors as the class-validator library
# does (the documented ones are copied exactly), after this prefix.
PATCH_PREFIX = "Request validation failed: "


class FieldMessage(Enum):
    NAME_EMPTY = "sessionName should not be empty"
    NAME_NOT_STRING = "sessionName must be a string"
    NAME_TOO_LONG = f"sessionName must be shorter than or equal to {MAX_SESSION_NAME} characters"
    NAME_NUL = "sessionName must not contain NUL characters"
    OWNER_GROUP = "sessionOwnerGroup must be a mongodb id"
    START_DATE = "startDate must be a valid ISO 8601 date string"
    END_DATE = "endDate must be a valid ISO 8601 date string"
    INSTRUCTORS_EMPTY = "instructorsMails should not be empty"
    INSTRUCTORS_NOT_ARRAY = "instructorsMails must be an array"
    INSTRUCTORS_NOT_EMAIL = "each value in instructorsMails must be an email"
    INSTRUCTORS_TOO_MANY = f"instructorsMails must contain no more than {MAX_INSTRUCTORS} elements"
    INFO_NOT_STRING = "sessionAdditionalInformation must be a string"
    INFO_TOO_LONG = (
        "sessionAdditionalInformation must be shorter than or equal to "
        f"{MAX_ADDITIONAL_INFORMATION} characters"
    )
    INFO_NUL = "sessionAdditionalInformation must not contain NUL characters"


class FieldError(Exception):
    """A PATCH field that breaks its rule: 400 with `PATCH_PREFIX` and the sentence."""

    def __init__(self, message: FieldMessage) -> None:
        super().__init__(message.name)
        self.message = message


def wire(error: DomainError | FieldError) -> tuple[int, str]:
    """The status and the `error` string v1 answers for a failure."""
    if isinstance(error, FieldError):
        return 400, PATCH_PREFIX + error.message.value
    return ERRORS[error.code]


def all_wire_strings() -> dict[str, int]:
    """Every `error` string v1 can answer, with its status (docs and OpenAPI read this)."""
    strings = {text: status for status, text in ERRORS.values()}
    strings.update({PATCH_PREFIX + m.value: 400 for m in FieldMessage})
    return strings


_encode = msgspec.json.Encoder().encode


def error_body(message: str) -> bytes:
    return _encode({"error": message})


def render(error: DomainError | FieldError) -> tuple[int, bytes]:
    status, text = wire(error)
    return status, error_body(text)


def render_code(code: ErrorCode) -> tuple[int, bytes]:
    status, text = ERRORS[code]
    return status, error_body(text)


def internal_error_body(error_id: str) -> bytes:
    return error_body(f"an error occurred: {error_id}")


# Every `error` string with its status; and the PATCH sentences alone, fields then date rules.
STATUS: dict[str, int] = all_wire_strings()
PATCH_FIELD_MESSAGES = tuple(m.value for m in FieldMessage)
PATCH_RULE_MESSAGES = tuple(
    ERRORS[code][1]
    for code in (E.START_LOCKED_WHILE_RUNNING, E.START_IN_PAST, E.END_IN_PAST, E.END_BEFORE_START)
)
