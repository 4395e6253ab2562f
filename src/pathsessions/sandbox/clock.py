"""The sandbox's clocks: one for the server, optionally one per company, kept in the database.

A request's handlers see a `RequestClock`: the clocks as they were read when the request
began, answering for the company the request acts for once that is known (before that, for
the company its credentials name, so that a token's expiry is judged by the company's time).
"""

from __future__ import annotations

from ..core.clock import Clock, CompanyTimes
from ..core.values import format_date
from ..storage import Database
from ..storage import sandbox as store
from ..storage.sandbox import SERVER, ClockSetting


def now_of(setting: ClockSetting | None, real_ms: int) -> int:
    if setting is None:
        return real_ms
    if setting.frozen_at is not None:
        return setting.frozen_at
    return real_ms + setting.offset_ms


def setting_for(settings: dict[str, ClockSetting], company: str | None) -> ClockSetting | None:
    """A company's own clock, else the server's; None: real time."""
    if company is not None and company in settings:
        return settings[company]
    return settings.get(SERVER)


class RequestClock:
    """The time one request sees. `real` is the application's own clock (the machine's)."""

    __slots__ = ("_settings", "company", "real")

    def __init__(self, real: Clock, settings: dict[str, ClockSetting]) -> None:
        self.real = real
        self._settings = settings
        self.company: str | None = None

    @property
    def per_company(self) -> bool:
        """Some company has a clock of its own."""
        return any(key != SERVER for key in self._settings)

    def now_ms(self) -> int:
        return now_of(setting_for(self._settings, self.company), self.real.now_ms())


def describe(setting: ClockSetting | None, real_ms: int) -> dict[str, object]:
    """`{"now", "frozen", "offsetMs"}`: `offsetMs` is how far the clock is from real time."""
    now = now_of(setting, real_ms)
    return {
        "now": format_date(now),
        "frozen": setting is not None and setting.frozen_at is not None,
        "offsetMs": now - real_ms,
    }


async def company_times(db: Database, real: Clock) -> CompanyTimes:
    """Every company's time now, for what runs outside a request (webhook deliveries)."""
    settings = await store.clocks(db)
    real_ms = real.now_ms()
    own = {company: now_of(s, real_ms) for company, s in settings.items() if company != SERVER}
    return CompanyTimes(now_of(settings.get(SERVER), real_ms), own)
