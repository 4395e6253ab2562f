"""A company as a fixture document (docs/fixtures.md), complete enough to load back.

Built from the company's rows (sandbox/tables.py): ids, keys and credential secrets as their
stored hashes (`apiKeyHashes`, `clientSecretHash`), active ones only, every object's
`createdAt` (and `modifiedAt` where the API shows one), users' roles, sessions with their
instructors and v1 enrolments (`enrollments`, `groups`). Groups come before their children
and root sessions before theirs, as the loader wants them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..core.values import format_date
from ..storage import Database
from .tables import rows_of

_decode = msgspec.json.Decoder().decode


def _records(data: dict[str, Any], table: str) -> list[dict[str, Any]]:
    if table not in data:
        return []
    columns = data[table]["columns"]
    return [dict(zip(columns, row, strict=True)) for row in data[table]["rows"]]


def _set(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


async def company_document(db: Database, company_id: str) -> dict[str, Any]:
    async with db.transaction() as tx:  # one consistent state
        data = await rows_of(tx, company_id)
    [company] = _records(data, "companies")
    users = _records(data, "users")
    mail_of = {u["id"]: u["mail"] for u in users}
    roles: dict[str, dict[str, str]] = {}
    for role in _records(data, "user_roles"):
        roles.setdefault(role["user_id"], {})[role["group_id"]] = role["role"]
    out: dict[str, Any] = {"id": company["id"], "name": company["name"]}
    if company["owner_user_id"] in mail_of:
        out["owner"] = mail_of[company["owner_user_id"]]
    out["apiKeyHashes"] = [
        k["key_hash"] for k in _records(data, "api_keys") if k["revoked_at"] is None
    ]
    out["apiCredentials"] = [
        {
            "clientId": c["client_id"],
            "clientSecretHash": c["secret_hash"],
            "name": c["name"],
            "scopes": c["scopes"].split(),
        }
        for c in _records(data, "api_credentials")
        if c["revoked_at"] is None
    ]
    groups = []
    for g in _records(data, "company_groups"):
        group: dict[str, Any] = {"id": g["id"], "name": g["name"], "public": bool(g["public"])}
        _set(group, "parent", g["parent_id"])
        _set(group, "custom", g["custom"])
        group["createdAt"] = format_date(g["created_at"])
        groups.append(group)
    out["groups"] = groups
    out["users"] = [_user(u, roles.get(u["id"], {})) for u in users]
    out["paths"] = [_path(p, mail_of) for p in _records(data, "paths")]
    instructors: dict[str, list[tuple[int, str]]] = {}
    for i in _records(data, "session_instructors"):
        instructors.setdefault(i["session_id"], []).append((i["position"], mail_of[i["user_id"]]))
    enrolled: dict[str, list[dict[str, Any]]] = {}
    for e in _records(data, "session_users"):
        enrolled.setdefault(e["session_id"], []).append(
            {"user": e["user_id"], "createdAt": format_date(e["enrolled_at"])}
        )
    enrolled_groups: dict[str, list[str]] = {}
    for e in _records(data, "session_groups"):
        enrolled_groups.setdefault(e["session_id"], []).append(e["group_id"])
    out["sessions"] = [
        _session(
            s,
            [mail for _, mail in sorted(instructors.get(s["id"], []))],
            enrolled.get(s["id"], []),
            enrolled_groups.get(s["id"], []),
        )
        for s in _records(data, "path_sessions")
    ]
    return {"companies": [out]}


def _user(u: dict[str, Any], roles: dict[str, str]) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": u["id"],
        "mail": u["mail"],
        "firstName": u["first_name"],
        "lastName": u["last_name"],
        "status": u["status"],
        "lang": u["lang"],
    }
    if roles:
        user["roles"] = roles
    for key, column in (
        ("username", "username"),
        ("job", "job"),
        ("organization", "organization"),
        ("phone", "phone"),
        ("custom", "custom"),
    ):
        _set(user, key, u[column])
    user["createdAt"] = format_date(u["created_at"])
    return user


def _path(p: dict[str, Any], mail_of: dict[str, str]) -> dict[str, Any]:
    path: dict[str, Any] = {
        "id": p["id"],
        "name": p["name"],
        "group": p["group_id"],
        "status": p["status"],
    }
    if p["author_id"] is not None and p["author_id"] in mail_of:
        path["author"] = mail_of[p["author_id"]]
    _set(path, "certificateId", p["certificate_id"])
    path["defaultLang"] = p["default_lang"]
    _set(path, "description", p["description"])
    _set(path, "additionalInformation", p["additional_information"])
    path["createdAt"] = format_date(p["created_at"])
    path["modifiedAt"] = format_date(p["modified_at"])
    return path


def _session(
    s: dict[str, Any], mails: list[str], users: list[dict[str, Any]], groups: list[str]
) -> dict[str, Any]:
    session: dict[str, Any] = {
        "id": s["id"],
        "path": s["path_id"],
        "sessionName": s["name"],
        "startDate": format_date(s["start_date"]),
    }
    if s["end_date"] is not None:
        session["endDate"] = format_date(s["end_date"])
    session["instructorsMails"] = mails
    session["sessionOwnerGroup"] = s["owner_group_id"]
    _set(session, "sessionAdditionalInformation", s["additional_information"])
    session["registrationRequestValidation"] = s["registration_request_validation"]
    _set(session, "userLimit", s["user_limit"])
    if s["automatic_reenrollment"] is not None:
        session["automaticReenrollment"] = _decode(s["automatic_reenrollment"])
    if s["ip_filtering"] is not None:
        session["ipFiltering"] = _decode(s["ip_filtering"])
    session["isAudienceBuilder"] = bool(s["is_audience_builder"])
    session["translations"] = _decode(s["translations"])
    _set(session, "rootSession", s["root_session_id"])
    session["createdAt"] = format_date(s["created_at"])
    session["modifiedAt"] = format_date(s["modified_at"])
    if users:
        session["enrollments"] = users
    if groups:
        session["groups"] = groups
    return session
