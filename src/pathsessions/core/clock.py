"""The one place that reads the time of day for the service's rules.

Everything that dates a record, decides whether a session is running or a date is in the
past, or checks a token's expiry asks a `Clock` passed to it. Tests and the sandbox use a
`SettableClock`; the server uses the `SystemClock`.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the epoch (UTC)."""
        ...


class SystemClock:
    """The machine's time."""

    __slots__ = ()

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


SYSTEM_CLOCK = SystemClock()


class SettableClock:
    """The machine's time until told otherwise: then frozen at an instant (`set`), or moved
    by an offset (`advance` while running); `resume` goes back to the machine's time."""

    __slots__ = ("_frozen", "_offset")

    def __init__(self, now_ms: int | None = None) -> None:
        self._frozen = now_ms
        self._offset = 0

    def now_ms(self) -> int:
        if self._frozen is not None:
            return self._frozen
        return SYSTEM_CLOCK.now_ms() + self._offset

    def set(self, now_ms: int) -> None:
        """Stand still at `now_ms` until told otherwise."""
        self._frozen = now_ms

    def advance(self, ms: int) -> None:
        """Move forward (or back, with a negative `ms`), frozen or running."""
        if self._frozen is not None:
            self._frozen += ms
        else:
            self._offset += ms

    def resume(self) -> None:
        """Back to the machine's time."""
        self._frozen = None
        self._offset = 0


class FixedClock:
    """One instant: what a company's clock said when it was read."""

    __slots__ = ("_now",)

    def __init__(self, now_ms: int) -> None:
        self._now = now_ms

    def now_ms(self) -> int:
        return self._now


class CompanyTimes:
    """Every company's time at one moment: `default` for all but those of `own` (the
    sandbox's per-company clocks), which have theirs."""

    __slots__ = ("default", "own")

    def __init__(self, default: int, own: dict[str, int]) -> None:
        self.default = default
        self.own = own

    def of(self, company_id: str) -> int:
        return self.own.get(company_id, self.default)
