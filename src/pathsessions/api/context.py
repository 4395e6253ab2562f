"""What every handler is given besides its request (and, if authenticated, its company)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.clock import Clock
from ..settings import Settings
from ..storage import Database
from ..web.metrics import Metrics
from ..web.routing import Route
from .openapi import Description


@dataclass(frozen=True, slots=True)
class Context:
    db: Database
    clock: Clock
    token_secret: bytes
    settings: Settings
    # Every served route with its API's description of it, for /openapi.json and /docs.
    described: Sequence[tuple[Route[Any, Any], Description]]
    # Documents derived from the routes (OpenAPI, docs page), built on first request.
    documents: dict[str, bytes] = field(default_factory=dict)
    # None when PATHSESSIONS_METRICS is off.
    metrics: Metrics | None = None
