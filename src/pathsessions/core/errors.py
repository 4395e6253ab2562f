"""The closed set of failures the core reports, by domain name.

These are not wire strings: each API version maps every member to its own status and text in
one table (`api/v1/errors.py`), and a test checks that table covers them all. An enum, so a
mistyped code is a type error rather than a fault at run time.
"""

from __future__ import annotations

from enum import Enum, auto


class ErrorCode(Enum):
    # The request as a whole.
    INVALID_BODY = auto()
    PAYLOAD_TOO_LARGE = auto()
    UNAUTHENTICATED = auto()
    RATE_LIMITED = auto()
    DATABASE_UNAVAILABLE = auto()
    SERVICE_UNAVAILABLE = auto()
    # Token requests.
    INVALID_TOKEN_REQUEST = auto()
    UNSUPPORTED_GRANT_TYPE = auto()
    INVALID_CLIENT = auto()
    # Objects that are missing (or belong to another company, which answers the same).
    PATH_NOT_FOUND = auto()
    SESSION_NOT_FOUND = auto()
    GROUP_NOT_FOUND = auto()
    USER_NOT_FOUND = auto()
    OWNER_GROUP_NOT_FOUND = auto()
    INSTRUCTORS_NOT_FOUND = auto()
    USERS_NOT_FOUND = auto()
    GROUPS_NOT_FOUND = auto()
    # Fields of a session, or of an enrolment, that break their rules.
    INVALID_SESSION_NAME = auto()
    INVALID_START_DATE = auto()
    INVALID_END_DATE = auto()
    INVALID_OWNER_GROUP = auto()
    INVALID_INSTRUCTORS = auto()
    INVALID_ADDITIONAL_INFORMATION = auto()
    INVALID_USERS = auto()
    INVALID_GROUPS = auto()
    # The rules on changing a session's dates, against the clock.
    START_LOCKED_WHILE_RUNNING = auto()
    START_IN_PAST = auto()
    END_IN_PAST = auto()
    END_BEFORE_START = auto()
    # v2: credentials, the request as a whole.
    INVALID_API_VERSION = auto()
    INVALID_TOKEN = auto()
    INSUFFICIENT_SCOPE = auto()
    NON_EXISTING_USER = auto()
    # v2 path sessions, in the order their checks run (docs/api-v2.md).
    PATH_ARCHIVED = auto()
    INVALID_DATES = auto()
    INVALID_IP_FILTERING = auto()
    MISSING_CERTIFICATE = auto()
    INVALID_REGISTRATION_OPTION = auto()
    SESSION_NOT_IN_PATH = auto()
    CHILD_SESSION = auto()
    ROOT_SESSION = auto()
    SESSION_ENDED = auto()
    END_DATE_LOCKED = auto()
    # v2 §5: audiences, enrollments and self-enrollments, in the order their checks run.
    NOT_AUDIENCE_BUILDER = auto()
    INVALID_AUDIENCE_SHAPE = auto()
    LEARNER_NOT_ENROLLED = auto()
    LEARNER_NOT_SELF_ENROLLED = auto()
    # (end of §5)
    # §8 webhooks, in the order their checks run (docs/api-v2.md).
    SUBSCRIPTION_NOT_FOUND = auto()
    ACTIVE_SUBSCRIPTION_NOT_FOUND = auto()
    SUBSCRIPTION_ALREADY_EXISTS = auto()
    SUBSCRIPTIONS_LIMIT_REACHED = auto()
    INVALID_RETRY_TIMEFRAME = auto()


class DomainError(Exception):
    """A documented failure. `field` names the offending input in the caller's own terms,
    when the caller gave one (the fixture loader points at it)."""

    def __init__(self, code: ErrorCode, field: str | None = None) -> None:
        super().__init__(code.name)
        self.code = code
        self.field = field
