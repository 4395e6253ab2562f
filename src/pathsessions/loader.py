"""Loading a fixture document: companies with their keys, groups, users, paths and sessions.

All or nothing: the whole document is applied in one transaction and the first problem,
named by its JSON path, rolls everything back. Idempotent: objects are matched by `id`, else
by a natural key, and updated rather than duplicated. The format is in docs/fixtures.md.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from msgspec.structs import replace

from .api.v1 import requests as v1_requests
from .api.v1.errors import ERRORS
from .api.v2.errors import ERRORS as V2_ERRORS
from .core import audiences, sessions
from .core.clock import SYSTEM_CLOCK, Clock
from .core.directory import PATH_LANGS, USER_LANGS
from .core.errors import DomainError, ErrorCode
from .core.events import batched
from .core.ids import new_id
from .core.ipfilter import is_authorizable
from .core.keys import (
    MAX_ACTIVE_CREDENTIALS,
    MAX_ACTIVE_KEYS,
    generate_client_id,
    generate_key,
    hash_key,
)
from .core.lookups import Lookups
from .core.model import (
    Audience,
    AudienceFilter,
    Company,
    Group,
    IpFiltering,
    NewSession,
    Path,
    PathProfile,
    Person,
    Progress,
    Reenrollment,
    SessionTranslation,
    UserProfile,
)
from .core.operators import (
    PATH_STATUSES,
    ROLE_ALIASES,
    ROLES,
    USER_STATUSES,
    OperatorError,
    client_id,
    client_secret,
    credential_scopes,
    is_company_group,
)
from .core.path_sessions import MAX_AUTHORIZED_ADDRESSES, REENROLLMENT_TYPES, REGISTRATION_OPTIONS
from .core.values import is_object_id, normalize_email, parse_date, storable
from .documents import collector_paused
from .storage import Database, bulk
from .storage import audiences as audience_store
from .storage import companies as company_store
from .storage import credentials as credential_store
from .storage import groups as group_store
from .storage import paths as path_store
from .storage import sessions as session_store
from .storage import users as user_store

T = TypeVar("T")

_HASH = re.compile(r"[0-9a-f]{64}")

# A session's keys beyond v1's create body, read by `_session_settings`.
SESSION_SETTINGS = (
    "registrationRequestValidation",
    "userLimit",
    "automaticReenrollment",
    "ipFiltering",
    "isAudienceBuilder",
    "translations",
    "rootSession",
    "createdAt",
    "modifiedAt",
)

# A session's keys on who is enrolled, read by `_load_enrolment` once the session is stored.
SESSION_ENROLMENT = ("audience", "enrollments", "groups")

_FIELDS = {
    "document": {"companies"},
    "company": {
        "id",
        "name",
        "apiKeys",
        "apiKeyHashes",
        "apiCredentials",
        "owner",
        "groups",
        "users",
        "paths",
        "sessions",
    },
    "credential": {"clientId", "clientSecret", "clientSecretHash", "name", "scopes"},
    "group": {"id", "name", "public", "parent", "custom", "createdAt"},
    "user": {
        "id",
        "mail",
        "firstName",
        "lastName",
        "status",
        "roles",
        "lang",
        "username",
        "job",
        "organization",
        "phone",
        "custom",
        "createdAt",
    },
    "path": {
        "id",
        "name",
        "group",
        "status",
        "author",
        "certificateId",
        "defaultLang",
        "description",
        "additionalInformation",
        "createdAt",
        "modifiedAt",
    },
    "session": {
        "id",
        "path",
        "sessionName",
        "startDate",
        "endDate",
        "instructorsMails",
        "sessionOwnerGroup",
        "sessionAdditionalInformation",
        *SESSION_SETTINGS,
        *SESSION_ENROLMENT,
    },
    "audience": {"filters", "mode"},
    "audienceFilter": {"type", "ids"},
    "enrollment": {
        "id",
        "user",
        "selfEnrolled",
        "status",
        "createdAt",
        "archivedAt",
        "modifiedAt",
        "progress",
    },
    "progress": {
        "progress",
        "status",
        "timeSpent",
        "score",
        "completedAt",
        "startedAt",
        "certificateId",
    },
    "progressStatus": {"type", "reason"},
}


class FixtureError(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


@dataclass
class LoadReport:
    """What a load did, in lines for a person; generated keys appear here once."""

    lines: list[str] = field(default_factory=list)
    company_ids: list[str] = field(default_factory=list)
    generated_keys: dict[str, str] = field(default_factory=dict)
    # v2 credentials created with a generated secret: where, company, clientId, clientSecret.
    generated_credentials: list[dict[str, str]] = field(default_factory=list)
    # Objects loaded (created or updated), by kind, in the order of KINDS.
    counts: Counter[str] = field(default_factory=Counter)
    # Called after each object of the document, for a progress bar.
    progress: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def loaded(self, kind: str) -> None:
        self.counts[kind] += 1
        if self.progress is not None:
            self.progress()

    @property
    def summary(self) -> str:
        """`loaded 1 company: 2 groups, 4 users, 0 paths, 3 sessions, 1 API key`."""

        def number(kind: str) -> str:
            n = self.counts[kind]
            return f"{n} {kind if n != 1 else SINGULAR[kind]}"

        return f"loaded {number(KINDS[0])}: " + ", ".join(number(k) for k in KINDS[1:])


# The kinds of object a document holds, as the summary names them.
KINDS = ("companies", "groups", "users", "paths", "sessions", "API keys")
SINGULAR = dict(zip(KINDS, ("company", "group", "user", "path", "session", "API key"), strict=True))


def document_size(document: Any) -> int:
    """How many objects `load_document` will count in `document` (before checking it)."""
    companies = document.get("companies") if isinstance(document, dict) else None
    if not isinstance(companies, list):
        return 0
    total = len(companies)
    for company in companies:
        if isinstance(company, dict):
            for key in (
                "groups",
                "users",
                "paths",
                "sessions",
                "apiKeys",
                "apiKeyHashes",
                "apiCredentials",
            ):
                items = company.get(key)
                total += len(items) if isinstance(items, list) else 0
    return total


def _object(value: Any, where: str, kind: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FixtureError(where, "must be an object")
    known = _FIELDS[kind]
    if known.issuperset(value):  # without a set built per object: a fixture has millions
        return value
    unknown = sorted(set(value) - known)
    if unknown:
        raise FixtureError(f"{where}.{unknown[0]}", "unknown field")
    return value


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise FixtureError(f"{where}.{key}", "must be an array")
    return value


def _string(obj: dict[str, Any], key: str, where: str, *, default: str | None = None) -> str:
    value = obj.get(key, default)
    if value is None:
        raise FixtureError(f"{where}.{key}", "required")
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise FixtureError(f"{where}.{key}", "must be a non-empty string")
    if not storable(value):
        raise FixtureError(f"{where}.{key}", "must not contain NUL characters")
    return value


def _id(obj: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise FixtureError(f"{where}.{key}", "required")
        return None
    if not is_object_id(value):
        raise FixtureError(f"{where}.{key}", "not a valid id (24 hexadecimal characters)")
    return str(value).lower()


def _choice(obj: dict[str, Any], key: str, where: str, choices: tuple[str, ...]) -> str:
    value = obj.get(key, choices[0])
    if value not in choices:
        raise FixtureError(f"{where}.{key}", f"must be one of {', '.join(choices)}")
    return str(value)


async def _owned(db: Database, where: str, object_id: str, lookup: Any, company_id: str) -> None:
    """An id given in the document must not name another company's object."""
    owner = await lookup(db, object_id)
    if owner is not None and owner != company_id:
        raise FixtureError(where, "id belongs to another company")


