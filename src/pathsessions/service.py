"""The operations of the API. Each takes the company and the database as arguments and
raises `ApiError` for every documented failure; nothing is written unless all checks pass."""

from __future__ import annotations

from typing import Any

from . import rules
from .domain import Company, NewSession, is_object_id, new_id, now_ms
from .errors import ApiError
from .rules import MISSING
from .storage import Database, repository


async def validate_new_session(
    company: Company, db: Database, path_id: str, fields: dict[str, Any] | None
) -> NewSession:
    """Every check of `POST /api/v1/paths/{pathId}/sessions/`, in the documented order."""
    if not is_object_id(path_id):
        raise ApiError("path_not_found")
    path_id = path_id.lower()
    if not await repository.path_exists(db, company.id, path_id):
        raise ApiError("path_not_found")
    if fields is None:
        raise ApiError("invalid_body")
    name = rules.session_name(fields.get("sessionName", MISSING))
    start = rules.start_date(fields.get("startDate", MISSING))
    end = rules.end_date(fields.get("endDate", MISSING), start)
    group_id = rules.owner_group_id(fields.get("sessionOwnerGroup", MISSING))
    if not await repository.group_exists(db, company.id, group_id):
        raise ApiError("session_owner_group_not_found")
    instructor_ids = await _instructor_ids(
        company, db, rules.instructor_mails(fields.get("instructorsMails", MISSING))
    )
    info = rules.additional_information(fields.get("sessionAdditionalInformation", MISSING))
    return NewSession(
        id=new_id(),
        company_id=company.id,
        path_id=path_id,
        name=name,
        start_date=start,
        end_date=end,
        owner_group_id=group_id,
        instructor_ids=instructor_ids,
        additional_information=info,
        created_at=now_ms(),
    )


async def _instructor_ids(company: Company, db: Database, mails: list[str]) -> tuple[str, ...]:
    if not mails:
        if company.owner_user_id is None:
            # Companies are always created with an owner; a missing one is a data fault.
            raise RuntimeError(f"company {company.id} has no platform owner")
        return (company.owner_user_id,)
    found = await repository.member_ids_by_mail(db, company.id, mails)
    if len(found) != len(mails):
        raise ApiError("instructors_not_found")
    return tuple(found[mail] for mail in mails)


async def create_path_session(
    company: Company, db: Database, path_id: str, fields: dict[str, Any] | None
) -> str:
    session = await validate_new_session(company, db, path_id, fields)
    await repository.insert_session(db, session)
    return session.id
