"""What every part of the benchmark shares: its failure, its progress lines, its options."""

from __future__ import annotations

import sys
from dataclasses import dataclass

# A fixed seed: the same ids, bodies and request order on every run, so runs compare.
SEED = 360


class BenchError(Exception):
    """The benchmark could not run; the message says why."""


@dataclass(frozen=True)
class Options:
    """The command line, read (bench/cli.py)."""

    seconds: int = 10
    workers: int = 1
    connections: int = 32
    warmup: int = 2
    rounds: int = 1
    # The scenarios to run, by name; None: all of them.
    scenarios: tuple[str, ...] | None = None
    access_log: bool = True
    json: bool = False
    keep: bool = False
    # Every scenario once, briefly, on a smaller data set: that the benchmark runs, not figures.
    smoke: bool = False


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
