"""v2's route table: every operation of every v2 module, in matching order, with the scope
each needs (`SCOPE_OF`) and the component schemas the modules declare."""

from __future__ import annotations

from typing import Any

from ...web.routing import Route
from ..context import Context
from . import enrollments, groups, progress, reads, sessions, webhooks
from .operations import Operation

# Each module holds OPERATIONS and SCHEMAS. A more specific path comes before a pattern that
# would also match it (`/paths/sessions` and `/paths/stats` before `/paths/{pathId}`).
# `enrollments` and `webhooks` only add routes no other module's pattern matches, so their
# places among them do not matter.
MODULES = (sessions, progress, groups, reads, enrollments, webhooks)

OPERATIONS: list[Operation] = [op for module in MODULES for op in module.OPERATIONS]
ROUTES: list[Route[Context, Any]] = [op.route for op in OPERATIONS]
SCOPE_OF: dict[str, str] = {op.route.operation_id: op.scope for op in OPERATIONS}
SCHEMAS: dict[str, Any] = {
    name: schema for module in MODULES for name, schema in module.SCHEMAS.items()
}