async def load_document(
    db: Database,
    document: Any,
    *,
    clock: Clock = SYSTEM_CLOCK,
    reset: bool = False,
    generate_keys: bool = True,
    progress: Callable[[], None] | None = None,
) -> LoadReport:
    """Apply `document`; with `generate_keys`, a company left without any key gets one.
    `progress` is called after each object (`document_size` of them, and a generated key)."""
    doc = _object(document, "$", "document")
    companies = _list(doc, "companies", "$")
    report = LoadReport(progress=progress)
    with collector_paused():
        return await _load_all(db, companies, report, clock, reset, generate_keys)


async def _load_all(
    db: Database,
    companies: list[Any],
    report: LoadReport,
    clock: Clock,
    reset: bool,
    generate_keys: bool,
) -> LoadReport:
    async with bulk.roomy(db), db.transaction() as tx:
        if reset:
            for i, raw in enumerate(companies):
                where = f"companies[{i}]"
                company = _object(raw, where, "company")
                existing = await _match_company(tx, company, where)
                if existing is not None:
                    await company_store.delete_company(tx, existing)
                    report.lines.append(f"{where}: deleted company {existing}")
        for i, raw in enumerate(companies):
            await _load_company(tx, clock, raw, f"companies[{i}]", report, generate_keys)
    return report


async def _match_company(db: Database, company: dict[str, Any], where: str) -> str | None:
    company_id = _id(company, "id", where)
    if company_id is not None:
        return company_id if await company_store.get_company(db, company_id) is not None else None
    return await company_store.company_id_by_name(db, _string(company, "name", where))


async def _load_company(
    db: Database, clock: Clock, raw: Any, where: str, report: LoadReport, generate_keys: bool
) -> None:
    company = _object(raw, where, "company")
    name = _string(company, "name", where)
    company_id = await _match_company(db, company, where) or _id(company, "id", where) or new_id()
    by_name = await company_store.company_id_by_name(db, name)
    if by_name is not None and by_name != company_id:
        raise FixtureError(f"{where}.name", "another company has this name")
    await company_store.upsert_company(db, company_id, name, clock.now_ms())
    report.company_ids.append(company_id)
    report.lines.append(f"{where}: company {company_id} ({name})")
    report.loaded("companies")

    await _load_groups(db, clock, company, company_id, where, report)
    await _load_users(db, clock, company, company_id, where, report)
    # Roles and users may have changed: dynamic audiences follow, before sessions are loaded.
    await audiences.follow_memberships(db, company_id, clock.now_ms())
    await _load_owner(db, clock, company, company_id, where, report)
    await _load_keys(db, clock, company, company_id, where, report, generate_keys)
    await _load_credentials(db, clock, company, company_id, where, report)
    await _load_paths(db, clock, company, company_id, where, report)
    await _load_sessions(db, clock, company, company_id, where, report)


async def _load_groups(
    db: Database,
    clock: Clock,
    company: dict[str, Any],
    company_id: str,
    where: str,
    report: LoadReport,
) -> None:
    ids: set[str] = set()
    for j, raw in enumerate(_list(company, "groups", where)):
        at = f"{where}.groups[{j}]"
        group = _object(raw, at, "group")
        name = _string(group, "name", at)
        public = group.get("public", False)
        if not isinstance(public, bool):
            raise FixtureError(f"{at}.public", "must be true or false")
        parent = _id(group, "parent", at)
        if parent is not None and await group_store.group_company(db, parent) != company_id:
            raise FixtureError(f"{at}.parent", "unknown group (list a parent before its child)")
        group_id = _id(group, "id", at)
        if group_id is None:
            group_id = await group_store.group_id_by_name(db, company_id, name, parent)
            if group_id is None:
                group_id = new_id()
                report.lines.append(f"{at}: new group {group_id} ({name})")
        else:
            await _owned(db, f"{at}.id", group_id, group_store.group_company, company_id)
        if group_id in ids:
            raise FixtureError(f"{at}.id", "duplicate group")
        ids.add(group_id)
        record = Group(group_id, name, public, parent, _text(group, "custom", at))
        created = _instant(group, "createdAt", at, clock.now_ms())
        await group_store.upsert_group(db, company_id, record, created)
        report.loaded("groups")


def _instant(obj: dict[str, Any], key: str, where: str, default: int) -> int:
    """An optional date (an exported object's `createdAt`, `modifiedAt`); `default` when
    absent."""
    if key not in obj:
        return default
    parsed = parse_date(obj[key])
    if parsed is None:
        raise FixtureError(f"{where}.{key}", "not a valid date")
    return parsed


def _text(obj: dict[str, Any], key: str, where: str) -> str | None:
    """An optional non-empty string; absent (or null) is None."""
    if obj.get(key) is None:
        return None
    return _string(obj, key, where)


def _lang(obj: dict[str, Any], key: str, where: str, langs: tuple[str, ...]) -> str:
    """A language code of `langs`, `en` when absent. The list is too long for a message."""
    value = obj.get(key, "en")
    if value not in langs:
        raise FixtureError(f"{where}.{key}", "not a known language code (e.g. en, fr, pt_BR)")
    return str(value)


async def _member_by_mail(
    db: Database, company_id: str, obj: dict[str, Any], key: str, where: str
) -> str:
    """The id of the company's non-deleted user with the e-mail at `obj[key]`."""
    mail_key = normalize_email(_string(obj, key, where))
    if mail_key is None:
        raise FixtureError(f"{where}.{key}", "not a valid e-mail address")
    user_id = await user_store.user_id_by_mail(db, company_id, mail_key)
    if user_id is None or not await user_store.user_is_member(db, company_id, user_id):
        raise FixtureError(f"{where}.{key}", "no user of the company has this e-mail")
    return user_id


async def _load_users(
    db: Database,
    clock: Clock,
    company: dict[str, Any],
    company_id: str,
    where: str,
    report: LoadReport,
) -> None:
    seen: set[str] = set()
    seen_ids: set[str] = set()
    usernames: set[str] = set()
    for j, raw in enumerate(_list(company, "users", where)):
        at = f"{where}.users[{j}]"
        user = _object(raw, at, "user")
        mail = _string(user, "mail", at)
        mail_key = normalize_email(mail)
        if mail_key is None:
            raise FixtureError(f"{at}.mail", "not a valid e-mail address")
        if mail_key in seen:
            raise FixtureError(f"{at}.mail", "duplicate e-mail")
        seen.add(mail_key)
        first = _string(user, "firstName", at, default="")
        last = _string(user, "lastName", at, default="")
        status = _choice(user, "status", at, USER_STATUSES)
        lang = _lang(user, "lang", at, USER_LANGS)
        username = _text(user, "username", at)
        if username is not None:
            if username in usernames:
                raise FixtureError(f"{at}.username", "duplicate username")
            usernames.add(username)
        by_mail = await user_store.user_id_by_mail(db, company_id, mail_key)
        user_id = _id(user, "id", at)
        if user_id is None:
            user_id = by_mail
            if user_id is None:
                user_id = new_id()
                report.lines.append(f"{at}: new user {user_id} ({mail.strip()})")
        else:
            await _owned(db, f"{at}.id", user_id, user_store.user_company, company_id)
            if by_mail is not None and by_mail != user_id:
                raise FixtureError(f"{at}.mail", "e-mail used by another user of the company")
            if user_id in seen_ids:
                raise FixtureError(f"{at}.id", "duplicate user")
        seen_ids.add(user_id)
        if username is not None:
            holder = await user_store.user_id_by_username(db, company_id, username)
            if holder is not None and holder != user_id:
                raise FixtureError(f"{at}.username", "username used by another user of the company")
        profile = UserProfile(
            user_id,
            mail.strip(),
            first,
            last,
            status,
            lang,
            username=username,
            job=_text(user, "job", at),
            organization=_text(user, "organization", at),
            phone=_text(user, "phone", at),
            custom=_text(user, "custom", at),
        )
        created = _instant(user, "createdAt", at, clock.now_ms())
        await user_store.upsert_user_profile(db, company_id, profile, mail_key, created)
        roles = user.get("roles", {})
        if not isinstance(roles, dict):
            raise FixtureError(f"{at}.roles", "must be an object of group id -> role")
        for group_id, role in roles.items():
            if not await is_company_group(db, company_id, group_id):
                raise FixtureError(f"{at}.roles.{group_id}", "unknown group")
            role = ROLE_ALIASES.get(role, role) if isinstance(role, str) else role
            if role not in ROLES:
                raise FixtureError(f"{at}.roles.{group_id}", f"must be one of {', '.join(ROLES)}")
            await user_store.set_role(db, user_id, group_id.lower(), role)
        report.loaded("users")


