"""The audience body of `PUT …/audiences` (docs/api-v2.md): a typed Struct decoded from
JSON, and its conversion into the core's `Audience`."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from ...core.audiences import EXCLUDED, GROUPS, MAX_FILTERS, MAX_IDS, USERS
from ...core.model import Audience, AudienceFilter
from .session_bodies import ObjectId

Mode = Literal["dynamic", "dynamicEnrollment", "dynamicUnenrollment", "manual"]


class UsersFilter(msgspec.Struct, tag=USERS, tag_field="type"):
    ids: Annotated[list[ObjectId], Meta(max_length=MAX_IDS[USERS])]


class GroupsFilter(msgspec.Struct, tag=GROUPS, tag_field="type"):
    ids: Annotated[list[ObjectId], Meta(max_length=MAX_IDS[GROUPS])]


class ExcludedLearnersFilter(msgspec.Struct, tag=EXCLUDED, tag_field="type"):
    ids: Annotated[list[ObjectId], Meta(max_length=MAX_IDS[EXCLUDED])]


Filter = UsersFilter | GroupsFilter | ExcludedLearnersFilter


class AudienceBody(msgspec.Struct):
    filters: Annotated[list[Filter], Meta(max_length=MAX_FILTERS)]
    mode: Mode


def audience_input(body: AudienceBody) -> Audience:
    return Audience(
        body.mode,
        tuple(AudienceFilter(str(f.__struct_config__.tag), tuple(f.ids)) for f in body.filters),
    )
