"""The records the core works with. Storage answers these, never rows; each API version
turns them into its own JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Company:
    id: str
    name: str
    owner_user_id: str | None


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What may be shown of an API key: never the key, nor its hash."""

    id: str
    label: str
    created_at: int
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just made: the only moment its secret value is known."""

    id: str
    key: str


@dataclass(frozen=True, slots=True)
class NewSession:
    """A validated path session, ready to store."""

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


@dataclass(frozen=True, slots=True)
class StoredSession:
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


@dataclass(frozen=True, slots=True)
class Person:
    """A user of a company: id, e-mail address as stored, and names."""

    id: str
    mail: str
    first_name: str
    last_name: str


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str
    public: bool
    parent_id: str | None


@dataclass(frozen=True, slots=True)
class Path:
    id: str
    name: str
    group_id: str
    status: str
    created_at: int
    modified_at: int


@dataclass(frozen=True, slots=True)
class PathWithSessions:
    path: Path
    session_ids: list[str]


@dataclass(frozen=True, slots=True)
class SessionDetail:
    """One session with what a read of it shows: its path, enrolled users and groups."""

    session: StoredSession
    path: Path
    users: list[Person]
    groups: list[Group]