async def _load_owner(
    db: Database,
    clock: Clock,
    company: dict[str, Any],
    company_id: str,
    where: str,
    report: LoadReport,
) -> None:
    mail = _string(company, "owner", where)
    mail_key = normalize_email(mail)
    if mail_key is None:
        raise FixtureError(f"{where}.owner", "not a valid e-mail address")
    owner_id = await user_store.user_id_by_mail(db, company_id, mail_key)
    if owner_id is None:
        owner_id = new_id()
        report.lines.append(f"{where}.owner: new user {owner_id} ({mail.strip()})")
        owner = Person(owner_id, mail.strip(), "", "")
        await user_store.upsert_user(db, company_id, owner, mail_key, "active", clock.now_ms())
    elif not await user_store.user_is_member(db, company_id, owner_id):
        raise FixtureError(f"{where}.owner", "the platform owner must not be a deleted user")
    await company_store.set_company_owner(db, company_id, owner_id)


async def _load_keys(
    db: Database,
    clock: Clock,
    company: dict[str, Any],
    company_id: str,
    where: str,
    report: LoadReport,
    generate_keys: bool,
) -> None:
    keys = _list(company, "apiKeys", where)
    for j, key in enumerate(keys):
        if not isinstance(key, str) or not key:
            raise FixtureError(f"{where}.apiKeys[{j}]", "must be a non-empty string")
        # Revoking is a security decision: reloading a document must not undo it.
        if await company_store.key_is_revoked(db, company_id, hash_key(key)):
            raise FixtureError(f"{where}.apiKeys[{j}]", "this key was revoked; list another one")
        if await company_store.key_id_by_hash(db, company_id, hash_key(key)) is None:
            if await company_store.count_active_keys(db, company_id) >= MAX_ACTIVE_KEYS:
                raise FixtureError(
                    f"{where}.apiKeys[{j}]", f"more than {MAX_ACTIVE_KEYS} active API keys"
                )
            await company_store.insert_api_key(
                db, new_id(), company_id, hash_key(key), "fixture", clock.now_ms()
            )
        report.loaded("API keys")
    # An exported company's keys: their hashes, as stored (the keys are never kept).
    hashes = _list(company, "apiKeyHashes", where)
    for j, key_hash in enumerate(hashes):
        if not isinstance(key_hash, str) or not _HASH.fullmatch(key_hash):
            raise FixtureError(f"{where}.apiKeyHashes[{j}]", "must be 64 lower-case hex digits")
        if await company_store.key_is_revoked(db, company_id, key_hash):
            raise FixtureError(f"{where}.apiKeyHashes[{j}]", "this key was revoked")
        if await company_store.key_id_by_hash(db, company_id, key_hash) is None:
            if await company_store.count_active_keys(db, company_id) >= MAX_ACTIVE_KEYS:
                raise FixtureError(
                    f"{where}.apiKeyHashes[{j}]", f"more than {MAX_ACTIVE_KEYS} active API keys"
                )
            await company_store.insert_api_key(
                db, new_id(), company_id, key_hash, "fixture", clock.now_ms()
            )
        report.loaded("API keys")
    if (
        generate_keys
        and not keys
        and not hashes
        and await company_store.count_active_keys(db, company_id) == 0
    ):
        key = generate_key()
        await company_store.insert_api_key(
            db, new_id(), company_id, hash_key(key), "generated", clock.now_ms()
        )
        report.generated_keys[company_id] = key
        # The key itself is the caller's to show, once, where it cannot be missed.
        report.lines.append(f"{where}: new API key generated (shown once, at the end)")
        report.loaded("API keys")


def _checked(at: str, check: Callable[[Any], Any], value: Any) -> Any:
    """`value` as the operators' `check` reads it; its refusal, at `at`."""
    try:
        return check(value)
    except OperatorError as error:
        raise FixtureError(at, str(error)) from None


async def _load_credentials(
    db: Database,
    clock: Clock,
    company: dict[str, Any],
    company_id: str,
    where: str,
    report: LoadReport,
) -> None:
    """v2 API credentials, matched by `clientId`, else by name among the company's active
    ones; a secret given is the credential's secret from now on."""
    names: set[str] = set()
    client_ids: set[str] = set()
    for j, raw in enumerate(_list(company, "apiCredentials", where)):
        at = f"{where}.apiCredentials[{j}]"
        entry = _object(raw, at, "credential")
        name = _string(entry, "name", at)
        if name in names:
            raise FixtureError(f"{at}.name", "duplicate credential name")
        names.add(name)
        if "scopes" not in entry:
            raise FixtureError(f"{at}.scopes", "required")
        scopes = _checked(f"{at}.scopes", credential_scopes, entry["scopes"])
        given_id = None
        if "clientId" in entry:
            given_id = _checked(f"{at}.clientId", client_id, entry["clientId"])
            if given_id in client_ids:
                raise FixtureError(f"{at}.clientId", "duplicate client id")
            client_ids.add(given_id)
        secret = None
        if "clientSecret" in entry:
            secret = _checked(f"{at}.clientSecret", client_secret, entry["clientSecret"])
        given_hash = entry.get("clientSecretHash")
        if given_hash is not None:
            if secret is not None:
                raise FixtureError(f"{at}.clientSecretHash", "give clientSecret or its hash")
            if not isinstance(given_hash, str) or not _HASH.fullmatch(given_hash):
                raise FixtureError(f"{at}.clientSecretHash", "must be 64 lower-case hex digits")
        by_name = await credential_store.active_by_name(db, company_id, name)
        existing = by_name
        if given_id is not None:
            found = await credential_store.get_by_client_id(db, given_id)
            existing = None if found is None else found[1]
            if found is not None and found[0] != company_id:
                raise FixtureError(f"{at}.clientId", "client id belongs to another company")
            # Revoking is a security decision: reloading a document must not undo it.
            if existing is not None and existing.revoked_at is not None:
                raise FixtureError(
                    f"{at}.clientId", "this credential was revoked; list another one"
                )
            if by_name is not None and (existing is None or by_name.id != existing.id):
                raise FixtureError(f"{at}.name", "another active credential has this name")
        secret_hash = given_hash if secret is None else hash_key(secret)
        if existing is not None:
            await credential_store.update_credential(db, existing.id, name, scopes, secret_hash)
            report.loaded("API credentials")
            continue
        if await credential_store.count_active(db, company_id) >= MAX_ACTIVE_CREDENTIALS:
            raise FixtureError(at, f"more than {MAX_ACTIVE_CREDENTIALS} active API credentials")
        new_client_id = given_id or generate_client_id()
        if secret is None and given_hash is None:
            secret = generate_key()
            report.generated_credentials.append(
                {
                    "document": at,
                    "company": company_id,
                    "clientId": new_client_id,
                    "clientSecret": secret,
                }
            )
        await credential_store.insert_credential(
            db,
            new_id(),
            company_id,
            new_client_id,
            given_hash or hash_key(secret or ""),
            name,
            scopes,
            clock.now_ms(),
        )
        report.lines.append(f"{at}: new API credential {new_client_id} ({name})")
        report.loaded("API credentials")


