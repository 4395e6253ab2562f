"""v2 bearer tokens and the headers of a v2 request, made from the world's credentials."""

from __future__ import annotations

import httpx

from .world import ACME_FULL, Credential

TOKEN_URL = "/api/v2/oauth2/token"
VERSION_HEADER = {"360-api-version": "v2.0"}


async def v2_token(client: httpx.AsyncClient, client_id: str, client_secret: str) -> str:
    """A fresh v2 bearer token for the credential `client_id` (its secret `client_secret`)."""
    r = await client.post(
        TOKEN_URL,
        json={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert isinstance(token, str)
    return token


async def v2_headers(
    client: httpx.AsyncClient, credential: Credential = ACME_FULL
) -> dict[str, str]:
    """The headers of a v2 request made with `credential` (ACME's, with every scope)."""
    token = await v2_token(client, credential.client_id, credential.client_secret)
    return {"Authorization": f"Bearer {token}", **VERSION_HEADER}
