"""What a scenario is: its data, its wrk script, the steps around its runs."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pathsessions.storage import Database

from ..seed import Dataset

SeedStep = Callable[[Database, Dataset, random.Random], Awaitable[None]]


@dataclass(frozen=True)
class Probe:
    """One request sent before the timed runs, its answer read whole and checked.

    `items` is how many sessions the answer holds; `problem` says what was wrong with it, if
    anything (the benchmark then fails as for a non-2xx answer).
    """

    answer_bytes: int
    items: int
    seconds: float
    detail: str = ""
    problem: str | None = None


ProbeStep = Callable[[int, Dataset], Probe]
PrepareStep = Callable[[int, Dataset], None]


@dataclass(frozen=True)
class Scenario:
    """One load shape: its extra data, and the wrk script that sends its requests.

    `script` answers the Lua source for a seeded data set; it defines `init` and `request` and
    must leave `setup`, `response` and `done` free (the warm-up run adds its own). `seed` runs
    after the base seed and before any server starts; data a scenario adds should live in its
    own company so that it does not change what the other scenarios measure, and a seed step
    shared by several scenarios must write its data only once (it gets the same `Dataset`).

    `connections` and `timeout` (wrk's, in seconds) override the command line's for this
    scenario; `ceiling` false skips the raw app, for loads it cannot stand for; `prepare` runs
    against our running server before any script is made (a bearer token, a URL that only
    following links reaches), keeping what it finds in `Dataset.extra`; `probe` sends one
    request on our server before the timed runs and checks its answer.
    """

    name: str
    description: str
    script: Callable[[Dataset], str]
    seed: SeedStep | None = None
    connections: int | None = None
    timeout: int | None = None
    ceiling: bool = True
    prepare: PrepareStep | None = None
    probe: ProbeStep | None = None