async def _load_paths(
    db: Database,
    clock: Clock,
    company: dict[str, Any],
    company_id: str,
    where: str,
    report: LoadReport,
) -> None:
    seen_ids: set[str] = set()
    for j, raw in enumerate(_list(company, "paths", where)):
        at = f"{where}.paths[{j}]"
        path = _object(raw, at, "path")
        name = _string(path, "name", at)
        group_id = _id(path, "group", at, required=True)
        assert group_id is not None
        if await group_store.group_company(db, group_id) != company_id:
            raise FixtureError(f"{at}.group", "unknown group")
        status = _choice(path, "status", at, PATH_STATUSES)
        author_id = None  # the platform owner, whoever that is when the path is read
        if "author" in path:
            author_id = await _member_by_mail(db, company_id, path, "author", at)
        certificate_id = _id(path, "certificateId", at)
        default_lang = _lang(path, "defaultLang", at, PATH_LANGS)
        description = _text(path, "description", at)
        additional_information = _text(path, "additionalInformation", at)
        given = _id(path, "id", at)
        if given is None:
            path_id = await path_store.path_id_by_name(db, company_id, name)
            if path_id is None:
                path_id = new_id()
                report.lines.append(f"{at}: new path {path_id} ({name})")
        else:
            path_id = given
            await _owned(db, f"{at}.id", path_id, path_store.path_company, company_id)
        if path_id in seen_ids:  # the same id twice, or the same name twice without ids
            raise FixtureError(f"{at}.id" if given else f"{at}.name", "duplicate path")
        seen_ids.add(path_id)
        now = clock.now_ms()
        created = _instant(path, "createdAt", at, now)
        modified = _instant(path, "modifiedAt", at, now)
        record = PathProfile(
            Path(path_id, name, group_id, status, created, modified),
            author_id=author_id,
            certificate_id=certificate_id,
            default_lang=default_lang,
            description=description,
            additional_information=additional_information,
        )
        await path_store.upsert_path_profile(db, company_id, record)
        report.loaded("paths")


_SETTING_FIELDS = {
    "automaticReenrollment": {"type", "delayDays", "recurrenceMonths"},
    "ipFiltering": {"active", "authorizedAddresses"},
    "translations": {"lang", "published", "translatorIds", "translatedFields"},
    "translatedFields": {"name"},
}


def _setting(value: Any, where: str, kind: type[T]) -> T:
    """`value` as a settings record, its keys and types checked, errors with their path."""
    try:
        return msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError as error:
        # msgspec says "… - at `$.delayDays`": the path goes first, as in every fixture error.
        problem, _, at = str(error).partition(" - at `$")
        raise FixtureError(where + at.rstrip("`"), problem) from None


def _known(value: Any, where: str, kind: str) -> None:
    items = value if isinstance(value, list) else [value]
    for i, item in enumerate(items):
        at = f"{where}[{i}]" if isinstance(value, list) else where
        if isinstance(item, dict):
            unknown = sorted(set(item) - _SETTING_FIELDS[kind])
            if unknown:
                raise FixtureError(f"{at}.{unknown[0]}", "unknown field")
            if kind == "translations" and isinstance(item.get("translatedFields"), dict):
                _known(item["translatedFields"], f"{at}.translatedFields", "translatedFields")


def _session_settings(
    scene: _Scene, session: dict[str, Any], at: str, draft: NewSession
) -> NewSession:
    """The draft with the settings the document gives (v1's defaults for the others)."""
    option = _choice(session, "registrationRequestValidation", at, REGISTRATION_OPTIONS)
    limit = session.get("userLimit")
    if limit is not None and (type(limit) is not int or limit < 1):
        raise FixtureError(f"{at}.userLimit", "must be an integer of at least 1")
    reenrollment = None
    if (raw := session.get("automaticReenrollment")) is not None:
        _known(raw, f"{at}.automaticReenrollment", "automaticReenrollment")
        reenrollment = _setting(raw, f"{at}.automaticReenrollment", Reenrollment)
        needs_months = reenrollment.type == "pathCompletionDate"
        if reenrollment.type not in REENROLLMENT_TYPES:
            problem = f"must be one of {', '.join(REENROLLMENT_TYPES)}"
            raise FixtureError(f"{at}.automaticReenrollment.type", problem)
        if needs_months != (reenrollment.recurrence_months is not None):
            problem = "required with pathCompletionDate, and only with it"
            raise FixtureError(f"{at}.automaticReenrollment.recurrenceMonths", problem)
    ip_filtering = None
    if (raw := session.get("ipFiltering")) is not None:
        _known(raw, f"{at}.ipFiltering", "ipFiltering")
        ip_filtering = _setting(raw, f"{at}.ipFiltering", IpFiltering)
        addresses = ip_filtering.authorized_addresses
        if len(addresses) > MAX_AUTHORIZED_ADDRESSES:
            problem = f"at most {MAX_AUTHORIZED_ADDRESSES} addresses"
            raise FixtureError(f"{at}.ipFiltering.authorizedAddresses", problem)
        for k, address in enumerate(addresses):
            if not is_authorizable(address):
                where = f"{at}.ipFiltering.authorizedAddresses[{k}]"
                raise FixtureError(where, "not an IP address, CIDR block or pattern with *")
    audience_builder = session.get("isAudienceBuilder", "audience" in session)
    if not isinstance(audience_builder, bool):
        raise FixtureError(f"{at}.isAudienceBuilder", "must be true or false")
    if "audience" in session and not audience_builder:
        raise FixtureError(f"{at}.isAudienceBuilder", "must be true with an audience")
    translations: tuple[SessionTranslation, ...] = ()
    if "translations" in session:
        raw = _list(session, "translations", at)
        _known(raw, f"{at}.translations", "translations")
        translations = _setting(raw, f"{at}.translations", tuple[SessionTranslation, ...])
        for k, translation in enumerate(translations):
            for m, translator in enumerate(translation.translator_ids):
                if not is_object_id(translator):
                    where = f"{at}.translations[{k}].translatorIds[{m}]"
                    raise FixtureError(where, "not a valid id (24 hexadecimal characters)")
        translations = tuple(
            replace(t, translator_ids=tuple(i.lower() for i in t.translator_ids))
            for t in translations
        )
    created_at = draft.created_at
    if "createdAt" in session:
        parsed = parse_date(session["createdAt"])
        if parsed is None:
            raise FixtureError(f"{at}.createdAt", "not a valid date")
        created_at = parsed
    instructors = draft.instructor_ids
    root_id = _id(session, "rootSession", at)
    if root_id is not None:
        root = scene.sessions.get(root_id)
        if root is None or root[0][0] != draft.path_id or root[1] is not None:
            problem = "not a root session of the same path (list it before its children)"
            raise FixtureError(f"{at}.rootSession", problem)
        if "instructorsMails" not in session:
            instructors = scene.instructors[root_id]  # a child session follows its root's
    return replace(
        draft,
        registration_request_validation=option,
        user_limit=limit,
        automatic_reenrollment=reenrollment,
        ip_filtering=ip_filtering,
        is_audience_builder=audience_builder,
        translations=translations,
        root_session_id=root_id,
        created_at=created_at,
        instructor_ids=instructors,
    )


