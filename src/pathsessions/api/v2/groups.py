"""The company's groups: `GET /api/v2/groups` (500 a page) and `GET /api/v2/groups/{groupId}`."""

from __future__ import annotations

from typing import Any

from ...core import directory
from ...core.model import Client, Group
from ...web.asgi import Request, Response
from ..context import Context
from . import schemas as s
from .operations import Operation, operation
from .pagination import Listing

GROUPS = Listing("v2.groups.GetGroupsController_getGroups", 500)


def group_object(group: Group) -> dict[str, Any]:
    out: dict[str, Any] = {"_id": group.id, "name": group.name, "public": group.public}
    if group.parent_id is not None:
        out["parentId"] = group.parent_id
    if group.custom is not None:
        out["custom"] = group.custom
    return out


async def list_groups(request: Request, ctx: Context, client: Client) -> Response:
    asked = GROUPS.read(request, ctx, client)
    page = await directory.groups_page(client.company, ctx.db, asked.query)
    return asked.answer(page, group_object)


async def get_group(request: Request, ctx: Context, client: Client) -> Response:
    group = await directory.get_group(client.company, ctx.db, request.params["groupId"])
    return Response.json(group_object(group))


SCHEMAS: dict[str, Any] = {
    "Group": {
        "title": "Group",
        "type": "object",
        "required": ["_id", "name", "public"],
        "properties": {
            "_id": s.OBJECT_ID,
            "name": {"type": "string"},
            "public": {"type": "boolean"},
            "parentId": {**s.OBJECT_ID, "description": "Absent for a root group."},
            "custom": {"type": "string", "description": "Absent when not set."},
        },
    }
}

OPERATIONS: list[Operation] = [
    operation(
        "GET",
        "/api/v2/groups",
        GROUPS.operation_id,
        list_groups,
        "groups:read",
        tags=["Groups"],
        summary="List all groups",
        parameters=s.filter_parameters({}),
        success=s.page(s.ref("Group"), GROUPS.page_size, "groups"),
        errors=[],
    ),
    operation(
        "GET",
        "/api/v2/groups/{groupId}",
        "v2.groups.GetGroupController_getGroup",
        get_group,
        "groups:read",
        tags=["Groups"],
        summary="Retrieve a group",
        parameters=[s.path_id("groupId", "The unique ID of the group.")],
        success=s.ok("The group.", s.ref("Group")),
        errors=["groupNotFound"],
    ),
]
