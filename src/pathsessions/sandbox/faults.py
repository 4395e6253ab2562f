"""Faults: answers the sandbox gives instead of (or after) an operation, on purpose.

A fault is checked when a request reaches its operation (its credentials, rate limit and body
have passed): `before` answers in its place, so nothing runs and nothing is written; `after`
lets it run and commit, then answers in its place. Its `times` are counted by the database
(`storage.sandbox.fire`), so a fault answers exactly that often across every worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ACTIONS = ("respond", "delay", "reset", "hang")
WHEN = ("before", "after")
# The longest a `hang` keeps a request unanswered, in seconds.
HANG_SECONDS = 300.0
MAX_DELAY_MS = 300_000


class InvalidFault(ValueError):
    """A fault definition that cannot be used: `<field>: <problem>`."""


@dataclass(frozen=True, slots=True)
class Fault:
    id: str
    operation: str | None
    method: str | None
    path: str | None
    company: str | None
    action: str
    when: str
    probability: float
    status: int
    body: Any
    has_body: bool
    headers: dict[str, str]
    delay_ms: int

    def matches(self, operation: str | None, method: str, path: str, company: str | None) -> bool:
        return (
            (self.operation is None or self.operation == operation)
            and (self.method is None or self.method == method)
            and (self.path is None or path.startswith(self.path))
            and (self.company is None or self.company == company)
        )


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidFault(f"{name}: must be a non-empty string")
    return value


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidFault(f"{name}: must be an integer from {low} to {high}")
    return value


def definition(body: Any) -> dict[str, Any]:
    """The fault as it is kept and listed (defaults filled in), from a request body."""
    if not isinstance(body, dict):
        raise InvalidFault("body: must be a JSON object")
    known = {
        "operation",
        "method",
        "path",
        "company",
        "action",
        "when",
        "times",
        "probability",
        "status",
        "body",
        "headers",
        "delayMs",
    }
    unknown = sorted(set(body) - known)
    if unknown:
        raise InvalidFault(f"{unknown[0]}: unknown field")
    out: dict[str, Any] = {}
    for name in ("operation", "path", "company"):
        value = _text(body.get(name), name)
        if value is not None:
            out[name] = value
    method = _text(body.get("method"), "method")
    if method is not None:
        out["method"] = method.upper()
    if out.get("path", "/").startswith("/") is False:
        raise InvalidFault("path: must start with /")
    action = body.get("action")
    if action not in ACTIONS:
        raise InvalidFault(f"action: must be one of {', '.join(ACTIONS)}")
    out["action"] = action
    when = body.get("when", "before")
    if when not in WHEN:
        raise InvalidFault("when: must be before or after")
    out["when"] = when
    if "times" in body:
        out["times"] = _integer(body["times"], "times", 1, 2**31 - 1)
    probability = body.get("probability", 1)
    if (
        isinstance(probability, bool)
        or not isinstance(probability, int | float)
        or not (math.isfinite(probability) and 0 <= probability <= 1)
    ):
        raise InvalidFault("probability: must be a number from 0 to 1")
    out["probability"] = probability
    if action == "respond":
        if "status" not in body:
            raise InvalidFault("status: required with respond")
        out["status"] = _integer(body["status"], "status", 100, 599)
        if "body" in body:
            out["body"] = body["body"]
        headers = body.get("headers", {})
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in headers.items()
        ):
            raise InvalidFault("headers: must be an object of strings")
        if headers:
            out["headers"] = headers
    else:
        for name in ("status", "body", "headers"):
            if name in body:
                raise InvalidFault(f"{name}: only with respond")
    if "delayMs" in body:
        if action not in ("respond", "delay"):
            raise InvalidFault("delayMs: only with respond or delay")
        out["delayMs"] = _integer(body["delayMs"], "delayMs", 0, MAX_DELAY_MS)
    elif action == "delay":
        raise InvalidFault("delayMs: required with delay")
    return out


def fault(fault_id: str, d: dict[str, Any]) -> Fault:
    return Fault(
        id=fault_id,
        operation=d.get("operation"),
        method=d.get("method"),
        path=d.get("path"),
        company=d.get("company"),
        action=d["action"],
        when=d["when"],
        probability=float(d["probability"]),
        status=int(d.get("status", 0)),
        body=d.get("body"),
        has_body="body" in d,
        headers=d.get("headers", {}),
        delay_ms=int(d.get("delayMs", 0)),
    )
