"""The sandbox in tests: an application with its control API on, and its admin client."""

from __future__ import annotations

from typing import Any

import httpx

from pathsessions.settings import Settings

from .world import TOKEN_SECRET

ADMIN_TOKEN = "an-admin-token-for-the-sandbox-tests-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def sandbox_settings(database_url: str, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        access_log=False,
        pg_pool_size=4,
        token_secret=TOKEN_SECRET,
        rate_limits=False,
        admin_token=ADMIN_TOKEN,
        **extra,
    )


async def admin(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A control API call with the admin token."""
    headers = {**ADMIN, **kwargs.pop("headers", {})}
    return await client.request(method, "/__admin" + path, headers=headers, **kwargs)
