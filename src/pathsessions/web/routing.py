"""Routes and the router. A route names its handler, typed by the context its API gives it
and, for an authenticated route, the principal its API's authentication answers."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import unquote

from .asgi import Request, Response

Ctx = TypeVar("Ctx")
P = TypeVar("P")


@dataclass(frozen=True)
class Route(Generic[Ctx, P]):
    """`path` uses `{name}` for a segment, which may be empty (`/paths//sessions`).

    Exactly one of `handler` (authenticated: called with the principal) and `public`."""

    method: str
    path: str
    operation_id: str
    handler: Callable[[Request, Ctx, P], Awaitable[Response]] | None = None
    public: Callable[[Request, Ctx], Awaitable[Response]] | None = None
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.public is None):
            raise ValueError(f"route {self.method} {self.path}: give handler or public")
        parts = re.split(r"\{(\w+)\}", self.path.rstrip("/"))
        # Even items are literal text, odd ones parameter names.
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]*)" for i, part in enumerate(parts)
        )
        object.__setattr__(self, "pattern", re.compile(regex + "/?"))

    @property
    def authenticated(self) -> bool:
        return self.handler is not None


T = TypeVar("T")


class Router(Generic[T]):
    """Routes, each with what it belongs to (its API), matched in order."""

    def __init__(self, routes: Sequence[tuple[Route[Any, Any], T]]) -> None:
        self.routes = list(routes)

    def match(self, method: str, raw_path: str) -> tuple[Route[Any, Any], T, dict[str, str]] | None:
        """The first route matching both path and method; a wrong method is no match.

        Matched on the path as sent (percent-encoded), so that an encoded `/` (`%2F`) stays
        inside its segment; each parameter is decoded after the match."""
        for route, owner in self.routes:
            if route.method != method:
                continue
            m = route.pattern.fullmatch(raw_path)
            if m is not None:
                return route, owner, {k: unquote(v) for k, v in m.groupdict().items()}
        return None
