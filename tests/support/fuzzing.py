"""What the schemathesis runs of both API versions share (test_schemathesis.py,
test_schemathesis_v2.py): the app counting what it is sent, the choice of a known value for a
generated one, and the run's seed."""

from __future__ import annotations

import os
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import pytest

from pathsessions.app import App

Scope = MutableMapping[str, Any]
Message = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass
class Counted:
    """The app, counting the requests it is sent, the checks' own included."""

    app: App
    requests: int = 0

    async def __call__(self, scope: Scope, receive: Message, send: Send) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


def swap(case: str, value: Any, known: list[Any]) -> Any:
    """One of `known`, or now and then `value` itself: chosen by what the case holds, so that a
    case Hypothesis replays is sent exactly as before."""
    i = zlib.crc32(f"{case}{value!r}".encode()) % (len(known) + 1)
    return value if i == len(known) else known[i]


def seed_setting() -> dict[str, int]:
    """The run's seed when PATHSESSIONS_TEST_SCHEMATHESIS_SEED replays one, else none."""
    seed = os.environ.get("PATHSESSIONS_TEST_SCHEMATHESIS_SEED")
    return {"seed": int(seed)} if seed else {}


def keep_node_id(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32 keeps the test's id in `Node._nodeid`, which pytest 9.2 no longer has.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
