"""A company as a fixture document (docs/fixtures.md), complete enough to load back.

Built from the company's rows (sandbox/tables.py): ids, keys and credential secrets as their
stored hashes (`apiKeyHashes`, `clientSecretHash`), active ones only, every object's
`createdAt` (and `modifiedAt` where the API shows one), users' roles, sessions with their
instructors, their audience, their enrollments (id, status, self-enrolled, dates, progress)
and the groups enrolled through v1. Every list is in id order, groups before their children
and root sessions before theirs (as the loader wants them): exporting what an export loaded
gives the same document.
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
    out["apiKeyHashes"] = sorted(
        k["key_hash"] for k in _records(data, "api_keys") if k["revoked_at"] is None
    )
    out["apiCredentials"] = [
        {
            "clientId": c["client_id"],
            "clientSecretHash": c["secret_hash"],
            "name": c["name"],
            "scopes": c["scopes"].split(),
        }
        for c in sorted(_records(data, "api_credentials"), key=lambda c: c["client_id"])
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
    for e in sorted(_records(data, "session_users"), key=lambda e: e["id"]):
        enrolled.setdefault(e["session_id"], []).append(_enrollment(e))
    # A session's groups in the order they were enrolled, which v1's session read keeps; the
    # loader gives them that order back (increasing enrolment times).
    enrolled_groups: dict[str, list[str]] = {}
    for e in sorted(
        _records(data, "session_groups"), key=lambda e: (e["enrolled_at"], e["group_id"])
    ):
        enrolled_groups.setdefault(e["session_id"], []).append(e["group_id"])
    audiences = {a["session_id"]: a for a in _records(data, "session_audiences")}
    sessions = []
    for s in _records(data, "path_sessions"):
        session = _session(
            s,
            [mail for _, mail in sorted(instructors.get(s["id"], []))],
            enrolled.get(s["id"], []),
            enrolled_groups.get(s["id"], []),
        )
        if s["id"] in audiences:
            a = audiences[s["id"]]
            session["audience"] = {"filters": _decode(a["filters"]), "mode": a["mode"]}
        sessions.append(session)
    out["sessions"] = sessions
    return {"companies": [out]}


def _enrollment(e: dict[str, Any]) -> dict[str, Any]:
    """An enrollment as the loader reads it back: the same id, dates, status and progress."""
    enrollment: dict[str, Any] = {"id": e["id"], "user": e["user_id"]}
    if e["self_enrolled"]:
        enrollment["selfEnrolled"] = True
    enrollment["status"] = e["status"]
    enrollment["createdAt"] = format_date(e["enrolled_at"])
    if e["archived_at"] is not None:
        enrollment["archivedAt"] = format_date(e["archived_at"])
    if e["modified_at"] is not None:
        enrollment["modifiedAt"] = format_date(e["modified_at"])
    if e["progress"] is not None:
        progress: dict[str, Any] = {"progress": e["progress"]}
        if e["progress_status"] is not None:
            status = {"type": e["progress_status"]}
            _set(status, "reason", e["progress_reason"])
            progress["status"] = status
        _set(progress, "timeSpent", e["time_spent"])
        _set(progress, "score", e["score"])
        for key, column in (("completedAt", "completed_at"), ("startedAt", "started_at")):
            if e[column] is not None:
                progress[key] = format_date(e[column])
        _set(progress, "certificateId", e["certificate_id"])
        enrollment["progress"] = progress
    return enrollment


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
