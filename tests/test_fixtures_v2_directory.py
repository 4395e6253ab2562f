"""The fixture keys v2 adds to groups, users and paths: stored, defaulted, refused with their JSON
path (and then nothing changes), and idempotent.

Read back through the core, as the v2 API reads them; the API's answers are in
tests/test_v2_reads.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pathsessions.core import directory
from pathsessions.core.errors import DomainError
from pathsessions.core.model import Company, PathOptions
from pathsessions.loader import FixtureError, load_document
from pathsessions.storage import Database
from support import WORLD, World, world_document

Mutation = Callable[[dict[str, Any]], Any]
ACME = Company(WORLD.company, "Acme Learning", WORLD.owner)
CERTIFICATE = "6d00000000000000000000AA"


def acme(document: dict[str, Any]) -> dict[str, Any]:
    company: dict[str, Any] = document["companies"][0]
    return company


def user(document: dict[str, Any], mail: str) -> dict[str, Any]:
    found: dict[str, Any] = next(u for u in acme(document)["users"] if u["mail"] == mail)
    return found


def with_v2_fields() -> dict[str, Any]:
    document = world_document()
    user(document, WORLD.instructor_mail).update(
        lang="fr",
        username="ines",
        job="Trainer",
        organization="Acme Sales",
        phone="+33123456789",
        custom="Half-time",
    )
    acme(document)["paths"][0].update(
        author=WORLD.instructor_mail.upper(),
        certificateId=CERTIFICATE,
        defaultLang="pt_BR",
        description="How we work",
        additionalInformation="Internal 203",
    )
    return document


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a directory fixture writes."""
    found = {}
    for table in ("companies", "company_groups", "users", "user_roles", "paths"):
        rows = await db.fetchall(f"SELECT * FROM {table}")
        found[table] = sorted((tuple(r) for r in rows), key=repr)
    return found


async def refused(db: Database, document: dict[str, Any]) -> FixtureError:
    before = await snapshot(db)
    with pytest.raises(FixtureError) as caught:
        await load_document(db, document)
    assert await snapshot(db) == before
    return caught.value


async def test_user_fields_are_stored_and_default(db: Database, world: World) -> None:
    await load_document(db, with_v2_fields())
    ines = await directory.get_user_profile(ACME, db, world.instructor)
    assert (ines.lang, ines.username, ines.job, ines.organization, ines.phone, ines.custom) == (
        "fr",
        "ines",
        "Trainer",
        "Acme Sales",
        "+33123456789",
        "Half-time",
    )
    assert (ines.mail, ines.first_name, ines.last_name, ines.status) == (
        world.instructor_mail,
        "Ines",
        "Instructor",
        "active",
    )
    ivan = await directory.get_user_profile(ACME, db, world.second_instructor)
    assert ivan.lang == "en"
    assert (ivan.username, ivan.job, ivan.organization, ivan.phone, ivan.custom) == (None,) * 5
    assert ivan.primary_group_id is None


async def test_a_reload_without_the_optional_keys_clears_them(db: Database, world: World) -> None:
    await load_document(db, with_v2_fields())
    await load_document(db, world_document())
    ines = await directory.get_user_profile(ACME, db, world.instructor)
    assert (ines.lang, ines.username, ines.job, ines.phone, ines.custom) == ("en", *(None,) * 4)
    path = await directory.get_path_profile(ACME, db, world.path)
    assert path.author_id == world.owner
    assert (path.certificate_id, path.description, path.additional_information) == (None,) * 3
    assert path.default_lang == "en"


