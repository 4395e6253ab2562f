"""Per-company rate limits: a token bucket per company and kind (write or read).

Each bucket holds `rate` requests and refills at `rate` per second, kept as one number, the
"theoretical arrival time" of the generic cell rate algorithm (GCRA): a request is allowed when
that time is at most `rate - 1` intervals ahead of now, and moves it one interval on. So a
client that keeps to the limit is never refused, and a burst from idle gets `rate` at once.

Where the numbers live:
- `SharedTable`: a memory map, anonymous for one process or a file shared by the worker
  processes of one host, guarded by `flock`. A few microseconds a request.
- `RedisLimiter`: one Lua script in Redis, timed by Redis's own clock, so every host agrees.
"""

from __future__ import annotations

import fcntl
import logging
import math
import mmap
import os
import struct
import time
import zlib
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("pathsessions.ratelimit")

WRITE, READ = 0, 1


class Limiter(Protocol):
    async def wait(self, company_id: str, kind: int) -> float:
        """Take one request from the company's bucket: 0 when allowed, else the seconds
        until the bucket holds one again."""

    async def close(self) -> None: ...


def retry_after(wait: float) -> bytes:
    """`Retry-After` in whole seconds, at least 1: a client that waits that long is served."""
    return str(max(1, math.ceil(wait))).encode()


# A slot: company id (12 bytes), a used flag, 3 bytes of padding, then one arrival time per kind.
_SLOT = struct.Struct("<12s?3xdd")
SLOTS = 65_536


class SharedTable:
    """Buckets in open addressing over a fixed table of `slots` slots.

    A bucket whose arrival times have all passed is the same as no bucket, so its slot is
    reused: the table fills only if more than `slots` companies call within about a second.
    Then a company without a slot is let through (and logged), never refused.
    """

    def __init__(
        self,
        rates: tuple[int, int],
        path: str = "",
        clock: Callable[[], float] = time.monotonic,
        slots: int = SLOTS,
    ) -> None:
        # monotonic: one clock for every process of the host, and immune to clock changes.
        self.intervals = (1.0 / rates[WRITE], 1.0 / rates[READ])
        self.tolerances = ((rates[WRITE] - 1) / rates[WRITE], (rates[READ] - 1) / rates[READ])
        self.clock = clock
        self.slots = slots
        size = slots * _SLOT.size
        self._fd = -1
        if path:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            if os.fstat(self._fd).st_size < size:
                os.ftruncate(self._fd, size)  # sparse: only slots in use take memory
            self._map = mmap.mmap(self._fd, size)
        else:
            self._map = mmap.mmap(-1, size)
        self._full_logged = 0.0

    async def wait(self, company_id: str, kind: int) -> float:
        key = bytes.fromhex(company_id)
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            return self._take(key, kind, self.clock())
        finally:
            if self._fd >= 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _take(self, key: bytes, kind: int, now: float) -> float:
        slot = self._find(key, now)
        if slot < 0:
            if now - self._full_logged > 60:
                self._full_logged = now
                log.warning("rate-limit table full: a company is let through unlimited")
            return 0.0
        # A free slot holds zeros or times already past: the same as a full bucket.
        times: list[float] = list(_SLOT.unpack_from(self._map, slot)[2:])
        arrival = max(times[kind], now)
        late = arrival - now - self.tolerances[kind]
        if late > 1e-9:  # not a rounding error of adding up intervals
            return late
        times[kind] = arrival + self.intervals[kind]
        _SLOT.pack_into(self._map, slot, key, True, *times)
        return 0.0

    def _find(self, key: bytes, now: float) -> int:
        """The offset of the company's slot, or of a free one for it; -1 when full."""
        start = zlib.crc32(key) % self.slots
        free = -1
        for i in range(self.slots):
            offset = (start + i) % self.slots * _SLOT.size
            owner, used, write_at, read_at = _SLOT.unpack_from(self._map, offset)
            if owner == key and used:
                return offset
            if not used:
                # The end of this key's chain: it has no slot yet.
                return offset if free < 0 else free
            if free < 0 and write_at <= now and read_at <= now:
                free = offset
        return free

    async def close(self) -> None:
        self._map.close()
        if self._fd >= 0:
            os.close(self._fd)


