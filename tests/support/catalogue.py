"""One valid request for every operation of the API, naming objects of the test world.

The tests that go through every operation (hostile input, tenant isolation, bearer tokens,
enrolments) take each operation's method, URL and a body it accepts from here, so that a new
operation or a changed body is written once. Methods and paths are app.ROUTES' own; what this
adds is the body, and the ids that fill a path: the test world's, but for `sessionId`, which a
test always gives (sessions are what tests create).

`REQUESTS` has the create first (some tables cover it elsewhere and skip it), then the other
operations with a body, then those without; the users routes have one request per way of
naming users. `CATALOGUE` is the first request of each operation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pathsessions.app import ROUTES

from .api import valid_body
from .world import ACME, ACME_KEY, WORLD

# The ids a path parameter is filled with unless a test gives its own.
WORLD_IDS = {"pathId": WORLD.path, "groupId": WORLD.sales_group, "user": WORLD.instructor_mail}


@dataclass(frozen=True)
class Request:
    operation: str  # the route's operation_id in app.ROUTES
    method: str
    path: str  # the route's path, parameters in braces
    body: dict[str, Any] | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields of the body, each of which the operation reads."""
        return tuple(self.body or ())

    @property
    def json(self) -> dict[str, Any]:
        """The body of an operation that takes one."""
        assert self.body is not None, f"{self.operation} takes no body"
        return self.body

    def url(self, **ids: str) -> str:
        """The path with its parameters filled: by `ids`, else with the test world's."""
        values = {**WORLD_IDS, **ids}
        return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], self.path)


_ROUTES = {route.operation_id: route for route in ROUTES}


def _request(operation: str, body: dict[str, Any] | None = None) -> Request:
    route = _ROUTES[operation]
    return Request(operation, route.method, route.path, body)


_USERS = [{"userEmails": [WORLD.instructor_mail]}, {"userIds": [WORLD.instructor]}]
_GROUPS = {"groupIds": [WORLD.sales_group]}

_WITH_BODY = [
    _request("createPathSession", valid_body()),
    _request("updatePathSession", valid_body()),
    *(_request("enrolPathSessionUsers", body) for body in _USERS),
    *(_request("unenrolPathSessionUsers", body) for body in _USERS),
    _request("enrolPathSessionGroups", _GROUPS),
    _request("unenrolPathSessionGroups", _GROUPS),
    _request(
        "v2.authentication.GenerateTokenController_generateToken",
        {"grant_type": "client_credentials", "client_id": ACME, "client_secret": ACME_KEY},
    ),
]
REQUESTS = [
    *_WITH_BODY,
    *(
        _request(route.operation_id)
        for route in ROUTES
        if route.operation_id not in {r.operation for r in _WITH_BODY}
    ),
]
CATALOGUE: dict[str, Request] = {}
for _each in REQUESTS:
    CATALOGUE.setdefault(_each.operation, _each)