async def test_path_fields_are_stored_and_default(db: Database, world: World) -> None:
    await load_document(db, with_v2_fields())
    path = await directory.get_path_profile(ACME, db, world.path)
    assert path.path.name == "Onboarding"
    assert path.author_id == world.instructor  # the e-mail matched case-insensitively
    assert path.certificate_id == CERTIFICATE.lower()
    assert (path.default_lang, path.source_lang) == ("pt_BR", "en")
    assert (path.description, path.additional_information) == ("How we work", "Internal 203")
    assert path.co_author_ids == ()
    assert path.translations == ()
    assert path.options == PathOptions()
    assert not any(getattr(path.options, f) for f in PathOptions.__struct_fields__)
    archived = await directory.get_path_profile(ACME, db, world.archived_path)
    assert archived.author_id == world.owner
    assert (archived.default_lang, archived.certificate_id, archived.description) == (
        "en",
        None,
        None,
    )


async def test_a_group_keeps_its_custom_text(db: Database, world: World) -> None:
    document = world_document()
    acme(document)["groups"][1]["custom"] = "Sales team, EMEA"
    await load_document(db, document)
    assert (await directory.get_group(ACME, db, world.sales_group)).custom == "Sales team, EMEA"
    assert (await directory.get_group(ACME, db, world.root_group)).custom is None
    acme(document)["groups"][1]["custom"] = ""
    error = await refused(db, document)
    assert (error.where, error.problem) == (
        "companies[0].groups[1].custom",
        "must be a non-empty string",
    )
    await load_document(db, world_document())
    assert (await directory.get_group(ACME, db, world.sales_group)).custom is None


async def test_a_path_without_author_follows_the_platform_owner(db: Database, world: World) -> None:
    document = world_document()
    acme(document)["owner"] = world.second_instructor_mail
    await load_document(db, document)
    path = await directory.get_path_profile(ACME, db, world.path)
    assert path.author_id == world.second_instructor


async def test_loading_twice_is_loading_once(db: Database, world: World) -> None:
    """The same rows, but for the modification times a reload refreshes."""

    async def state() -> dict[str, list[tuple[Any, ...]]]:
        return {
            table: [tuple(r) for r in rows]
            for table, rows in (await snapshot(db)).items()
            if table != "paths"
        } | {
            "paths": [
                tuple(r)
                for r in await db.fetchall(
                    "SELECT id, name, author_id, co_author_ids, default_lang, source_lang,"
                    " options, translations, certificate_id, description,"
                    " additional_information, created_at FROM paths ORDER BY id"
                )
            ]
        }

    await load_document(db, with_v2_fields())
    once = await state()
    await load_document(db, with_v2_fields())
    assert await state() == once