# KEYS[1]: the bucket. ARGV: interval and tolerance in microseconds. Returns the wait in
# microseconds, 0 when allowed. Redis's TIME, not the caller's clock: hosts may disagree.
_GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local arrival = tonumber(redis.call('GET', KEYS[1]) or '0')
if arrival < now then arrival = now end
local late = arrival - now - tonumber(ARGV[2])
if late > 0 then return late end
arrival = arrival + interval
local ttl_ms = math.ceil((arrival - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%d', arrival), 'PX', ttl_ms)
return 0
"""


class RedisLimiter:
    """Buckets in Redis, shared by every host. If Redis does not answer, requests are let
    through: losing the limits for a while is better than refusing every call because a
    helper service is down.

    A circuit breaker keeps an unanswering Redis from costing every request its timeout: after
    a failure, Redis is not asked at all for `cool_down` seconds; then one request asks it
    again (the others still pass without it), and either closes the breaker or opens it for
    another cool-down. One log line when Redis is lost, one when it is back.
    """

    # Seconds a request waits for Redis (to connect, then to answer) before it is let through.
    TIMEOUT = 0.5
    # Seconds Redis is skipped after a failure before one request tries it again.
    COOL_DOWN = 10.0

    def __init__(self, rates: tuple[int, int], url: str, cool_down: float = COOL_DOWN) -> None:
        import redis.asyncio as redis  # only servers configured for Redis need the module
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No retries by the client: a retry would double the wait the breaker is there to end.
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=self.TIMEOUT,
            socket_connect_timeout=self.TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
        self._script = self._client.register_script(_GCRA)
        self._args = [(round(1e6 / rate), round(1e6 * (rate - 1) / rate)) for rate in rates]
        self.cool_down = cool_down
        self._open_until = 0.0  # monotonic: Redis is skipped until then
        self._down_since = 0.0  # 0: Redis is believed to answer
        self._probing = False

    async def wait(self, company_id: str, kind: int) -> float:
        if self._down_since:
            if self._probing or time.monotonic() < self._open_until:
                return 0.0  # the breaker is open: fail open, at no cost
            self._probing = True  # half-open: this request alone asks Redis
        key = f"pathsessions:rate:{company_id}:{'wr'[kind]}"
        try:
            late = await self._script(keys=[key], args=list(self._args[kind]))
        except Exception as exc:  # any Redis or network failure
            self._probing = False
            self.failed(exc)
            return 0.0
        except BaseException:
            self._probing = False  # cancelled: the next request after the cool-down asks
            raise
        if self._down_since:
            log.warning(
                "rate limits applied again: Redis available after %.1f s",
                time.monotonic() - self._down_since,
            )
            self._down_since = 0.0
            self._probing = False
        return int(late) / 1e6

    def down(self) -> bool:
        """Redis is believed not to answer: the breaker is open, or a request probes it."""
        return bool(self._down_since)

    def failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if not self._down_since:
            self._down_since = now
            log.warning(
                "rate limits not applied: Redis unavailable (%s); asking it again every %g s",
                type(exc).__name__,
                self.cool_down,
            )
        self._open_until = now + self.cool_down

    async def close(self) -> None:
        await self._client.aclose()


def open_limiter(
    enabled: bool, rates: tuple[int, int], redis_url: str, shared_file: str
) -> Limiter | None:
    if not enabled:
        return None
    if redis_url:
        return RedisLimiter(rates, redis_url)
    return SharedTable(rates, shared_file)


# --- Concurrent streamed answers per company ---------------------------------------------------


class StreamSlots(Protocol):
    """How many streamed answers (whole lists, read in batches) each company may have in
    progress at once: a list of a large company holds a worker's loop for a batch at a time,
    and ten of them at once starved every other company's requests on that worker."""

    async def acquire(self, company_id: str) -> str | None:
        """A slot for one streamed answer, named by the returned token; None when the
        company already has as many as it may."""

    async def release(self, company_id: str, token: str) -> None: ...

    async def close(self) -> None: ...


class LocalStreamSlots:
    """Counted in this process: with several workers, each allows `cap` per company."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._counts: dict[str, int] = {}

    async def acquire(self, company_id: str) -> str | None:
        count = self._counts.get(company_id, 0)
        if count >= self.cap:
            return None
        self._counts[company_id] = count + 1
        return company_id

    async def release(self, company_id: str, token: str) -> None:
        count = self._counts.get(company_id, 0) - 1
        if count > 0:
            self._counts[company_id] = count
        else:
            self._counts.pop(company_id, None)

    async def close(self) -> None:
        self._counts.clear()


# KEYS[1]: the company's set of streams in progress, each scored by its start (Redis's clock,
# in ms). ARGV: the cap, the token, the most milliseconds a stream is counted. A stream whose
# worker died without releasing it is forgotten after that time.
_ACQUIRE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local lifetime = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - lifetime)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], lifetime)
return 1
"""


class RedisStreamSlots:
    """Counted in Redis, so the cap holds across every worker and host that share it. If
    Redis fails, streams are let through (as the rate limits are), and Redis is not asked
    again for `cool_down` seconds; one log line when it is lost, one when it is back. Given
    the rate limiter (`shared`), its client and circuit breaker are used: one Redis, one
    timeout and one log line per outage."""

    # A stream is counted at most this long (a worker killed mid-stream never releases).
    LIFETIME_MS = 600_000

    def __init__(
        self,
        cap: int,
        url: str,
        cool_down: float = RedisLimiter.COOL_DOWN,
        shared: RedisLimiter | None = None,
    ) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.cap = cap
        self._shared = shared
        self._client = (
            shared._client
            if shared is not None
            else redis.Redis.from_url(
                url,
                socket_timeout=RedisLimiter.TIMEOUT,
                socket_connect_timeout=RedisLimiter.TIMEOUT,
                retry=Retry(NoBackoff(), 0),
            )
        )
        self._script = self._client.register_script(_ACQUIRE)
        self.cool_down = cool_down
        self._open_until = 0.0
        self._down_since = 0.0

    async def acquire(self, company_id: str) -> str | None:
        token = os.urandom(8).hex()
        skipped = self._shared.down() if self._shared else time.monotonic() < self._open_until
        if skipped:
            return ""  # Redis is skipped for now: let the stream through, uncounted
        try:
            allowed = await self._script(
                keys=[_streams_key(company_id)], args=[self.cap, token, self.LIFETIME_MS]
            )
        except Exception as exc:  # any Redis or network failure
            self._lost(exc)
            return ""
        self._back()
        return token if allowed else None

    async def release(self, company_id: str, token: str) -> None:
        if not token:
            return  # let through while Redis was unavailable: never counted
        try:
            await self._client.zrem(_streams_key(company_id), token)
        except Exception as exc:
            self._lost(exc)  # counted until LIFETIME_MS passes

    def _lost(self, exc: Exception) -> None:
        if self._shared is not None:
            self._shared.failed(exc)
            return
        now = time.monotonic()
        if not self._down_since:
            self._down_since = now
            log.warning(
                "list limits not applied: Redis unavailable (%s); asking it again every %g s",
                type(exc).__name__,
                self.cool_down,
            )
        self._open_until = now + self.cool_down

    def _back(self) -> None:
        if self._shared is None and self._down_since:
            log.warning(
                "list limits applied again: Redis available after %.1f s",
                time.monotonic() - self._down_since,
            )
            self._down_since = 0.0

    async def close(self) -> None:
        if self._shared is None:
            await self._client.aclose()


def _streams_key(company_id: str) -> str:
    return f"pathsessions:streams:{company_id}"


def open_stream_slots(cap: int, redis_url: str, limiter: Limiter | None) -> StreamSlots:
    if redis_url:
        shared = limiter if isinstance(limiter, RedisLimiter) else None
        return RedisStreamSlots(cap, redis_url, shared=shared)
    return LocalStreamSlots(cap)
