"""The records the core works with. Storage answers these, never rows; each API version
turns them into its own JSON shapes.

Frozen msgspec Structs rather than frozen dataclasses: they are built in C, several times
faster than a frozen dataclass's `__init__` (which sets each field through
`object.__setattr__`), and every request builds a few of them.
"""

from __future__ import annotations

import msgspec


class Company(msgspec.Struct, frozen=True):
    id: str
    name: str
    owner_user_id: str | None


class ApiKeyInfo(msgspec.Struct, frozen=True):
    """What may be shown of an API key: never the key, nor its hash."""

    id: str
    label: str
    created_at: int
    revoked_at: int | None


class NewKey(msgspec.Struct, frozen=True):
    """A key just made: the only moment its secret value is known."""

    id: str
    key: str


class Client(msgspec.Struct, frozen=True):
    """Who a v2 request acts as: a company's API credential, with the scopes it was given."""

    company: Company
    credential_id: str
    scopes: frozenset[str]


class CredentialInfo(msgspec.Struct, frozen=True):
    """What may be shown of a v2 API credential: never its secret, nor its hash."""

    id: str
    client_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: int
    revoked_at: int | None


class NewCredential(msgspec.Struct, frozen=True):
    """A credential just made: the only moment its secret is known."""

    client_id: str
    client_secret: str
    name: str
    scopes: tuple[str, ...]


# A session's settings beyond v1's fields. Stored as JSON text in their session's row, in
# these camelCase names (`rename`): the column holds the same shape v2 shows.


