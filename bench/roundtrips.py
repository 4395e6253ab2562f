"""Round trips to PostgreSQL per request: the app in-process, asyncpg's calls counted.

    .venv/bin/python -m bench.roundtrips [--pg-url URL]

Serves a fresh database (the benchmark's base company and a reader company of 1,000
sessions) through the real ASGI app and httpx, and for each kind of request the mixed load
sends (a v1 create, a v1 get-by-id) and a v2 get-by-id, prints the statements sent (BEGIN and
COMMIT included), the pool checkouts, and the statements asyncpg runs on its own (the reset of
a connection released to the pool). Each statement is one round trip: asyncpg sends
Parse/Bind/Execute/Sync together once a statement is prepared.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import asyncpg
import asyncpg.pool
import httpx

from pathsessions.app import create_app
from pathsessions.settings import Settings

from .common import BenchError
from .scale import PG_URL, postgres_database, seed_companies
from .scenarios.scale import SizedCompany
from .seed import Dataset

COUNTED = ("fetch", "fetchrow", "fetchval", "execute", "executemany")
counts: Counter[str] = Counter()


def _counting(name: str, real: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        head = query.split(None, 1)[0].upper() if query.strip() else "?"
        if "pg_advisory_unlock_all" in query:
            head = "RESET"  # asyncpg's own, on every connection released to the pool
        counts[f"{name}:{head}"] += 1
        return await real(self, query, *args, **kwargs)

    return counted


def instrument() -> None:
    for name in COUNTED:
        real = getattr(asyncpg.connection.Connection, name)
        setattr(asyncpg.connection.Connection, name, _counting(name, real))
    real_acquire = asyncpg.pool.Pool._acquire

    async def acquire(self: Any, timeout: Any) -> Any:
        counts["pool:checkout"] += 1
        return await real_acquire(self, timeout)

    asyncpg.pool.Pool._acquire = acquire


def round_trips(counted: Counter[str]) -> int:
    """Statements, BEGIN and COMMIT included: each is one exchange with the server."""
    return sum(n for key, n in counted.items() if not key.startswith("pool:"))


async def measure(url: str, data: Dataset, company: SizedCompany) -> dict[str, Counter[str]]:
    settings = replace(
        Settings(),
        database_url=url,
        token_secret=secrets.token_hex(32),
        rate_limits=False,
        access_log=False,
    )
    app = create_app(settings)
    await app.startup()
    seen: dict[str, Counter[str]] = {}
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            rng = random.Random(1)
            write = {"X-company-id": data.company_id, "X-apiKey": data.api_key}
            read = {"X-company-id": company.company_id, "X-apiKey": company.api_key}
            token_answer = await client.post(
                "/api/v2/oauth2/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": company.credential.client_id,
                    "client_secret": company.credential.client_secret,
                },
                headers={"360-api-version": "v2.0"},
            )
            token = token_answer.json()["access_token"]
            v2 = {"Authorization": f"Bearer {token}", "360-api-version": "v2.0"}

            async def create() -> httpx.Response:
                body = {
                    "sessionName": "Round trips",
                    "startDate": "2025-03-01T09:00:00.000Z",
                    "endDate": "2025-03-01T17:30:00.000Z",
                    "sessionOwnerGroup": rng.choice(data.group_ids),
                    "instructorsMails": [rng.choice(data.user_mails)],
                }
                path = f"/api/v1/paths/{rng.choice(data.path_ids)}/sessions/"
                return await client.post(path, json=body, headers=write)

            async def get_v1() -> httpx.Response:
                session_id, _ = rng.choice(company.drawn)
                return await client.get(f"/api/v1/paths/sessions/{session_id}", headers=read)

            async def get_v2() -> httpx.Response:
                session_id, path_id = rng.choice(company.drawn)
                return await client.get(
                    f"/api/v2/paths/{path_id}/sessions/{session_id}", headers=v2
                )

            kinds: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
                "v1 create": create,
                "v1 get-by-id": get_v1,
                "v2 get-by-id": get_v2,
            }
            for name, send in kinds.items():
                await send()  # the first of each kind prepares its statements
                counts.clear()
                answer = await send()
                if answer.status_code != 200:
                    raise BenchError(f"{name}: status {answer.status_code}: {answer.text[:300]}")
                seen[name] = Counter(counts)
    finally:
        await app.shutdown()
    return seen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.roundtrips", description=__doc__.split("\n")[0])
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args(argv)
    instrument()
    try:
        with postgres_database(args.pg_url) as url:
            data, (company,) = seed_companies(url, [("reader", 1000)], True)
            seen = asyncio.run(measure(url, data, company))
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, counted in seen.items():
        detail = ", ".join(f"{key} {n}" for key, n in sorted(counted.items()))
        print(f"{name}: {round_trips(counted)} round trips ({detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
