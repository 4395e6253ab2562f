"""v2 API credentials and the tokens made from them (docs/api.md, "v2 API credentials").

A credential (client id, secret, name, scopes) is created by an operator, with the CLI or a
fixture document; `POST /api/v2/oauth2/token` exchanges it for a one-hour v2 token, which
`core.credentials.client_for_token` turns into the `Client` a v2 request acts as. v1 keys and
v2 credentials make tokens that the other version refuses.
"""

from __future__ import annotations

import hmac
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from pathsessions.core import credentials, tokens
from pathsessions.core.clock import SettableClock
from pathsessions.core.errors import DomainError, ErrorCode
from pathsessions.core.keys import hash_key
from pathsessions.core.operators import (
    OperatorError,
    create_credential,
    list_credentials,
    revoke_credential,
)
from pathsessions.loader import FixtureError, load_document
from pathsessions.storage import Database
from support import (
    ABSENT,
    ACME,
    JSON_TYPE,
    OTHER,
    TOKEN_SECRET,
    UNKNOWN_ID,
    WORLD,
    World,
    error,
    world_document,
)
from support.cli import Cli, LiveApp
from support.v2 import TOKEN_URL, v2_headers, v2_token
from support.world import (
    ACME_DIRECTORY_READ,
    ACME_FULL,
    ACME_PATHS_READ,
    ALL_SCOPES,
    OTHER_FULL,
    Credential,
)

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


