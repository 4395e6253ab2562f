"""The path-session request bodies (docs/api-v2.md): typed Structs decoded from JSON, and
their conversion into the core's inputs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from ...core import path_sessions
from ...core.model import IpFiltering, Reenrollment
from ...core.values import (
    MAX_ADDITIONAL_INFORMATION,
    MAX_INSTRUCTORS,
    MAX_SESSION_NAME,
    storable,
)
from .bodies import DateTime
from .errors import field_error

ObjectId = Annotated[str, Meta(pattern="^[a-fA-F0-9]{24}$")]
Name = Annotated[str, Meta(min_length=1, max_length=MAX_SESSION_NAME)]
Information = Annotated[str, Meta(min_length=1, max_length=MAX_ADDITIONAL_INFORMATION)]
InstructorIds = Annotated[list[ObjectId], Meta(max_length=MAX_INSTRUCTORS)]
Registration = Literal[
    "disabled", "instructors", "managers", "adminsAndManagers", "adminsCoachesInstructorsManagers"
]
UserLimit = Annotated[int, Meta(ge=1)]
Days = Annotated[float, Meta(ge=0)]
Months = Annotated[float, Meta(ge=1)]


class CertificationExpiryDate(msgspec.Struct, tag="certificationExpiryDate", tag_field="type"):
    delayDays: Days


class PathCompletionDate(msgspec.Struct, tag="pathCompletionDate", tag_field="type"):
    delayDays: Days
    recurrenceMonths: Months


AutomaticReenrollment = CertificationExpiryDate | PathCompletionDate


class IpFilteringBody(msgspec.Struct):
    active: bool
    authorizedAddresses: Annotated[
        list[str], Meta(max_length=path_sessions.MAX_AUTHORIZED_ADDRESSES)
    ]


class CreateBody(msgspec.Struct):
    mainInstructorId: ObjectId
    registrationRequestValidation: Registration
    startDate: DateTime
    name: Name
    endDate: DateTime | UnsetType = UNSET
    userLimit: UserLimit | UnsetType = UNSET
    automaticReenrollment: AutomaticReenrollment | UnsetType = UNSET
    ipFiltering: IpFilteringBody | UnsetType = UNSET
    additionalInformation: Information | UnsetType = UNSET
    instructorIds: InstructorIds | UnsetType = UNSET


class EditBody(msgspec.Struct):
    name: Name | UnsetType = UNSET
    startDate: DateTime | UnsetType = UNSET
    endDate: DateTime | UnsetType | None = UNSET
    mainInstructorId: ObjectId | UnsetType = UNSET
    instructorIds: InstructorIds | UnsetType = UNSET
    groupId: ObjectId | UnsetType = UNSET
    registrationRequestValidation: Registration | UnsetType = UNSET
    userLimit: UserLimit | UnsetType | None = UNSET
    automaticReenrollment: AutomaticReenrollment | UnsetType | None = UNSET
    ipFiltering: IpFilteringBody | UnsetType | None = UNSET
    additionalInformation: Information | UnsetType | None = UNSET


class ChildEditBody(msgspec.Struct):
    additionalInformation: Information | UnsetType | None = UNSET
    mainInstructorId: ObjectId | UnsetType = UNSET
    instructorIds: InstructorIds | UnsetType = UNSET


def _storable(body: CreateBody | EditBody | ChildEditBody) -> None:
    # PostgreSQL text cannot hold NUL: refused on both engines alike.
    for field in ("name", "additionalInformation"):
        value = getattr(body, field, None)
        if isinstance(value, str) and not storable(value):
            raise field_error(field, "must not contain NUL characters")


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _reenrollment(value: AutomaticReenrollment) -> Reenrollment:
    if isinstance(value, PathCompletionDate):
        return Reenrollment(
            "pathCompletionDate", _number(value.delayDays), _number(value.recurrenceMonths)
        )
    return Reenrollment("certificationExpiryDate", _number(value.delayDays))


def _ip_filtering(value: IpFilteringBody) -> IpFiltering:
    return IpFiltering(value.active, tuple(value.authorizedAddresses))


def _ids(value: list[str] | UnsetType) -> tuple[str, ...] | UnsetType:
    return value if isinstance(value, UnsetType) else tuple(value)


def _optional(value: Any, convert: Any) -> Any:
    """UNSET and None as they are; a value converted."""
    return value if value is None or isinstance(value, UnsetType) else convert(value)


def _given(value: Any, convert: Any) -> Any:
    """None for a field left out of a create; a value converted."""
    return None if isinstance(value, UnsetType) else convert(value)


def session_input(body: CreateBody) -> path_sessions.SessionInput:
    _storable(body)
    return path_sessions.SessionInput(
        name=body.name,
        start_date=int(body.startDate),
        main_instructor_id=body.mainInstructorId,
        registration_request_validation=body.registrationRequestValidation,
        end_date=_given(body.endDate, int),
        instructor_ids=() if isinstance(body.instructorIds, UnsetType) else (*body.instructorIds,),
        user_limit=_given(body.userLimit, int),
        automatic_reenrollment=_given(body.automaticReenrollment, _reenrollment),
        ip_filtering=_given(body.ipFiltering, _ip_filtering),
        additional_information=_given(body.additionalInformation, str),
    )


def session_edit(body: EditBody) -> path_sessions.SessionEdit:
    _storable(body)
    return path_sessions.SessionEdit(
        name=body.name,
        start_date=_optional(body.startDate, int),
        end_date=_optional(body.endDate, int),
        main_instructor_id=body.mainInstructorId,
        instructor_ids=_ids(body.instructorIds),
        group_id=body.groupId,
        registration_request_validation=body.registrationRequestValidation,
        user_limit=body.userLimit,
        automatic_reenrollment=_optional(body.automaticReenrollment, _reenrollment),
        ip_filtering=_optional(body.ipFiltering, _ip_filtering),
        additional_information=body.additionalInformation,
    )


def child_edit(body: ChildEditBody) -> path_sessions.ChildSessionEdit:
    _storable(body)
    return path_sessions.ChildSessionEdit(
        main_instructor_id=body.mainInstructorId,
        instructor_ids=_ids(body.instructorIds),
        additional_information=body.additionalInformation,
    )
