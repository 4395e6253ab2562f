"""v2 API credentials and the tokens made from them (docs/api.md, "v2 API credentials").

A credential (client id, secret, name, scopes) is created by an operator, with the CLI or a
fixture document; `POST /api/v2/oauth2/token` exchanges it for a one-hour v2 token, which
`core.credentials.client_for_token` turns into the `Client` a v2 request acts as. v1 keys and
v2 credentials make tokens that the other version refuses.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pathsessions.core import credentials, tokens
from pathsessions.core.clock import SettableClock
from pathsessions.core.errors import DomainError, ErrorCode
from pathsessions.core.operators import create_credential, list_credentials, revoke_credential
from pathsessions.storage import Database
from support import JSON_TYPE, TOKEN_SECRET, UNKNOWN_ID, World, error
from support.v2 import TOKEN_URL, v2_headers, v2_token
from support.world import ALL_SCOPES, Credential

SECRET = TOKEN_SECRET.encode()
HOUR_MS = 3_600_000


def grant(credential: Credential, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "grant_type": "client_credentials",
        "client_id": credential.client_id,
        "client_secret": credential.client_secret,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


async def client_of(db: Database, clock: SettableClock, token: str) -> Any:
    return await credentials.client_for_token(db, clock, SECRET, token)


async def refused(db: Database, clock: SettableClock, token: str) -> None:
    with pytest.raises(DomainError) as caught:
        await client_of(db, clock, token)
    assert caught.value.code is ErrorCode.INVALID_TOKEN


# --- Issuing --------------------------------------------------------------------------------


async def test_a_v2_credential_gets_a_token_that_names_its_company_and_scopes(
    client: httpx.AsyncClient, db: Database, world: World, settable_clock: SettableClock
) -> None:
    r = await client.post(TOKEN_URL, json=grant(world.credential))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON_TYPE
    token = r.json()["access_token"]
    assert r.content == (
        b'{"token_type":"Bearer","access_token":"' + token.encode() + b'","expires_in":"3600"}'
    )
    found = await client_of(db, settable_clock, token)
    assert found.company.id == world.company
    assert found.scopes == frozenset(ALL_SCOPES)
    narrow = await v2_token(
        client, world.paths_read_credential.client_id, world.paths_read_credential.client_secret
    )
    assert (await client_of(db, settable_clock, narrow)).scopes == {"paths:read"}
    other = await v2_token(
        client, world.other_credential.client_id, world.other_credential.client_secret
    )
    assert (await client_of(db, settable_clock, other)).company.id == world.other_company


async def test_v2_headers_carry_the_token_and_the_version(
    client: httpx.AsyncClient, db: Database, world: World, settable_clock: SettableClock
) -> None:
    headers = await v2_headers(client, world.directory_read_credential)
    assert headers["360-api-version"] == "v2.0"
    scheme, _, token = headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    assert (await client_of(db, settable_clock, token)).scopes == {"groups:read", "users:read"}


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "application/json", None]
)
async def test_a_form_body_works_for_v2_credentials_too(
    client: httpx.AsyncClient, world: World, content_type: str | None
) -> None:
    c = world.credential
    form = f"grant_type=client_credentials&client_id={c.client_id}&client_secret={c.client_secret}"
    headers = {} if content_type is None else {"Content-Type": content_type}
    r = await client.post(TOKEN_URL, content=form.encode(), headers=headers)
    assert r.status_code == 200, r.text


async def test_an_upper_case_client_id_is_the_same_client(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        TOKEN_URL, json=grant(world.credential, client_id=world.credential.client_id.upper())
    )
    assert r.status_code == 200, r.text


async def test_company_and_user_may_be_named(client: httpx.AsyncClient, world: World) -> None:
    body = grant(world.credential, company_id=world.company.upper(), user_id=world.instructor)
    r = await client.post(TOKEN_URL, json=body)
    assert r.status_code == 200, r.text
    form = "&".join(f"{k}={v}" for k, v in body.items())
    r = await client.post(TOKEN_URL, content=form.encode())
    assert r.status_code == 200, r.text


async def test_the_token_expires_after_an_hour(
    client: httpx.AsyncClient, db: Database, world: World, settable_clock: SettableClock
) -> None:
    settable_clock.set(1_900_000_000_000)
    token = await v2_token(client, world.credential.client_id, world.credential.client_secret)
    settable_clock.set(1_900_000_000_000 + HOUR_MS - 1)
    await client_of(db, settable_clock, token)
    settable_clock.set(1_900_000_000_000 + HOUR_MS)
    await refused(db, settable_clock, token)


# --- Issuing errors --------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["grant_type", "client_id", "client_secret"])
@pytest.mark.parametrize("value", ["", None, 42, ["x"]], ids=["empty", "absent", "int", "list"])
async def test_a_missing_or_malformed_field_is_invalid_request(
    client: httpx.AsyncClient, world: World, field: str, value: Any
) -> None:
    body = grant(world.credential, **{field: value})
    if value is None:
        body.pop(field, None)
    r = await client.post(TOKEN_URL, json=body)
    assert (r.status_code, r.content) == (400, error("invalid_request"))


async def test_another_grant_type_is_unsupported(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        TOKEN_URL, json=grant(world.credential, grant_type="password", client_secret="wrong")
    )
    assert (r.status_code, r.content) == (400, error("unsupported_grant_type"))


@pytest.mark.parametrize(
    ("client_id", "client_secret"),
    [
        ("a1" + "0" * 30, "wrong"),
        ("a1" + "0" * 30, "ACME-V2-SECRET-FULL"),
        ("a1" + "0" * 30, "acme-v2-secret-paths-read"),
        ("a9" + "0" * 30, "acme-v2-secret-full"),
        ("b1" + "0" * 30, "acme-v2-secret-full"),
        ("a1" + "0" * 29 + "g", "acme-v2-secret-full"),
        ("a1" + "0" * 29 + "\u00e9", "acme-v2-secret-full"),
        ("a1" + "0" * 29 + "\x00", "acme-v2-secret-full"),
        ("a1" + "0" * 31, "acme-v2-secret-full"),
        # A credential's secret is not a v1 key of its company, nor the other way round.
        ("5f1b2c3d4e5f60718293a4b5", "acme-v2-secret-full"),
        ("a1" + "0" * 30, "acme-test-key"),
    ],
)
async def test_a_wrong_client_or_secret_is_invalid_client(
    client: httpx.AsyncClient, world: World, client_id: str, client_secret: str
) -> None:
    body = grant(world.credential, client_id=client_id, client_secret=client_secret)
    r = await client.post(TOKEN_URL, json=body)
    assert (r.status_code, r.content) == (401, error("invalid_client"))
    assert r.headers["content-type"] == JSON_TYPE


@pytest.mark.parametrize(
    "company_id",
    ["5f1b2c3d4e5f60718293a4b6", UNKNOWN_ID, "not-an-id", "", 42, ["5f1b2c3d4e5f60718293a4b5"]],
)
async def test_a_company_id_that_is_not_the_credentials_company_is_invalid_client(
    client: httpx.AsyncClient, world: World, company_id: Any
) -> None:
    r = await client.post(TOKEN_URL, json=grant(world.credential, company_id=company_id))
    assert (r.status_code, r.content) == (401, error("invalid_client"))


@pytest.mark.parametrize(
    "user_id",
    ["deleted", "other", UNKNOWN_ID, "not-an-id", "", 42, {"id": "6b0000000000000000000001"}],
)
async def test_a_user_id_that_is_not_a_user_of_the_company_is_non_existing_user(
    client: httpx.AsyncClient, db: Database, world: World, user_id: Any
) -> None:
    if user_id in ("deleted", "other"):
        mail = world.deleted_mail if user_id == "deleted" else world.other_user_mail
        row = await db.fetchone("SELECT id FROM users WHERE mail = ?", mail)
        assert row is not None
        user_id = row[0]
    r = await client.post(TOKEN_URL, json=grant(world.credential, user_id=user_id))
    assert (r.status_code, r.content) == (400, error("non_existing_user"))


async def test_the_client_is_checked_before_the_company_and_the_company_before_the_user(
    client: httpx.AsyncClient, world: World
) -> None:
    body = grant(world.credential, client_secret="wrong", company_id=UNKNOWN_ID, user_id="x")
    r = await client.post(TOKEN_URL, json=body)
    assert (r.status_code, r.content) == (401, error("invalid_client"))
    body = grant(world.credential, company_id=UNKNOWN_ID, user_id="x")
    r = await client.post(TOKEN_URL, json=body)
    assert (r.status_code, r.content) == (401, error("invalid_client"))


async def test_v1_ignores_company_and_user_ids_as_before(
    client: httpx.AsyncClient, world: World
) -> None:
    body = {
        "grant_type": "client_credentials",
        "client_id": world.company,
        "client_secret": world.key,
        "company_id": UNKNOWN_ID,
        "user_id": "x",
    }
    r = await client.post(TOKEN_URL, json=body)
    assert r.status_code == 200, r.text


# --- Revoking, and the versions kept apart --------------------------------------------------


async def test_revoking_a_credential_ends_its_tokens_at_once(
    client: httpx.AsyncClient, db: Database, world: World, settable_clock: SettableClock
) -> None:
    token = await v2_token(client, world.credential.client_id, world.credential.client_secret)
    kept = await v2_token(
        client, world.paths_read_credential.client_id, world.paths_read_credential.client_secret
    )
    await client_of(db, settable_clock, token)
    await revoke_credential(db, settable_clock, world.company, world.credential.client_id)
    await refused(db, settable_clock, token)
    await client_of(db, settable_clock, kept)
    r = await client.post(TOKEN_URL, json=grant(world.credential))
    assert (r.status_code, r.content) == (401, error("invalid_client"))


async def test_a_token_answers_the_credentials_scopes_as_they_are_now(
    client: httpx.AsyncClient, db: Database, world: World, settable_clock: SettableClock
) -> None:
    token = await v2_token(client, world.credential.client_id, world.credential.client_secret)
    await db.execute(
        "UPDATE api_credentials SET scopes = ? WHERE client_id = ?",
        "users:read",
        world.credential.client_id,
    )
    assert (await client_of(db, settable_clock, token)).scopes == {"users:read"}


async def test_a_v1_token_is_not_a_v2_token(
    client: httpx.AsyncClient, db: Database, world: World, settable_clock: SettableClock
) -> None:
    r = await client.post(
        TOKEN_URL,
        json={
            "grant_type": "client_credentials",
            "client_id": world.company,
            "client_secret": world.key,
        },
    )
    v1_token = r.json()["access_token"]
    await refused(db, settable_clock, v1_token)


async def test_a_v2_token_is_refused_by_v1_with_its_401(
    client: httpx.AsyncClient, world: World
) -> None:
    token = await v2_token(client, world.credential.client_id, world.credential.client_secret)
    r = await client.get("/api/v1/groups", headers={"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.content) == (401, error("unauthorized"))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "v2",
        "nonsense",
        "v2.6b0000000000000000000001.1.x",
        "v3.{cred}.{exp}",
        "V2.{cred}.{exp}",
        "v2.{cred}.0{exp}",
        "v2.{cred}.+{exp}",
        "v2.{upper}.{exp}",
        "v2.{cred}.{exp}.extra",
        " v2.{cred}.{exp}",
        "v2.{cred}.{exp}\u00e9",
    ],
)
async def test_a_token_laid_out_otherwise_is_refused_even_when_signed(
    db: Database, world: World, settable_clock: SettableClock, token: str
) -> None:
    row = await db.fetchone(
        "SELECT id FROM api_credentials WHERE client_id = ?", world.credential.client_id
    )
    assert row is not None
    credential_id = row[0]
    now = settable_clock.now_ms()
    payload = token.format(
        cred=credential_id, upper=credential_id.upper(), exp=f"{now + HOUR_MS:x}"
    )
    signed = f"{payload}.{tokens._sign(SECRET, payload)}" if payload.isascii() else payload
    await refused(db, settable_clock, signed)
    # The same, laid out as the issuer lays it out, is accepted: the refusals above are the
    # layout's, not the signature's.
    good = f"v2.{credential_id}.{now + HOUR_MS:x}"
    await client_of(db, settable_clock, f"{good}.{tokens._sign(SECRET, good)}")


async def test_a_token_signed_with_another_secret_is_refused(
    db: Database, world: World, settable_clock: SettableClock
) -> None:
    row = await db.fetchone(
        "SELECT id FROM api_credentials WHERE client_id = ?", world.credential.client_id
    )
    assert row is not None
    token = tokens.issue_v2(b"another-secret-" * 3, row[0], settable_clock.now_ms())
    await refused(db, settable_clock, token)
    await refused(db, settable_clock, token.rpartition(".")[0] + ".")


# --- Operators -------------------------------------------------------------------------------


async def test_create_list_and_revoke(
    db: Database, world: World, settable_clock: SettableClock
) -> None:
    made = await create_credential(db, settable_clock, world.company, "sync", ["users:read"])
    assert len(made.client_id) == 32
    assert made.client_id == made.client_id.lower()
    assert len(made.client_secret) >= 43
    listed = {c.client_id: c for c in await list_credentials(db, world.company)}
    assert listed[made.client_id].scopes == ("users:read",)
    assert listed[made.client_id].revoked_at is None
    row = await db.fetchone(
        "SELECT secret_hash FROM api_credentials WHERE client_id = ?", made.client_id
    )
    assert row is not None
    assert made.client_secret not in row[0]
    await revoke_credential(db, settable_clock, world.company, made.client_id)
    listed = {c.client_id: c for c in await list_credentials(db, world.company)}
    assert listed[made.client_id].revoked_at is not None