async def test_a_refusal_hashes_and_compares_the_secret_even_for_an_unknown_client(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown client id costs the comparison a known one does (against a dummy digest)."""
    compared: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    for client_id in ("a9" + "0" * 30, world.credential.client_id):
        compared.clear()
        body = grant(world.credential, client_id=client_id, client_secret="wrong")
        r = await client.post(TOKEN_URL, json=body)
        assert (r.status_code, r.content) == (401, error("invalid_client"))
        assert len(compared) == 1
    assert compared == [hash_key(world.credential.client_secret).encode()]


# --- Fixture documents -----------------------------------------------------------------------


def acme(credentials: Any) -> dict[str, Any]:
    """ACME as the world has it, given `credentials` (matched by id, nothing else changed)."""
    return {
        "companies": [
            {
                "id": ACME,
                "name": "Acme Learning",
                "owner": WORLD.owner_mail,
                "apiCredentials": credentials,
            }
        ]
    }


async def credential_rows(db: Database) -> list[tuple[Any, ...]]:
    rows = await db.fetchall(
        "SELECT company_id, client_id, secret_hash, name, scopes, created_at, revoked_at"
        " FROM api_credentials ORDER BY client_id"
    )
    return [tuple(r) for r in rows]


async def test_the_world_loads_its_credentials_and_reloading_changes_nothing(
    db: Database, world: World
) -> None:
    rows = await credential_rows(db)
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [
        (ACME, ACME_FULL.client_id, "full", " ".join(ALL_SCOPES)),
        (ACME, ACME_PATHS_READ.client_id, "paths read", "paths:read"),
        (ACME, ACME_DIRECTORY_READ.client_id, "directory read", "groups:read users:read"),
        (OTHER, OTHER_FULL.client_id, "full", " ".join(ALL_SCOPES)),
    ]
    assert rows[0][2] == hash_key(ACME_FULL.client_secret)
    report = await load_document(db, world_document())
    assert await credential_rows(db) == rows
    assert report.generated_credentials == []
    assert not any("credential" in line for line in report.lines), report.lines


async def test_generated_client_ids_and_secrets_are_reported_once_and_work(
    client: httpx.AsyncClient, db: Database, world: World
) -> None:
    document = acme(
        [
            {"name": "generated", "scopes": ["users:read", "paths:read", "users:read"]},
            {"clientId": "c" * 32, "name": "secret generated", "scopes": ["groups:read"]},
            {"name": "id generated", "clientSecret": "given-secret", "scopes": ["paths:write"]},
        ]
    )
    report = await load_document(db, document)
    first, second = report.generated_credentials
    assert list(first) == ["document", "company", "clientId", "clientSecret"]
    assert first["document"] == "companies[0].apiCredentials[0]"
    assert first["company"] == ACME
    assert re.fullmatch(r"[0-9a-f]{32}", first["clientId"])
    assert len(first["clientSecret"]) == 43
    assert second["document"] == "companies[0].apiCredentials[1]"
    assert second["clientId"] == "c" * 32
    new_lines = [line for line in report.lines if "new API credential" in line]
    assert len(new_lines) == 3
    assert (
        f"companies[0].apiCredentials[0]: new API credential {first['clientId']} (generated)"
        in (new_lines)
    )
    assert all(first["clientSecret"] not in line for line in report.lines)
    for made in (first, second):
        await v2_token(client, made["clientId"], made["clientSecret"])
    (given,) = [c for c in await list_credentials(db, ACME) if c.name == "id generated"]
    await v2_token(client, given.client_id, "given-secret")
    (scoped,) = [c for c in await list_credentials(db, ACME) if c.name == "generated"]
    assert scoped.scopes == ("paths:read", "users:read")
    # Reloaded: matched (by client id, else by name), nothing generated again.
    before = await credential_rows(db)
    again = await load_document(db, document)
    assert again.generated_credentials == []
    assert await credential_rows(db) == before


async def test_a_reload_takes_the_documents_name_scopes_and_secret(
    client: httpx.AsyncClient, db: Database, world: World, settable_clock: SettableClock
) -> None:
    token = await v2_token(client, ACME_FULL.client_id, ACME_FULL.client_secret)
    changed = {**ACME_FULL.fixture(), "clientSecret": "rotated", "name": "renamed"}
    changed["scopes"] = ["pathStats:read"]
    await load_document(db, acme([changed]))
    r = await client.post(TOKEN_URL, json=grant(ACME_FULL))
    assert (r.status_code, r.content) == (401, error("invalid_client"))
    await v2_token(client, ACME_FULL.client_id, "rotated")
    found = await client_of(db, settable_clock, token)
    assert found.scopes == {"pathStats:read"}
    (info,) = [c for c in await list_credentials(db, ACME) if c.client_id == ACME_FULL.client_id]
    assert info.name == "renamed"
    # A secret left out keeps the one stored.
    await load_document(db, acme([{k: v for k, v in changed.items() if k != "clientSecret"}]))
    await v2_token(client, ACME_FULL.client_id, "rotated")


def _entry(**fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": "new", "scopes": ["paths:read"]}
    entry.update(fields)
    return {k: v for k, v in entry.items() if v is not ABSENT}


AT = "companies[0].apiCredentials[0]"
ONE_SCOPE = "a credential needs at least one scope"
BAD_ID = "a client id is 32 lower-case hexadecimal characters"
BAD_SECRET = "the client secret must be a non-empty string"


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({}, "companies[0].apiCredentials: must be an array"),
        (["x"], f"{AT}: must be an object"),
        ([_entry(colour="red")], f"{AT}.colour: unknown field"),
        ([_entry(name=ABSENT)], f"{AT}.name: required"),
        ([_entry(name="  ")], f"{AT}.name: must be a non-empty string"),
        ([_entry(name=3)], f"{AT}.name: must be a non-empty string"),
        ([_entry(name="a\x00b")], f"{AT}.name: must not contain NUL characters"),
        ([_entry(scopes=ABSENT)], f"{AT}.scopes: required"),
        ([_entry(scopes=[])], f"{AT}.scopes: {ONE_SCOPE}"),
        ([_entry(scopes="paths:read")], f"{AT}.scopes: {ONE_SCOPE}"),
        (
            [_entry(scopes=["paths:read", "paths:admin"])],
            f"{AT}.scopes: unknown scope 'paths:admin': scopes are {', '.join(ALL_SCOPES)}",
        ),
        ([_entry(clientId="C" * 32)], f"{AT}.clientId: {BAD_ID}"),
        ([_entry(clientId=ACME)], f"{AT}.clientId: {BAD_ID}"),
        ([_entry(clientId=None)], f"{AT}.clientId: {BAD_ID}"),
        ([_entry(clientSecret="")], f"{AT}.clientSecret: {BAD_SECRET}"),
        ([_entry(clientSecret=5)], f"{AT}.clientSecret: {BAD_SECRET}"),
        (
            [_entry(), _entry()],
            "companies[0].apiCredentials[1].name: duplicate credential name",
        ),
        (
            [_entry(clientId="d" * 32), _entry(name="other", clientId="d" * 32)],
            "companies[0].apiCredentials[1].clientId: duplicate client id",
        ),
        (
            [_entry(clientId=OTHER_FULL.client_id)],
            f"{AT}.clientId: client id belongs to another company",
        ),
        (
            [_entry(name="full", clientId="e" * 32)],
            f"{AT}.name: another active credential has this name",
        ),
    ],
)
async def test_a_bad_credential_is_named_by_its_json_path_and_changes_nothing(
    db: Database, world: World, credentials: Any, message: str
) -> None:
    before = await credential_rows(db)
    with pytest.raises(FixtureError) as caught:
        await load_document(db, acme(credentials))
    assert str(caught.value) == message
    assert await credential_rows(db) == before


async def test_a_revoked_credential_is_not_brought_back_by_a_reload(
    db: Database, world: World, settable_clock: SettableClock
) -> None:
    await revoke_credential(db, settable_clock, ACME, ACME_PATHS_READ.client_id)
    before = await credential_rows(db)
    with pytest.raises(FixtureError) as caught:
        await load_document(db, world_document())
    assert str(caught.value) == (
        "companies[0].apiCredentials[1].clientId: this credential was revoked; list another one"
    )
    assert await credential_rows(db) == before


async def test_at_most_10_active_credentials_in_a_document(db: Database, world: World) -> None:
    # ACME has 3: 7 more fit, an 8th does not, and the whole load is refused.
    more = [_entry(name=f"n{i}") for i in range(8)]
    before = await credential_rows(db)
    with pytest.raises(FixtureError) as caught:
        await load_document(db, acme(more))
    assert str(caught.value) == (
        "companies[0].apiCredentials[7]: more than 10 active API credentials"
    )
    assert await credential_rows(db) == before
    await load_document(db, acme(more[:7]))
    assert len(await list_credentials(db, ACME)) == 10


async def test_operator_limits_and_checks(
    db: Database, world: World, settable_clock: SettableClock
) -> None:
    for i in range(7):
        await create_credential(db, settable_clock, ACME, f"n{i}", ["paths:read"])
    with pytest.raises(OperatorError, match="the company has 10 active API credentials already"):
        await create_credential(db, settable_clock, ACME, "eleventh", ["paths:read"])
    # OTHER is not limited by ACME's.
    await create_credential(db, settable_clock, OTHER, "n0", ["paths:read"])
    await revoke_credential(db, settable_clock, ACME, ACME_PATHS_READ.client_id)
    made = await create_credential(db, settable_clock, ACME, "paths read", ["paths:read"])
    assert made.client_id != ACME_PATHS_READ.client_id
    with pytest.raises(OperatorError, match="no active API credential"):
        await revoke_credential(db, settable_clock, ACME, ACME_PATHS_READ.client_id)
    with pytest.raises(OperatorError, match="no active API credential"):
        await revoke_credential(db, settable_clock, ACME, OTHER_FULL.client_id)
    with pytest.raises(OperatorError, match="no active API credential"):
        await revoke_credential(db, settable_clock, ACME, "not\x00an id")
    with pytest.raises(OperatorError, match="unknown scope"):
        await create_credential(db, settable_clock, OTHER, "x", ["admin"])
    with pytest.raises(OperatorError, match="exists already"):
        await create_credential(db, settable_clock, OTHER, "full", ["paths:read"])
    with pytest.raises(OperatorError, match="no company"):
        await create_credential(db, settable_clock, UNKNOWN_ID, "x", ["paths:read"])


# --- The CLI ----------------------------------------------------------------------------------


def new_company(cli: Cli) -> str:
    out = cli.ok("company", "create", "--name", "Acme", "--owner", "owner@acme.test", "--json")
    company: str = json.loads(out)["company"]
    return company


def new_credential(cli: Cli, company: str, name: str, *scopes: str) -> tuple[str, str]:
    args = [a for s in scopes for a in ("--scope", s)]
    out = cli.ok("credential", "create", "--company", company, "--name", name, *args)
    m = re.fullmatch(
        r"clientId: ([0-9a-f]{32})\n"
        r"clientSecret: ([A-Za-z0-9_-]{43})\n"
        rf"name: {re.escape(name)}\n"
        # In the order of the scopes' list, whatever the order given.
        rf"scopes: {re.escape(' '.join(s for s in ALL_SCOPES if s in scopes))}\n"
        r"The client secret is shown only this once: keep it now\.\n",
        out,
    )
    assert m is not None, out
    return m.group(1), m.group(2)


def token_status(live: LiveApp, client_id: str, client_secret: str) -> int:
    r = live.request(
        "POST",
        TOKEN_URL,
        json={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )
    return r.status_code


def test_cli_create_list_and_revoke(cli: Cli, live: LiveApp) -> None:
    company = new_company(cli)
    client_id, secret = new_credential(cli, company, "sync", "users:read", "paths:read")
    assert token_status(live, client_id, secret) == 200
    made = json.loads(
        cli.ok(
            *("credential", "create", "--company", company.upper(), "--name", "ci"),
            *("--scope", "webhooks:write", "--json"),
        )
    )
    assert made["scopes"] == ["webhooks:write"]
    assert sorted(made) == ["clientId", "clientSecret", "name", "scopes"]
    assert token_status(live, made["clientId"], made["clientSecret"]) == 200
    text = cli.ok("credential", "list", "--company", company)
    listed = json.loads(cli.ok("credential", "list", "--company", company, "--json"))
    for out in (text, json.dumps(listed)):
        assert secret not in out
        assert made["clientSecret"] not in out
        assert hash_key(secret) not in out
    assert [line.split("  ")[:3] for line in text.splitlines()] == [
        [client_id, "sync", "paths:read users:read"],
        [made["clientId"], "ci", "webhooks:write"],
    ]
    assert [sorted(c) for c in listed] == [
        ["clientId", "createdAt", "name", "revokedAt", "scopes"]
    ] * 2
    assert listed[0]["scopes"] == ["paths:read", "users:read"]
    assert listed[0]["revokedAt"] is None
    # Revoked: the running server refuses it at once.
    assert cli.ok("credential", "revoke", "--company", company, "--client-id", client_id) == (
        f"revoked {client_id}\n"
    )
    assert token_status(live, client_id, secret) == 401
    assert token_status(live, made["clientId"], made["clientSecret"]) == 200
    assert json.loads(cli.ok("credential", "list", "--company", company, "--json"))[0]["revokedAt"]
    assert cli.failed("credential", "revoke", "--company", company, "--client-id", client_id) == (
        f"error: no active API credential {client_id} in company {company}\n"
    )
    cli.ok(
        *("credential", "revoke", "--company", company),
        *("--client-id", made["clientId"].upper()),
    )
    assert token_status(live, made["clientId"], made["clientSecret"]) == 401


def test_cli_at_most_10_active_credentials(cli: Cli, database_url: str) -> None:
    company = new_company(cli)
    made = [new_credential(cli, company, f"c{i}", "paths:read") for i in range(10)]
    args = ("credential", "create", "--company", company, "--name", "c10", "--scope", "paths:read")
    assert cli.failed(*args) == (
        "error: the company has 10 active API credentials already; revoke one first\n"
    )
    cli.ok("credential", "revoke", "--company", company, "--client-id", made[0][0])
    cli.ok(*args)
    assert cli.failed(*args).startswith("error: the company has 10 active API credentials")


def test_cli_refusals(cli: Cli) -> None:
    company = new_company(cli)
    new_credential(cli, company, "sync", "paths:read")
    create = ("credential", "create", "--company", company)
    assert cli.failed(*create, "--name", "sync", "--scope", "paths:read") == (
        "error: an active API credential named 'sync' exists already\n"
    )
    assert cli.failed(*create, "--name", " ", "--scope", "paths:read") == (
        "error: the credential name must be a non-empty string\n"
    )
    assert cli.failed(
        "credential", "create", "--company", UNKNOWN_ID, "--name", "x", "--scope", "paths:read"
    ) == (f"error: no company with id {UNKNOWN_ID}\n")
    assert cli.failed("credential", "list", "--company", UNKNOWN_ID) == (
        f"error: no company with id {UNKNOWN_ID}\n"
    )
    assert cli.failed("credential", "revoke", "--company", company, "--client-id", "nonsense") == (
        f"error: no active API credential nonsense in company {company}\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["credential"],
        ["credential", "create", "--company", UNKNOWN_ID, "--name", "x"],
        ["credential", "create", "--company", UNKNOWN_ID, "--scope", "paths:read"],
        ["credential", "create", "--name", "x", "--scope", "paths:read"],
        ["credential", "create", "--company", UNKNOWN_ID, "--name", "x", "--scope", "admin"],
        ["credential", "revoke", "--company", UNKNOWN_ID],
        ["credential", "list"],
    ],
)
def test_cli_usage_mistakes_exit_2(cli: Cli, args: list[str]) -> None:
    result = cli(*args)
    assert result.code == 2, result
    assert result.out == ""
    assert "usage:" in result.err


def test_load_prints_generated_secrets_once_or_writes_them_to_the_secrets_file(
    cli: Cli, tmp_path: Path
) -> None:
    document = world_document()
    document["companies"][0]["apiCredentials"].append({"name": "new", "scopes": ["users:read"]})
    file = tmp_path / "world.json"
    file.write_text(json.dumps(document), encoding="utf-8")
    out = cli.ok("load", str(file))
    (row,) = re.findall(
        rf"^  companies\[0\]\.apiCredentials\[3\]  {ACME}  ([0-9a-f]{{32}})  (\S{{43}})$",
        out,
        re.M,
    )
    assert out.count(row[1]) == 1
    assert out.splitlines()[-1].startswith("=")
    # Reloaded: matched by name, nothing to print.
    assert "apiCredentials" not in cli.ok("load", str(file))
    document["companies"][1]["apiCredentials"].append({"name": "new", "scopes": ["users:read"]})
    file.write_text(json.dumps(document), encoding="utf-8")
    secrets = tmp_path / "secrets.json"
    out = cli.ok("load", "--secrets-file", str(secrets), str(file))
    (entry,) = json.loads(secrets.read_text())
    assert entry["document"] == "companies[1].apiCredentials[1]"
    assert entry["company"] == OTHER
    assert entry["clientSecret"] not in out
    assert out.splitlines()[-1] == f"1 new API key(s) written to {secrets}"