BAD_FIELDS: list[tuple[str, Mutation, str, str]] = [
    (
        "user-lang",
        lambda d: user(d, WORLD.instructor_mail).update(lang="xx"),
        "companies[0].users[1].lang",
        "not a known language code (e.g. en, fr, pt_BR)",
    ),
    (
        "user-lang-of-paths-only",
        lambda d: user(d, WORLD.instructor_mail).update(lang="pt_BR"),
        "companies[0].users[1].lang",
        "not a known language code (e.g. en, fr, pt_BR)",
    ),
    (
        "empty-job",
        lambda d: user(d, WORLD.instructor_mail).update(job=" "),
        "companies[0].users[1].job",
        "must be a non-empty string",
    ),
    (
        "phone-number",
        lambda d: user(d, WORLD.instructor_mail).update(phone=33123456789),
        "companies[0].users[1].phone",
        "must be a non-empty string",
    ),
    (
        "custom-nul",
        lambda d: user(d, WORLD.instructor_mail).update(custom="a\x00b"),
        "companies[0].users[1].custom",
        "must not contain NUL characters",
    ),
    (
        "duplicate-username",
        lambda d: [
            user(d, WORLD.instructor_mail).update(username="same"),
            user(d, WORLD.second_instructor_mail).update(username="same"),
        ],
        "companies[0].users[2].username",
        "duplicate username",
    ),
    (
        "path-lang",
        lambda d: acme(d)["paths"][0].update(defaultLang="EN"),
        "companies[0].paths[0].defaultLang",
        "not a known language code (e.g. en, fr, pt_BR)",
    ),
    (
        "author-unknown",
        lambda d: acme(d)["paths"][1].update(author="nobody@acme.test"),
        "companies[0].paths[1].author",
        "no user of the company has this e-mail",
    ),
    (
        "author-deleted",
        lambda d: acme(d)["paths"][0].update(author=WORLD.deleted_mail),
        "companies[0].paths[0].author",
        "no user of the company has this e-mail",
    ),
    (
        "author-of-another-company",
        lambda d: acme(d)["paths"][0].update(author=WORLD.other_user_mail),
        "companies[0].paths[0].author",
        "no user of the company has this e-mail",
    ),
    (
        "author-not-a-mail",
        lambda d: acme(d)["paths"][0].update(author="ines"),
        "companies[0].paths[0].author",
        "not a valid e-mail address",
    ),
    (
        "certificate",
        lambda d: acme(d)["paths"][0].update(certificateId="cert-1"),
        "companies[0].paths[0].certificateId",
        "not a valid id (24 hexadecimal characters)",
    ),
    (
        "description",
        lambda d: acme(d)["paths"][0].update(description=""),
        "companies[0].paths[0].description",
        "must be a non-empty string",
    ),
    (
        "additional-information",
        lambda d: acme(d)["paths"][0].update(additionalInformation=["x"]),
        "companies[0].paths[0].additionalInformation",
        "must be a non-empty string",
    ),
    (
        "unknown-path-key",
        lambda d: acme(d)["paths"][0].update(sourceLang="fr"),
        "companies[0].paths[0].sourceLang",
        "unknown field",
    ),
    (
        "unknown-user-key",
        lambda d: user(d, WORLD.instructor_mail).update(primaryGroupId=WORLD.root_group),
        "companies[0].users[1].primaryGroupId",
        "unknown field",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "where", "problem"), [f[1:] for f in BAD_FIELDS], ids=[f[0] for f in BAD_FIELDS]
)
async def test_bad_fields_are_refused_with_their_path(
    db: Database, world: World, mutate: Mutation, where: str, problem: str
) -> None:
    # The world is loaded with every v2 field set: a refused document must leave them all.
    await load_document(db, with_v2_fields())
    document = with_v2_fields()
    mutate(document)
    error = await refused(db, document)
    assert (error.where, error.problem) == (where, problem)


async def test_a_username_stays_its_users(db: Database, world: World) -> None:
    """Another user of the company may not take a username already held."""
    await load_document(db, with_v2_fields())
    document = world_document()  # ines is listed without hers, which she keeps until loaded
    user(document, WORLD.second_instructor_mail)["username"] = "ines"
    del acme(document)["users"][1]
    error = await refused(db, document)
    assert (error.where, error.problem) == (
        "companies[0].users[1].username",
        "username used by another user of the company",
    )
    # Another company may use it.
    other = world_document()
    other["companies"][1]["users"][0]["username"] = "ines"
    await load_document(db, other)


async def test_reads_answer_not_found_for_malformed_unknown_and_foreign_ids(
    db: Database, world: World
) -> None:
    other_user = await db.fetchone("SELECT id FROM users WHERE company_id = ?", world.other_company)
    assert other_user is not None
    for bad in ("x", "6b000000000000000000000z", "6b00000000000000000000ff", str(other_user[0])):
        with pytest.raises(DomainError):
            await directory.get_user_profile(ACME, db, bad)
    for bad in ("x", "6c00000000000000000000ff", world.other_path):
        with pytest.raises(DomainError):
            await directory.get_path_profile(ACME, db, bad)
    # Ids are found whatever their case, and deleted users are found.
    assert (await directory.get_path_profile(ACME, db, world.path.upper())).path.id == world.path
    deleted = await db.fetchone("SELECT id FROM users WHERE mail = ?", world.deleted_mail)
    assert deleted is not None
    assert (await directory.get_user_profile(ACME, db, str(deleted[0]))).status == "deleted"