# A session's natural key: its path, name and start date.
SessionKey = tuple[str, str, int]


class _Scene:
    """The company as its sessions' checks see it, read with one query per kind when its
    sessions start loading, then kept up to date in memory as each session of the document is
    checked: a session sees the ones before it as stored (a root listed earlier, a natural key
    taken). No check queries the database per session, so matching costs the same per session
    however many the company and the document hold."""

    def __init__(self, tenant: Company) -> None:
        self.tenant = tenant
        self.paths: set[str] = set()
        self.groups: set[str] = set()
        self.users: set[str] = set()  # every user's id, deleted ones too
        self.mails: dict[str, str] = {}  # e-mail key -> user id, deleted users too
        self.members: dict[str, str] = {}  # e-mail key -> user id, not deleted
        # Session id -> (natural key, root session id): the company's sessions.
        self.sessions: dict[str, tuple[SessionKey, str | None]] = {}
        # Natural key -> the ids of the sessions that have it (the lowest one matches).
        self.by_key: dict[SessionKey, list[str]] = {}
        # The instructors of the sessions the document names as roots.
        self.instructors: dict[str, tuple[str, ...]] = {}
        self.roots: set[str] = set()
        # Ids the document gives that are other companies' sessions.
        self.foreign: set[str] = set()

    def matching(self, draft: NewSession) -> str | None:
        ids = self.by_key.get((draft.path_id, draft.name, draft.start_date))
        return min(ids) if ids else None

    def put(self, s: NewSession) -> None:
        """`s` is stored, as it now is."""
        before = self.sessions.get(s.id)
        key = (s.path_id, s.name, s.start_date)
        if before is not None and before[0] != key:
            self.by_key[before[0]].remove(s.id)
        if before is None or before[0] != key:
            self.by_key.setdefault(key, []).append(s.id)
        self.sessions[s.id] = (key, s.root_session_id)
        if s.id in self.roots:
            self.instructors[s.id] = s.instructor_ids


def _given_ids(items: list[Any], key: str) -> set[str]:
    """The valid ids at `key` of the items that are objects (the others fail their checks)."""
    return {
        str(value).lower()
        for item in items
        if isinstance(item, dict) and is_object_id(value := item.get(key))
    }


async def _scene(db: Database, tenant: Company, items: list[Any]) -> _Scene:
    scene = _Scene(tenant)
    company_id = tenant.id
    rows = await db.fetchall("SELECT id FROM paths WHERE company_id = ?", company_id)
    scene.paths = {row[0] for row in rows}
    rows = await db.fetchall("SELECT id FROM company_groups WHERE company_id = ?", company_id)
    scene.groups = {row[0] for row in rows}
    rows = await db.fetchall(
        "SELECT id, mail_key, status FROM users WHERE company_id = ?", company_id
    )
    for user_id, mail_key, status in rows:
        scene.users.add(user_id)
        scene.mails[mail_key] = user_id
        if status != "deleted":
            scene.members[mail_key] = user_id
    rows = await db.fetchall(
        "SELECT id, path_id, name, start_date, root_session_id FROM path_sessions"
        " WHERE company_id = ?",
        company_id,
    )
    for session_id, path_id, name, start_date, root_id in rows:
        key = (path_id, name, int(start_date))
        scene.sessions[session_id] = (key, root_id)
        scene.by_key.setdefault(key, []).append(session_id)
    del rows
    foreign = sorted(i for i in _given_ids(items, "id") if i not in scene.sessions)
    if foreign:
        found = await bulk.rows_of(
            db, "SELECT id FROM path_sessions WHERE " + db.any_of("id"), foreign
        )
        scene.foreign = {row[0] for row in found}
    scene.roots = _given_ids(items, "rootSession")
    stored_roots = sorted(i for i in scene.roots if i in scene.sessions)
    if stored_roots:
        found = await bulk.rows_of(
            db,
            "SELECT session_id, user_id FROM session_instructors WHERE "
            + db.any_of("session_id")
            + " ORDER BY session_id, position",
            stored_roots,
        )
        instructors: dict[str, list[str]] = {}
        for session_id, user_id in found:
            instructors.setdefault(session_id, []).append(user_id)
        scene.instructors = {k: tuple(v) for k, v in instructors.items()}
    return scene


class _SceneLookups(Lookups):
    """v1's create checks of a session's body, answered from the scene."""

    __slots__ = ("scene",)

    def __init__(self, scene: _Scene, db: Database) -> None:
        super().__init__(scene.tenant, db)
        self.scene = scene

    async def owner_group(self, group_id: str, field: str | None = None) -> str:
        if group_id not in self.scene.groups:
            raise DomainError(ErrorCode.OWNER_GROUP_NOT_FOUND, field)
        return group_id

    async def instructors(self, mails: list[str], field: str | None = None) -> tuple[str, ...]:
        if not mails:
            return await super().instructors(mails, field)  # the platform owner
        members = self.scene.members
        if not all(mail in members for mail in mails):
            raise DomainError(ErrorCode.INSTRUCTORS_NOT_FOUND, field)
        return tuple(members[mail] for mail in mails)


async def _draft(
    scene: _Scene, lookups: Lookups, clock: Clock, path_id: str, read: sessions.ReadFields
) -> NewSession:
    """The session `sessions.draft_session` makes of a create body, by the same checks in the
    same order (the path, then the body as v1 reads it), with the path found in the scene."""
    if path_id not in scene.paths:
        raise DomainError(ErrorCode.PATH_NOT_FOUND)
    fields = await read(lookups)
    return NewSession(
        id=new_id(),
        company_id=scene.tenant.id,
        path_id=path_id,
        name=fields.name,
        start_date=fields.start_date,
        end_date=fields.end_date,
        owner_group_id=fields.owner_group_id,
        instructor_ids=fields.instructor_ids,
        additional_information=fields.additional_information,
        created_at=clock.now_ms(),
    )


# An enrollment as checked: user id, selfEnrolled, status, createdAt, archivedAt, the
# progress columns (all None when the document gives none), its id and modifiedAt (None when
# not given: an export's keys).
Checked = tuple[str, bool, str, int | None, int | None, tuple[Any, ...], str | None, int | None]


@dataclass
class _Plan:
    """What the document's sessions write, gathered while they are checked, written once
    every one of them passed."""

    # `bulk.session_row` values, then created_at and modified_at.
    inserts: list[tuple[Any, ...]] = field(default_factory=list)
    # `bulk.session_row` values, then modified_at, created_at (None: kept), the modifiedAt
    # given (None: now, if the session changes) and the instructors' ids.
    updates: list[tuple[Any, ...]] = field(default_factory=list)
    # The new sessions' instructors: session id, position, user id.
    instructors: list[tuple[str, int, str]] = field(default_factory=list)
    # Session id -> path id, root session id, when, its enrollments: the sessions given
    # `enrollments`, in the document's order.
    enrollments: dict[str, tuple[str, str | None, int, list[Checked]]] = field(default_factory=dict)
    # Session id -> its v1 groups, when: the sessions given `groups`.
    groups: dict[str, tuple[tuple[str, ...], int]] = field(default_factory=dict)
    # Session id, its audience, when, whether to apply it (no `enrollments` beside it).
    audiences: list[tuple[str, Audience, int, bool]] = field(default_factory=list)
    # Enrollment id given -> where the document gives it.
    enrollment_ids: dict[str, str] = field(default_factory=dict)

    seen: set[str] = field(default_factory=set)
    # The sessions stored before the load (updated, not inserted).
    stored: set[str] = field(default_factory=set)


