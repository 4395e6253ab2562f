"""The closed table of API error codes, the one exception type, and the one renderer.

Every error the API answers is an `ApiError(code)`; its HTTP status comes from `STATUS`,
nowhere else. `docs/errors.md` lists the same table (a test keeps the two in step).
"""

from __future__ import annotations

import msgspec

# PATCH /api/v1/paths/sessions/{id} answers in another style: whole sentences, the field ones
# worded as the class-validator library words them (the documented ones are copied exactly).
PATCH_PREFIX = "Request validation failed: "
PATCH_FIELD_MESSAGES = (
    "sessionName should not be empty",
    "sessionName must be a string",
    "sessionName must be shorter than or equal to 1000 characters",
    "sessionName must not contain NUL characters",
    "sessionOwnerGroup must be a mongodb id",
    "startDate must be a valid ISO 8601 date string",
    "endDate must be a valid ISO 8601 date string",
    "instructorsMails should not be empty",
    "instructorsMails must be an array",
    "each value in instructorsMails must be an email",
    "instructorsMails must contain no more than 100 elements",
    "sessionAdditionalInformation must be a string",
    "sessionAdditionalInformation must be shorter than or equal to 10000 characters",
    "sessionAdditionalInformation must not contain NUL characters",
)
PATCH_RULE_MESSAGES = (
    "Session startDate cannot be updated because the session is running and has enrolled learners.",
    "Session cannot be updated because new session start date is in the past.",
    "Session cannot be updated because new session end date is in the past.",
    "Session cannot be updated because new session end date precedes session start date.",
)

STATUS: dict[str, int] = {
    # Conventions shared by every endpoint (spec section 1-2).
    "invalid_body": 400,
    "payload_too_large": 413,
    "unauthorized": 401,
    "database_unavailable": 503,
    # Per-company rate limits (docs/api.md); the answer also carries Retry-After.
    "tooManyRequests": 429,
    # Create a path session (spec section 4), in the order the checks run.
    "path_not_found": 404,
    "invalid_session_name": 400,
    "invalid_start_date": 400,
    "invalid_end_date": 400,
    "invalid_session_owner_group": 400,
    "session_owner_group_not_found": 400,
    "invalid_instructors": 400,
    "instructors_not_found": 400,
    "invalid_session_additional_information": 400,
    # Bearer tokens (spec section 2, method 3).
    "invalid_request": 400,
    "unsupported_grant_type": 400,
    "invalid_client": 401,
    # The rest of the path-session family (spec section 5).
    "path_session_not_found": 404,
    "invalid_users": 400,
    "users_not_found": 400,
    "invalid_groups": 400,
    "groups_not_found": 400,
    # Company reads (spec section 6); the real service answers an unknown user with 400.
    "group_not_found": 404,
    "user_not_found": 400,
    **{PATCH_PREFIX + message: 400 for message in PATCH_FIELD_MESSAGES},
    **dict.fromkeys(PATCH_RULE_MESSAGES, 400),
}


class ApiError(Exception):
    """An answer of the documented kind: `{"error": code}` with the table's status."""

    def __init__(self, code: str) -> None:
        if code not in STATUS:
            raise KeyError(f"error code missing from errors.STATUS: {code}")
        super().__init__(code)
        self.code = code
        self.status = STATUS[code]


_encode = msgspec.json.Encoder().encode


def error_body(message: str) -> bytes:
    return _encode({"error": message})


def render(error: ApiError) -> tuple[int, bytes]:
    return error.status, error_body(error.code)


def not_found_body(documentation_url: str) -> bytes:
    """The unknown-route answer: the real service's two keys, not an `error` member."""
    return _encode({"message": "Not Found", "documentation_url": documentation_url})


def internal_error_body(error_id: str) -> bytes:
    return error_body(f"an error occurred: {error_id}")
