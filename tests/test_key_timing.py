"""An unknown company and a wrong key for a known one cost the same work, and the same time;
so do an unknown v2 client id and a wrong secret for a known one."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import statistics
import time
from collections.abc import Awaitable, Callable

import pytest

from pathsessions.core import credentials, keys
from pathsessions.core.clock import SystemClock
from pathsessions.core.errors import DomainError, ErrorCode
from pathsessions.storage import Database
from support.world import TOKEN_SECRET, World

UNKNOWN = "5f0000000000000000000abc"
UNKNOWN_CLIENT = "f" * 32
WRONG_KEY = "w" * 43


class HashSpy:
    """Counts the key digests taken and the digests compared."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hashed = 0
        self.compared = 0
        real_hash, real_compare = keys.hash_key, hmac.compare_digest

        def hash_key(key: str) -> str:
            self.hashed += 1
            return real_hash(key)

        def compare_digest(a: bytes, b: bytes) -> bool:
            self.compared += 1
            return real_compare(a, b)

        monkeypatch.setattr(keys, "hash_key", hash_key)
        monkeypatch.setattr(hmac, "compare_digest", compare_digest)

    def take(self) -> tuple[int, int]:
        counts = (self.hashed, self.compared)
        self.hashed = self.compared = 0
        return counts


async def test_an_unknown_company_hashes_and_compares_the_key_like_a_wrong_key(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = HashSpy(monkeypatch)
    for company_id in (world.company, UNKNOWN):
        with pytest.raises(DomainError) as refused:
            await credentials.company_for_key(db, company_id, WRONG_KEY)
        assert refused.value.code is ErrorCode.UNAUTHENTICATED
        assert spy.take() == (1, 1), company_id  # ACME has one active key
    secret = TOKEN_SECRET.encode()
    for company_id in (world.company, UNKNOWN):
        with pytest.raises(DomainError) as refused:
            await credentials.issue_token(db, SystemClock(), secret, company_id, WRONG_KEY)
        assert refused.value.code is ErrorCode.INVALID_CLIENT
        assert spy.take() == (1, 1), company_id
    for client_id in (world.credential.client_id, UNKNOWN_CLIENT):
        with pytest.raises(DomainError) as refused:
            await credentials.issue_token(db, SystemClock(), secret, client_id, WRONG_KEY)
        assert refused.value.code is ErrorCode.INVALID_CLIENT
        assert spy.take() == (1, 1), client_id


def test_no_key_is_the_dummy_digest() -> None:
    assert keys.matching_key(WRONG_KEY, []) is None
    assert keys.hash_key(WRONG_KEY) != keys.DUMMY_HASH
    assert len(keys.DUMMY_HASH) == len(hashlib.sha256().hexdigest())


async def _median_us(calls: list[Callable[[], Awaitable[object]]], rounds: int) -> list[float]:
    """The median time of each call, in µs, over `rounds` rounds that alternate them."""
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(rounds):
        for i, call in enumerate(calls):
            started = time.perf_counter()
            with contextlib.suppress(DomainError):
                await call()
            times[i].append((time.perf_counter() - started) * 1e6)
    return [statistics.median(t) for t in times]


@pytest.mark.parametrize("operation", ["company_for_key", "issue_token", "issue_v2_token"])
async def test_an_unknown_company_is_refused_in_the_time_a_wrong_key_is(
    db: Database, world: World, operation: str
) -> None:
    """Medians of calls alternated in rounds, so that a busy machine slows both alike; the
    tolerance is 15 % or 5 µs, whichever is larger (the database still reads the rows of a
    known company's keys, which takes it a few µs more than finding none)."""
    secret = TOKEN_SECRET.encode()
    clock = SystemClock()

    def refusal(client_id: str) -> Callable[[], Awaitable[object]]:
        """A refusal for the company (v1) or the credential (v2) `client_id`."""
        if operation == "company_for_key":
            return lambda: credentials.company_for_key(db, client_id, WRONG_KEY)
        return lambda: credentials.issue_token(db, clock, secret, client_id, WRONG_KEY)

    if operation == "issue_v2_token":
        calls = [refusal(world.credential.client_id), refusal(UNKNOWN_CLIENT)]
    else:
        calls = [refusal(world.company), refusal(UNKNOWN)]
    await _median_us(calls, 200)  # warm up
    wrong, unknown = await _median_us(calls, 3000)
    assert abs(wrong - unknown) <= max(0.15 * wrong, 5.0), (wrong, unknown)