async def _load_sessions(
    db: Database,
    clock: Clock,
    company: dict[str, Any],
    company_id: str,
    where: str,
    report: LoadReport,
) -> None:
    """Every session is checked first, in memory, in the document's order (so the first
    problem is the one a session-by-session load would meet first); then all are written,
    by batches (storage/bulk.py)."""
    items = _list(company, "sessions", where)
    if not items:
        return
    tenant = await company_store.get_company(db, company_id)
    assert tenant is not None
    scene = await _scene(db, tenant, items)
    lookups = _SceneLookups(scene, db)
    plan = _Plan()
    width = len(bulk.SESSION_COLUMNS)
    for j, raw in enumerate(items):
        at = f"{where}.sessions[{j}]"
        session = _object(raw, at, "session")
        path_id = _id(session, "path", at, required=True)
        assert path_id is not None
        try:
            # v1's reader reads its own fields alone: the session's others need no copy
            # without them.
            read = v1_requests.session_fields(session)
            draft = await _draft(scene, lookups, clock, path_id, read)
        except DomainError as error:
            if error.code is ErrorCode.SERVICE_UNAVAILABLE:
                raise  # the database failed, not the document
            # The session's fields have v1's names, and so have the errors pointing at them.
            raise FixtureError(f"{at}.{error.field or 'path'}", ERRORS[error.code][1]) from None
        draft = _session_settings(scene, session, at, draft)
        session_id = _id(session, "id", at)
        if session_id is None:
            session_id = scene.matching(draft)
        elif session_id in scene.foreign:
            raise FixtureError(f"{at}.id", "id belongs to another company")
        if session_id == draft.root_session_id and session_id is not None:
            raise FixtureError(f"{at}.rootSession", "a session cannot be its own root")
        if session_id is not None and session_id in plan.seen:
            # Written once: a second entry would be a second write of the same row.
            if "id" in session:
                raise FixtureError(f"{at}.id", "duplicate session")
            raise FixtureError(
                f"{at}.sessionName", "duplicate session (same path, name and startDate)"
            )
        if session_id is not None and session_id in scene.sessions:
            given = draft.created_at if "createdAt" in session else None
            draft = replace(draft, id=session_id)
            row = (*bulk.session_row(draft), clock.now_ms(), given, None, draft.instructor_ids)
            plan.updates.append(row)
            plan.stored.add(session_id)
        else:
            if session_id is not None:
                draft = replace(draft, id=session_id)
            else:
                report.lines.append(f"{at}: new session {draft.id}")
            plan.inserts.append((*bulk.session_row(draft), draft.created_at, draft.created_at))
            plan.instructors.extend((draft.id, i, u) for i, u in enumerate(draft.instructor_ids))
        plan.seen.add(draft.id)
        scene.put(draft)
        _check_enrolment(scene, plan, clock, session, at, draft)
        if "modifiedAt" in session:
            # An exported session's last modification, as loaded back.
            modified = _instant(session, "modifiedAt", at, 0)
            if draft.id in plan.stored:
                row = plan.updates[-1]
                plan.updates[-1] = (*row[:width], modified, row[width + 1], modified, row[-1])
            else:
                plan.inserts[-1] = (*plan.inserts[-1][:-1], modified)
        report.loaded("sessions")
    await _write_sessions(db, tenant, plan)


# --- Who is enrolled: a session's audience, enrollments and v1 groups ---------------------------

PROGRESS_STATUSES = (
    "awaitingCorrection",
    "late",
    "notYetStarted",
    "onTime",
    "sessionNotOpened",
    "successful",
    "toRetake",
    "unsuccessful",
)
# The one reason each status may give, as v2's user stats show it.
PROGRESS_REASONS = {"toRetake": "mandatoryReplay", "unsuccessful": "sessionEnded"}
ENROLLMENT_STATUSES = ("published", "archived")


