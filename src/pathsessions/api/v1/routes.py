"""v1's route table: every route it serves, in matching order, with its operation id."""

from __future__ import annotations

from typing import Any

from ...core.model import Company
from ...web.routing import Route
from .. import service
from ..context import Context
from . import handlers as h

V1Route = Route[Context, Company]

ROUTES: list[Route[Context, Any]] = [
    V1Route(
        "POST",
        "/api/v2/oauth2/token",
        "v2.authentication.GenerateTokenController_generateToken",
        public=h.issue_token,
    ),
    V1Route("POST", "/api/v1/paths/{pathId}/sessions", "createPathSession", h.create_path_session),
    V1Route("GET", "/api/v1/paths/sessions", "listPathSessions", h.list_path_sessions),
    V1Route("GET", "/api/v1/paths/sessions/{sessionId}", "getPathSession", h.get_path_session),
    V1Route(
        "PATCH", "/api/v1/paths/sessions/{sessionId}", "updatePathSession", h.update_path_session
    ),
    V1Route(
        "DELETE", "/api/v1/paths/sessions/{sessionId}", "deletePathSession", h.delete_path_session
    ),
    V1Route(
        "GET",
        "/api/v1/paths/sessions/{sessionId}/users",
        "listPathSessionUsers",
        h.list_session_users,
    ),
    V1Route(
        "PATCH", "/api/v1/paths/sessions/{sessionId}/users", "enrolPathSessionUsers", h.enrol_users
    ),
    V1Route(
        "DELETE",
        "/api/v1/paths/sessions/{sessionId}/users",
        "unenrolPathSessionUsers",
        h.unenrol_users,
    ),
    V1Route(
        "PATCH",
        "/api/v1/paths/sessions/{sessionId}/groups",
        "enrolPathSessionGroups",
        h.enrol_groups,
    ),
    V1Route(
        "DELETE",
        "/api/v1/paths/sessions/{sessionId}/groups",
        "unenrolPathSessionGroups",
        h.unenrol_groups,
    ),
    V1Route("GET", "/api/v1/groups", "listGroups", h.list_groups),
    V1Route("GET", "/api/v1/groups/{groupId}", "getGroup", h.get_group),
    V1Route("GET", "/api/v1/users", "listUsers", h.list_users),
    V1Route("GET", "/api/v1/users/{user}", "getUser", h.get_user),
    V1Route("GET", "/api/v1/paths", "listPaths", h.list_paths),
    V1Route("GET", "/api/v1/paths/{pathId}", "getPath", h.get_path),
    # Until a second version is served, the service routes answer in v1's words.
    V1Route("GET", "/health", "health", public=service.health),
    V1Route("GET", "/metrics", "metrics", public=service.metrics),
    V1Route("GET", "/openapi.json", "openapi", public=service.openapi_document),
    V1Route("GET", "/openapi/{api}.json", "openapiPart", public=service.openapi_part),
    V1Route("GET", "/docs", "docs", public=service.docs_page),
    V1Route("GET", "/docs/assets/{asset}", "docsAsset", public=service.docs_asset),
]