class Reenrollment(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """Automatic re-enrolment: `recurrence_months` only with `pathCompletionDate`."""

    type: str
    delay_days: int | float
    recurrence_months: int | float | None = None


class IpFiltering(msgspec.Struct, frozen=True, rename="camel"):
    active: bool
    authorized_addresses: tuple[str, ...]


class TranslatedFields(msgspec.Struct, frozen=True, omit_defaults=True):
    name: str | None = None


class SessionTranslation(msgspec.Struct, frozen=True, rename="camel"):
    lang: str
    published: bool
    translator_ids: tuple[str, ...]
    translated_fields: TranslatedFields


# What a session registered before these settings existed has: v1 sets none of them.
REGISTRATION_DISABLED = "disabled"


class NewSession(msgspec.Struct, frozen=True):
    """A validated path session, ready to store. `instructor_ids[0]` is the main instructor."""

    id: str
    company_id: str
    path_id: str
    name: str
    start_date: int
    end_date: int | None
    owner_group_id: str
    instructor_ids: tuple[str, ...]
    additional_information: str | None
    created_at: int
    registration_request_validation: str = REGISTRATION_DISABLED
    user_limit: int | None = None
    automatic_reenrollment: Reenrollment | None = None
    ip_filtering: IpFiltering | None = None
    is_audience_builder: bool = False
    translations: tuple[SessionTranslation, ...] = ()
    root_session_id: str | None = None


class StoredSession(msgspec.Struct, frozen=True):
    """A session as stored. Its instructors in order, the main one first, by e-mail address
    (v1 names them so) and by id (v2 does)."""

    id: str
    path_id: str
    name: str
    start_date: int
    end_date: int | None
    owner_group_id: str
    additional_information: str | None
    created_at: int
    modified_at: int
    instructor_mails: tuple[str, ...]
    instructor_ids: tuple[str, ...]
    registration_request_validation: str
    user_limit: int | None
    automatic_reenrollment: Reenrollment | None
    ip_filtering: IpFiltering | None
    is_audience_builder: bool
    translations: tuple[SessionTranslation, ...]
    root_session_id: str | None


class Person(msgspec.Struct, frozen=True):
    """A user of a company: id, e-mail address as stored, and names."""

    id: str
    mail: str
    first_name: str
    last_name: str


class UserProfile(msgspec.Struct, frozen=True):
    """Everything stored about a user, deleted users included: what v2 shows of one.
    The optional texts are absent (None) rather than empty."""

    id: str
    mail: str
    first_name: str
    last_name: str
    status: str
    lang: str
    username: str | None = None
    job: str | None = None
    organization: str | None = None
    phone: str | None = None
    custom: str | None = None
    primary_group_id: str | None = None


class Membership(msgspec.Struct, frozen=True):
    """One user's role in one group."""

    user_id: str
    group_id: str
    role: str


class Group(msgspec.Struct, frozen=True):
    id: str
    name: str
    public: bool
    parent_id: str | None
    # Free text an operator keeps on the group; v2 shows it, v1 does not.
    custom: str | None = None


class Path(msgspec.Struct, frozen=True):
    id: str
    name: str
    group_id: str
    status: str
    created_at: int
    modified_at: int


# The stored JSON of a path's options and translations uses v2's camelCase names, so a
# column decodes straight into these records.
class PathOptions(msgspec.Struct, frozen=True, rename="camel"):
    linear_progression: bool = False
    mandatory_replay: bool = False
    display_forum: bool = False
    display_classroom_messages: bool = False
    automated_reminders: bool = False
    notification_on_step_creation: bool = False


class PathTranslatedFields(msgspec.Struct, frozen=True, omit_defaults=True):
    name: str | None = None
    description: str | None = None


class PathTranslation(msgspec.Struct, frozen=True, rename="camel"):
    lang: str
    published: bool
    translator_ids: tuple[str, ...] = ()
    translated_fields: PathTranslatedFields = PathTranslatedFields()


class PathProfile(msgspec.Struct, frozen=True):
    """Everything stored about a path: what v2 shows of one. `author_id` None is the
    company's platform owner: read back, it is that owner's id (None only for a company
    without one)."""

    path: Path
    author_id: str | None = None
    co_author_ids: tuple[str, ...] = ()
    default_lang: str = "en"
    source_lang: str = "en"
    options: PathOptions = PathOptions()
    translations: tuple[PathTranslation, ...] = ()
    certificate_id: str | None = None
    description: str | None = None
    additional_information: str | None = None


class PathWithSessions(msgspec.Struct, frozen=True):
    path: Path
    session_ids: list[str]


class SessionDetail(msgspec.Struct, frozen=True):
    """One session with what a read of it shows: its path, enrolled users and groups."""

    session: StoredSession
    path: Path
    users: list[Person]
    groups: list[Group]


class SessionPath(msgspec.Struct, frozen=True):
    """What the session rules need to know of a path."""

    id: str
    status: str
    group_id: str
    certificate_id: str | None


class OwnerGroup(msgspec.Struct, frozen=True):
    """A group that may own a session, and whether anyone in it may validate a registration
    as a manager (a user holding `admin` or `coach` there)."""

    id: str
    has_managers: bool


class Progress(msgspec.Struct, frozen=True):
    """A learner's recorded progress in one session. No API writes it: fixtures and the
    sandbox do. `status` and `reason` are a recorded status (v2's `status.type` and
    `status.reason`); when `status` is None, the status follows from the session's dates."""

    progress: int
    status: str | None = None
    reason: str | None = None
    time_spent: int | None = None
    score: float | None = None
    completed_at: int | None = None
    started_at: int | None = None
    certificate_id: str | None = None


class Enrollment(msgspec.Struct, frozen=True):
    """One user in one session, whichever API version (or fixture) enrolled them. An
    unenrolled user's enrollment is kept, `archived`; enrolling them again publishes the same
    one."""

    id: str
    session_id: str
    path_id: str
    user_id: str
    created_at: int
    modified_at: int
    self_enrolled: bool
    status: str
    archived_at: int | None
    progress: Progress | None


class AudienceFilter(msgspec.Struct, frozen=True):
    """One filter of a session's audience: `type` is `users`, `groups` or `excludedLearners`;
    `ids` lower-cased, each once, in the order given."""

    type: str
    ids: tuple[str, ...]


class Audience(msgspec.Struct, frozen=True):
    """Who a session's audience includes, and how its enrollments follow it (`mode`)."""

    mode: str
    filters: tuple[AudienceFilter, ...] = ()

    def ids(self, kind: str) -> tuple[str, ...]:
        """The ids of the filter of that type; none when the audience has no such filter."""
        return next((f.ids for f in self.filters if f.type == kind), ())