def _ids(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise FixtureError(where, "must be an array of ids")
    for k, item in enumerate(value):
        if not is_object_id(item):
            raise FixtureError(f"{where}[{k}]", "not a valid id (24 hexadecimal characters)")
    return tuple(dict.fromkeys(str(i).lower() for i in value))


def _audience(raw: Any, at: str) -> Audience:
    """A fixture's `audience`, its shape as v2's PUT takes it (errors with their path)."""
    audience = _object(raw, at, "audience")
    mode = audience.get("mode")
    if mode not in audiences.MODES:
        raise FixtureError(f"{at}.mode", f"must be one of {', '.join(audiences.MODES)}")
    filters: list[AudienceFilter] = []
    raw_filters = _list(audience, "filters", at)
    if len(raw_filters) > audiences.MAX_FILTERS:
        raise FixtureError(f"{at}.filters", f"at most {audiences.MAX_FILTERS} filters")
    for k, item in enumerate(raw_filters):
        where = f"{at}.filters[{k}]"
        f = _object(item, where, "audienceFilter")
        kind = f.get("type")
        if kind not in audiences.FILTER_TYPES:
            problem = f"must be one of {', '.join(audiences.FILTER_TYPES)}"
            raise FixtureError(f"{where}.type", problem)
        ids = _ids(f.get("ids"), f"{where}.ids")
        if len(ids) > audiences.MAX_IDS[kind]:
            raise FixtureError(f"{where}.ids", f"at most {audiences.MAX_IDS[kind]} ids")
        filters.append(AudienceFilter(kind, ids))
    return Audience(mode, tuple(filters))


def _date(obj: dict[str, Any], key: str, where: str) -> int | None:
    if key not in obj:
        return None
    parsed = parse_date(obj[key])
    if parsed is None:
        raise FixtureError(f"{where}.{key}", "not a valid date")
    return parsed


def _progress(raw: Any, at: str) -> Progress:
    """Progress as v2's user stats show it: `progress` required, the rest optional."""
    p = _object(raw, at, "progress")
    value = p.get("progress")
    if type(value) is not int or not 0 <= value <= 100:
        raise FixtureError(f"{at}.progress", "must be an integer from 0 to 100")
    status = reason = None
    if "status" in p:
        st = _object(p["status"], f"{at}.status", "progressStatus")
        status = st.get("type")
        if status not in PROGRESS_STATUSES:
            problem = f"must be one of {', '.join(PROGRESS_STATUSES)}"
            raise FixtureError(f"{at}.status.type", problem)
        reason = st.get("reason")
        if reason is not None and reason != PROGRESS_REASONS.get(status):
            allowed = PROGRESS_REASONS.get(status)
            problem = f"must be {allowed}" if allowed else f"{status} takes no reason"
            raise FixtureError(f"{at}.status.reason", problem)
    time_spent = p.get("timeSpent")
    if time_spent is not None and (type(time_spent) is not int or time_spent < 0):
        raise FixtureError(f"{at}.timeSpent", "must be a number of milliseconds, at least 0")
    score = p.get("score")
    if score is not None and (
        type(score) not in (int, float) or not 0 <= score <= 100 or score != score
    ):
        raise FixtureError(f"{at}.score", "must be a number from 0 to 100")
    return Progress(
        progress=value,
        status=status,
        reason=reason,
        time_spent=time_spent,
        score=score,
        completed_at=_date(p, "completedAt", at),
        started_at=_date(p, "startedAt", at),
        certificate_id=_id(p, "certificateId", at),
    )


def _enrolled_user(scene: _Scene, value: Any, where: str) -> str:
    """An enrollment's `user`: an id or an e-mail address of a user of the company (deleted
    users too: an enrollment outlives its learner's account)."""
    if is_object_id(value):
        user_id = str(value).lower()
        if user_id not in scene.users:
            raise FixtureError(where, "unknown user")
        return user_id
    mail_key = normalize_email(value) if isinstance(value, str) else None
    found = None if mail_key is None else scene.mails.get(mail_key)
    if found is None:
        raise FixtureError(where, "unknown user (an id or an e-mail address of the company)")
    return found


def _audience_problem(scene: _Scene, audience: Audience) -> ErrorCode | None:
    """`audiences.check`'s rules, in its order, against the scene: one filter per type, then
    the users (deleted ones accepted), then the groups, of the company."""
    types = [f.type for f in audience.filters]
    if len(set(types)) != len(types):
        return ErrorCode.INVALID_AUDIENCE_SHAPE
    users = (*audience.ids(audiences.USERS), *audience.ids(audiences.EXCLUDED))
    if not all(user_id in scene.users for user_id in users):
        return ErrorCode.USERS_NOT_FOUND
    if not all(group_id in scene.groups for group_id in audience.ids(audiences.GROUPS)):
        return ErrorCode.GROUPS_NOT_FOUND
    return None


def _check_enrolment(
    scene: _Scene,
    plan: _Plan,
    clock: Clock,
    session: dict[str, Any],
    at: str,
    draft: NewSession,
) -> None:
    """A session's `audience`, `enrollments` and `groups`, checked; their writes planned.

    `audience` is stored and, without `enrollments`, applied as a PUT of it would be.
    `enrollments` are then the session's enrollments, exactly (others are removed). `groups`
    are the groups recorded as enrolled through v1, exactly. A key left out leaves what the
    session has."""
    if not any(key in session for key in SESSION_ENROLMENT):
        return
    now = clock.now_ms()
    if "audience" in session:
        audience = _audience(session["audience"], f"{at}.audience")
        if draft.root_session_id is not None:
            raise FixtureError(f"{at}.audience", "a child session has no audience")
        problem = _audience_problem(scene, audience)
        if problem is not None:
            raise FixtureError(f"{at}.audience", V2_ERRORS[problem][1])
        plan.audiences.append((draft.id, audience, now, "enrollments" not in session))
    if "enrollments" in session:
        checked = _enrollments(scene, _list(session, "enrollments", at), at, plan.enrollment_ids)
        plan.enrollments[draft.id] = (draft.path_id, draft.root_session_id, now, checked)
    if "groups" in session:
        group_ids = _ids(session["groups"], f"{at}.groups")
        for k, group_id in enumerate(group_ids):
            if group_id not in scene.groups:
                raise FixtureError(f"{at}.groups[{k}]", "unknown group")
        plan.groups[draft.id] = (group_ids, now)


_NO_PROGRESS: tuple[Any, ...] = (None,) * 8


def _enrollments(
    scene: _Scene, items: list[Any], at: str, given_ids: dict[str, str]
) -> list[Checked]:
    """`given_ids`: the enrollment ids given so far in the document (and where), to which
    this session's are added."""
    checked: list[Checked] = []
    seen: set[str] = set()
    for k, raw in enumerate(items):
        where = f"{at}.enrollments[{k}]"
        item = _object(raw, where, "enrollment")
        enrollment_id = _id(item, "id", where)
        if enrollment_id is not None:
            if enrollment_id in given_ids:
                raise FixtureError(f"{where}.id", "duplicate enrollment id")
            given_ids[enrollment_id] = f"{where}.id"
        if "user" not in item:
            raise FixtureError(f"{where}.user", "required")
        user_id = _enrolled_user(scene, item["user"], f"{where}.user")
        if user_id in seen:
            raise FixtureError(f"{where}.user", "duplicate user")
        seen.add(user_id)
        self_enrolled = item.get("selfEnrolled", False)
        if not isinstance(self_enrolled, bool):
            raise FixtureError(f"{where}.selfEnrolled", "must be true or false")
        status = _choice(item, "status", where, ENROLLMENT_STATUSES)
        created_at = _date(item, "createdAt", where)
        archived_at = _date(item, "archivedAt", where)
        if archived_at is not None and status != "archived":
            raise FixtureError(f"{where}.archivedAt", "only with status archived")
        if archived_at is not None and created_at is not None and archived_at < created_at:
            raise FixtureError(f"{where}.archivedAt", "before createdAt")
        modified_at = _date(item, "modifiedAt", where)
        progress = _NO_PROGRESS
        if "progress" in item:
            p = _progress(item["progress"], f"{where}.progress")
            progress = (
                p.progress,
                p.status,
                p.reason,
                p.time_spent,
                p.score,
                p.completed_at,
                p.started_at,
                p.certificate_id,
            )
        checked.append(
            (
                user_id,
                self_enrolled,
                status,
                created_at,
                archived_at,
                progress,
                enrollment_id,
                modified_at,
            )
        )
    return checked


# --- Writing the sessions: every row of a kind in batches, once all are checked -----------------

ENROLLMENT_WRITTEN = (
    "enrolled_at",
    "modified_at",
    "self_enrolled",
    "status",
    "archived_at",
    "progress",
    "progress_status",
    "progress_reason",
    "time_spent",
    "score",
    "completed_at",
    "started_at",
    "certificate_id",
)
ENROLLMENT_KEYS = ("id", "company_id", "path_id", "session_id", "user_id")
# Sessions whose stored enrollments (or groups) are read and rewritten together: memory stays
# bounded on a reload of a million sessions.
CHUNK = 20_000


async def _write_sessions(db: Database, tenant: Company, plan: _Plan) -> None:
    # New sessions first: a stored session may become the child of one. Rows go in the order
    # of their primary key, so each index grows at a few places instead of all over it (ids
    # given in a document come in any order); but root sessions before children, so that each
    # row's root exists when it is checked.
    root = bulk.SESSION_COLUMNS.index("root_session_id")
    plan.inserts.sort(key=lambda row: (row[root] is not None, row[0]))
    await bulk.insert_sessions(db, plan.inserts)
    plan.instructors.sort()
    await bulk.insert_rows(db, "session_instructors", INSTRUCTOR_COLUMNS, plan.instructors)
    for start in range(0, len(plan.updates), CHUNK):
        await _replace_sessions(db, plan.updates[start : start + CHUNK])
    await _write_enrollments(db, tenant.id, plan)
    await _write_groups(db, plan)
    for session_id, audience, now, apply in plan.audiences:
        await audience_store.put(db, tenant.id, session_id, audience, now)
        if apply:
            # A PUT's rule reads group memberships: rare in a fixture, applied one by one.
            stored = await session_store.get_session(db, tenant.id, session_id)
            assert stored is not None
            await audiences.apply(db, tenant.id, stored, audience, now)


INSTRUCTOR_COLUMNS = ("session_id", "position", "user_id")


async def _replace_sessions(db: Database, updates: list[tuple[Any, ...]]) -> None:
    """Stored sessions the document lists: those it changes (a field, or the instructors)
    are overwritten, with modifiedAt now; the others are left as they are, so that a reload
    writes nothing and a session's modifiedAt says when a load last changed it."""
    width = len(bulk.SESSION_COLUMNS)
    ids = [row[0] for row in updates]
    columns = ", ".join(bulk.SESSION_COLUMNS)
    stored = {
        row[0]: row
        for row in await bulk.rows_of(
            db,
            f"SELECT {columns}, created_at, modified_at FROM path_sessions WHERE "
            + db.any_of("id"),
            ids,
        )
    }
    instructors: dict[str, list[str]] = {}
    for session_id, user_id in await bulk.rows_of(
        db,
        "SELECT session_id, user_id FROM session_instructors WHERE "
        + db.any_of("session_id")
        + " ORDER BY session_id, position",
        ids,
    ):
        instructors.setdefault(session_id, []).append(user_id)
    changed: list[tuple[Any, ...]] = []
    rewritten: list[tuple[str]] = []
    new_instructors: list[tuple[str, int, str]] = []
    for row in updates:
        session_id, created_at, modified_at = row[0], row[width + 1], row[width + 2]
        instructor_ids = row[-1]
        before = stored[session_id]
        if instructor_ids != tuple(instructors.get(session_id, ())):
            rewritten.append((session_id,))
            new_instructors.extend((session_id, i, u) for i, u in enumerate(instructor_ids))
        elif (
            _same(row[:width], before[:width])
            and created_at in (None, before[width])
            and modified_at in (None, before[width + 1])
        ):
            continue
        changed.append(row[: width + 2])
    await bulk.replace_sessions(db, changed)
    await bulk.delete_rows(db, "session_instructors", ("session_id",), rewritten)
    await bulk.insert_rows(db, "session_instructors", INSTRUCTOR_COLUMNS, new_instructors)


def _same(written: Sequence[Any], stored: Sequence[Any]) -> bool:
    """Whether values about to be written equal those read back (SQLite reads booleans
    back as 0 and 1, equal to False and True)."""
    return all(a == b for a, b in zip(written, stored, strict=True))


def _enrollment(
    existing: tuple[Any, ...] | None, item: Checked, now: int
) -> tuple[int, int, int | None]:
    """createdAt, modifiedAt and archivedAt of an enrollment written as `item` says, over the
    stored one (its id, then its `ENROLLMENT_WRITTEN`) if any: without `createdAt` it keeps its
    own (a new one is made `now`); archived, without `archivedAt` it keeps its own archiving
    date, else now; it is never archived before it was made. `modifiedAt` given (an export's)
    is taken as it is."""
    status, created_at, archived_at, modified_at = item[2], item[3], item[4], item[7]
    created = now if existing is None else int(existing[1])
    if created_at is not None:
        created = created_at
    archived: int | None = None
    if status == "archived":
        archived = archived_at
        if archived is None:
            kept = None if existing is None else existing[5]
            archived = now if kept is None else kept
    if archived is not None and created_at is None and archived < created:
        created = archived
    modified = created if archived is None else max(created, archived)
    if modified_at is not None:
        modified = modified_at
    return created, modified, archived


async def _write_enrollments(db: Database, company_id: str, plan: _Plan) -> None:
    """Each session given `enrollments` gets exactly those: kept ones (one per user and
    session, same id) overwritten, new ones inserted (with the id given, if any), others
    deleted; and its events."""
    session_ids = list(plan.enrollments)
    for start in range(0, len(session_ids), CHUNK):
        chunk = session_ids[start : start + CHUNK]
        stored: dict[str, dict[str, tuple[Any, ...]]] = {}
        reread = [s for s in chunk if s in plan.stored]
        if reread:
            rows = await bulk.rows_of(
                db,
                f"SELECT session_id, user_id, id, {', '.join(ENROLLMENT_WRITTEN)}"
                " FROM session_users WHERE " + db.any_of("session_id"),
                reread,
            )
            for row in rows:
                stored.setdefault(row[0], {})[row[1]] = row[2:]
        await _check_enrollment_ids(db, plan, chunk, stored)
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        deletes: list[tuple[str, str]] = []
        events: list[tuple[str, str | None, str, int, bool, bool]] = []
        for session_id in chunk:
            path_id, root_id, now, items = plan.enrollments[session_id]
            had = stored.get(session_id, {})
            for item in items:
                user_id, self_enrolled, status, _, _, progress, given_id, _ = item
                existing = had.get(user_id)
                created, modified, archived = _enrollment(existing, item, now)
                values = (created, modified, self_enrolled, status, archived, *progress)
                if existing is None:
                    key = (given_id or new_id(), company_id, path_id, session_id, user_id)
                    inserts.append((*key, *values))
                elif not _same(values, existing[1:]):
                    updates.append((existing[0], *values))
            listed = {item[0] for item in items}
            deletes.extend((session_id, u) for u in had if u not in listed)
            # The scene set is a write like any other: its session events are recorded.
            before = {u for u, e in had.items() if e[4] == "published"}
            after = {item[0] for item in items if item[2] == "published"}
            if after - before or before - after:
                events.append(
                    (path_id, root_id, session_id, now, bool(after - before), bool(before - after))
                )
        await bulk.delete_rows(db, "session_users", ("session_id", "user_id"), deletes)
        await bulk.update_rows(db, "session_users", ("id",), ENROLLMENT_WRITTEN, updates)
        inserts.sort(key=lambda row: (row[3], row[4]))  # (session_id, user_id): the key's order
        await bulk.insert_rows(
            db, "session_users", (*ENROLLMENT_KEYS, *ENROLLMENT_WRITTEN), inserts
        )
        async with batched(db, company_id):
            for path_id, root_id, session_id, now, added, archived in events:
                await audiences.record_of(
                    db, company_id, path_id, session_id, root_id, now, added, archived
                )


async def _check_enrollment_ids(
    db: Database,
    plan: _Plan,
    chunk: list[str],
    stored: dict[str, dict[str, tuple[Any, ...]]],
) -> None:
    """The ids the document gives the enrollments of `chunk`: an enrollment kept has its own
    (ids never change), a new one an id no other enrollment has."""
    given: dict[str, tuple[str, str]] = {}  # id -> session id, user id
    for session_id in chunk:
        had = stored.get(session_id, {})
        for item in plan.enrollments[session_id][3]:
            user_id, given_id = item[0], item[6]
            if given_id is None:
                continue
            existing = had.get(user_id)
            if existing is not None and existing[0] != given_id:
                where = plan.enrollment_ids[given_id]
                raise FixtureError(where, f"this enrollment exists with the id {existing[0]}")
            if existing is None:
                given[given_id] = (session_id, user_id)
    if not given:
        return
    taken = await bulk.rows_of(
        db, "SELECT id FROM session_users WHERE " + db.any_of("id"), sorted(given)
    )
    if taken:
        found = {row[0] for row in taken}
        first = next(i for i in plan.enrollment_ids if i in found)  # the document's first
        raise FixtureError(plan.enrollment_ids[first], "id of another enrollment")


async def _write_groups(db: Database, plan: _Plan) -> None:
    """Each session given `groups` has exactly those enrolled through v1; a group it had
    keeps its enrolment date, and new ones are enrolled a millisecond apart in the document's
    order, which v1's session read keeps (an export lists them in enrolment order)."""
    session_ids = list(plan.groups)
    for start in range(0, len(session_ids), CHUNK):
        chunk = session_ids[start : start + CHUNK]
        reread = [s for s in chunk if s in plan.stored]
        had: dict[str, set[str]] = {}
        if reread:
            rows = await bulk.rows_of(
                db,
                "SELECT session_id, group_id FROM session_groups WHERE " + db.any_of("session_id"),
                reread,
            )
            for session_id, group_id in rows:
                had.setdefault(session_id, set()).add(group_id)
        gone = [
            (session_id, group_id)
            for session_id in reread
            for group_id in had.get(session_id, ())
            if group_id not in plan.groups[session_id][0]
        ]
        await bulk.delete_rows(db, "session_groups", ("session_id", "group_id"), gone)
        await bulk.insert_rows(
            db,
            "session_groups",
            ("session_id", "group_id", "enrolled_at"),
            [
                (session_id, group_id, now + k)
                for session_id in chunk
                for group_ids, now in (plan.groups[session_id],)
                for k, group_id in enumerate(group_ids)
                if group_id not in had.get(session_id, ())
            ],
            conflict="ON CONFLICT (session_id, group_id) DO NOTHING",
        )
