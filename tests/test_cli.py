"""The operator CLI, called in-process: `pathsessions.cli.main([...])`.

Each test runs on SQLite and on PostgreSQL (`database_url`). The CLI runs its own event loop
(asyncio.run), so these tests are plain functions; the API is checked through `LiveApp`, the
real application running on a loop of its own that stays up between CLI calls (so a change
made by the CLI is seen by a server that is already running).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

import pathsessions
from pathsessions.cli import main
from pathsessions.storage import open_database
from pathsessions.storage.migrate import available
from support.cli import Cli, LiveApp, clean_environment

OBJECT_ID = re.compile(r"[0-9a-f]{24}")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
ROLES_ERROR = (
    "role must be one of admin, analyst, editor, coach, contributor, learner, owner, userAdmin"
)


def query(database_url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async def go() -> list[tuple[Any, ...]]:
        db = await open_database(database_url, pg_pool_size=1)
        try:
            return [tuple(r) for r in await db.fetchall(sql, *args)]
        finally:
            await db.close()

    return asyncio.run(go())


def count(database_url: str, table: str) -> int:
    return int(query(database_url, f"SELECT COUNT(*) FROM {table}")[0][0])


@dataclass(frozen=True)
class NewCompany:
    id: str
    key_id: str
    key: str


def create_company(
    cli: Cli, name: str = "Acme Learning", owner: str = "owner@acme.test"
) -> NewCompany:
    out = cli.ok("company", "create", "--name", name, "--owner", owner)
    m = re.fullmatch(
        r"company: ([0-9a-f]{24})\n"
        r"apiKeyId: ([0-9a-f]{24})\n"
        r"apiKey: ([A-Za-z0-9_-]{43})\n"
        r"The API key is shown only this once: keep it now\.\n",
        out,
    )
    assert m is not None, out
    return NewCompany(m.group(1), m.group(2), m.group(3))


def new_key(cli: Cli, company: str, *extra: str) -> tuple[str, str]:
    out = cli.ok("key", "create", "--company", company, *extra)
    m = re.fullmatch(r"apiKeyId: ([0-9a-f]{24})\napiKey: ([A-Za-z0-9_-]{43})\n", out)
    assert m is not None, out
    return m.group(1), m.group(2)


def printed_id(out: str) -> str:
    assert out.endswith("\n"), out
    assert OBJECT_ID.fullmatch(out.removesuffix("\n")), out
    return out.removesuffix("\n")


# --- migrate -------------------------------------------------------------------------------


@pytest.mark.fresh_database
def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    result = Cli(capsys)("--version")
    assert (result.code, result.out) == (0, f"pathsessions {pathsessions.__version__}\n")


def test_migrate_prints_the_schema_version(cli: Cli, database_url: str) -> None:
    newest = available()[-1].version
    assert cli.ok("migrate") == f"database schema at version {newest}\n"
    assert cli.ok("migrate") == f"database schema at version {newest}\n"
    versions = query(database_url, "SELECT version, name FROM schema_migrations ORDER BY version")
    assert versions == [(m.version, m.name) for m in available()]


# --- company ---------------------------------------------------------------------------------


def test_company_create_prints_a_key_that_authenticates_a_real_call(
    cli: Cli, live: LiveApp, database_url: str
) -> None:
    company = create_company(cli)
    owner = query(
        database_url,
        "SELECT u.id, u.mail, u.status FROM companies c JOIN users u ON u.id = c.owner_user_id"
        " WHERE c.id = ?",
        company.id,
    )
    assert len(owner) == 1
    assert owner[0][1:] == ("owner@acme.test", "active")
    owner_id = owner[0][0]
    # The key itself is stored nowhere: only its SHA-256.
    keys = query(database_url, "SELECT id, company_id, key_hash, label, revoked_at FROM api_keys")
    assert keys == [
        (
            company.key_id,
            company.id,
            hashlib.sha256(company.key.encode()).hexdigest(),
            "initial",
            None,
        )
    ]
    group = printed_id(cli.ok("group", "add", "--company", company.id, "--name", "Root"))
    path = printed_id(
        cli.ok("path", "add", "--company", company.id, "--name", "Onboarding", "--group", group)
    )
    body = {
        "sessionName": "Cohort",
        "startDate": "2030-01-01T09:00:00Z",
        "sessionOwnerGroup": group,
    }
    r = live.request(
        "POST",
        f"/api/v1/paths/{path}/sessions/",
        json=body,
        headers={"X-company-id": company.id, "X-apiKey": company.key},
    )
    assert r.status_code == 200, r.text
    session_id = r.json()["_id"]
    assert list(r.json()) == ["_id"]
    assert OBJECT_ID.fullmatch(session_id)
    r = live.request(
        "POST",
        f"/api/v1/paths/{path}/sessions",
        json=body,
        params={"company": company.id, "apiKey": company.key},
    )
    assert r.status_code == 200, r.text
    # No instructors given: the platform owner the CLI created is the instructor.
    assert query(
        database_url,
        "SELECT position, user_id FROM session_instructors WHERE session_id = ?",
        session_id,
    ) == [(0, owner_id)]
    assert live.probe(company.id, company.key + "x") == 401
    assert live.probe("5f1b2c3d4e5f60718293a4b5", company.key) == 401


def test_company_create_json(cli: Cli, live: LiveApp) -> None:
    out = cli.ok("company", "create", "--name", "Acme", "--owner", "o@acme.test", "--json")
    created = json.loads(out)
    assert sorted(created) == ["apiKey", "apiKeyId", "company"]
    assert OBJECT_ID.fullmatch(created["company"])
    assert OBJECT_ID.fullmatch(created["apiKeyId"])
    assert live.probe(created["company"], created["apiKey"]) == 404


def test_company_create_refusals_change_nothing(cli: Cli, database_url: str) -> None:
    first = create_company(cli, "Acme", "owner@acme.test")
    assert cli.failed("company", "create", "--name", "Acme", "--owner", "x@acme.test") == (
        "error: a company named 'Acme' exists already\n"
    )
    assert cli.failed("company", "create", "--name", "Beta", "--owner", "not-an-email") == (
        "error: not a valid e-mail address: not-an-email\n"
    )
    assert cli.failed("company", "create", "--name", "   ", "--owner", "x@acme.test") == (
        "error: the company name must not be empty\n"
    )
    assert query(database_url, "SELECT id FROM companies") == [(first.id,)]
    assert count(database_url, "users") == 1
    assert count(database_url, "api_keys") == 1
    assert cli("company", "create", "--name", "NoOwner").code == 2  # argparse: --owner required


def test_company_list(cli: Cli, database_url: str) -> None:
    assert cli.ok("company", "list") == ""
    assert json.loads(cli.ok("company", "list", "--json")) == []
    zeta = create_company(cli, "Zeta", "z@zeta.test")
    alpha = create_company(cli, "Alpha", "a@alpha.test")
    owners = dict(query(database_url, "SELECT id, owner_user_id FROM companies"))
    assert cli.ok("company", "list") == (
        f"{alpha.id}  Alpha  {owners[alpha.id]}\n{zeta.id}  Zeta  {owners[zeta.id]}\n"
    )
    assert json.loads(cli.ok("company", "list", "--json")) == [
        {"id": alpha.id, "name": "Alpha", "ownerUserId": owners[alpha.id]},
        {"id": zeta.id, "name": "Zeta", "ownerUserId": owners[zeta.id]},
    ]
    # Nothing secret in a listing.
    assert alpha.key not in cli.ok("company", "list")
    assert zeta.key not in cli.ok("company", "list")


# --- key -------------------------------------------------------------------------------------


def test_key_create_up_to_25_active_keys(cli: Cli, live: LiveApp, database_url: str) -> None:
    company = create_company(cli)
    keys = {company.key_id: company.key}
    for i in range(24):
        key_id, key = new_key(cli, company.id, "--label", f"k{i}")
        keys[key_id] = key
    assert len(keys) == 25
    assert len(set(keys.values())) == 25
    # The 26th active key is refused, and nothing is stored.
    assert cli.failed("key", "create", "--company", company.id) == (
        "error: the company has 25 active API keys already; revoke one first\n"
    )
    assert count(database_url, "api_keys") == 25
    for key in keys.values():
        assert live.probe(company.id, key) == 404
    # Revoking one makes room for one.
    cli.ok("key", "revoke", "--company", company.id, company.key_id)
    replacement_id, replacement = new_key(cli, company.id)
    assert live.probe(company.id, replacement) == 404
    assert cli.failed("key", "create", "--company", company.id).startswith(
        "error: the company has 25 active API keys already"
    )
    labels = query(database_url, "SELECT label FROM api_keys WHERE id = ?", replacement_id)
    assert labels == [("",)]


def test_key_create_json_and_label(cli: Cli, live: LiveApp, database_url: str) -> None:
    company = create_company(cli)
    created = json.loads(
        cli.ok("key", "create", "--company", company.id, "--label", "ci", "--json")
    )
    assert sorted(created) == ["apiKey", "apiKeyId"]
    assert live.probe(company.id, created["apiKey"]) == 404
    assert query(database_url, "SELECT label FROM api_keys WHERE id = ?", created["apiKeyId"]) == [
        ("ci",)
    ]


def test_key_revoke_stops_the_key_at_once(cli: Cli, live: LiveApp) -> None:
    company = create_company(cli)
    other = create_company(cli, "Other", "o@other.test")
    second_id, second = new_key(cli, company.id, "--label", "second")
    assert live.probe(company.id, company.key) == 404
    assert live.probe(company.id, second) == 404
    # The running server sees the revocation on its very next request.
    assert cli.ok("key", "revoke", "--company", company.id, second_id) == f"revoked {second_id}\n"
    assert live.probe(company.id, second) == 401
    assert live.probe(company.id, company.key) == 404
    # Revoking again, an unknown key, or another company's key: refused, nothing changes.
    assert cli.failed("key", "revoke", "--company", company.id, second_id) == (
        f"error: no active API key {second_id} in company {company.id}\n"
    )
    assert cli.failed("key", "revoke", "--company", company.id, other.key_id) == (
        f"error: no active API key {other.key_id} in company {company.id}\n"
    )
    assert live.probe(other.id, other.key) == 404
    assert cli.failed("key", "revoke", "--company", company.id, "not-a-key") == (
        f"error: no active API key not-a-key in company {company.id}\n"
    )
    # Upper-case ids are the same ids.
    cli.ok("key", "revoke", "--company", company.id.upper(), company.key_id.upper())
    assert live.probe(company.id, company.key) == 401


def test_key_list_never_prints_keys(cli: Cli, database_url: str) -> None:
    company = create_company(cli)
    ci_id, ci_key = new_key(cli, company.id, "--label", "ci")
    cli.ok("key", "revoke", "--company", company.id, company.key_id)
    text = cli.ok("key", "list", "--company", company.id)
    as_json = cli.ok("key", "list", "--company", company.id, "--json")
    for out in (text, as_json):
        assert company.key not in out
        assert ci_key not in out
    lines = [line.split("  ") for line in text.splitlines()]
    assert [(line[0], line[1], line[3] == "None") for line in lines] == [
        (company.key_id, "initial", False),
        (ci_id, "ci", True),
    ]
    assert all(len(line) == 4 and DATE.fullmatch(line[2]) for line in lines), lines
    assert DATE.fullmatch(lines[0][3]), lines
    listed = json.loads(as_json)
    assert [sorted(item) for item in listed] == [["createdAt", "id", "label", "revokedAt"]] * 2
    assert [(k["id"], k["label"]) for k in listed] == [(company.key_id, "initial"), (ci_id, "ci")]
    assert DATE.fullmatch(listed[0]["revokedAt"])
    assert listed[1]["revokedAt"] is None
    assert listed[0]["revokedAt"] >= listed[0]["createdAt"]
    assert all(DATE.fullmatch(k["createdAt"]) for k in listed)
    hashes = [r[0] for r in query(database_url, "SELECT key_hash FROM api_keys")]
    assert all(h not in text and h not in as_json for h in hashes)


# --- group, user, path -------------------------------------------------------------------


def test_group_add_with_parent(cli: Cli, database_url: str) -> None:
    company = create_company(cli)
    other = create_company(cli, "Other", "o@other.test")
    root = printed_id(cli.ok("group", "add", "--company", company.id, "--name", "Root", "--public"))
    child = printed_id(
        cli.ok("group", "add", "--company", company.id, "--name", "Sales", "--parent", root)
    )
    grandchild = printed_id(
        cli.ok("group", "add", "--company", company.id, "--name", "EMEA", "--parent", child.upper())
    )
    foreign = printed_id(cli.ok("group", "add", "--company", other.id, "--name", "Theirs"))
    rows = query(
        database_url,
        "SELECT id, company_id, name, public, parent_id FROM company_groups WHERE company_id = ?",
        company.id,
    )
    assert sorted((r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows) == sorted(
        [
            (root, company.id, "Root", True, None),
            (child, company.id, "Sales", False, root),
            (grandchild, company.id, "EMEA", False, child),
        ]
    )
    assert cli.failed(
        "group", "add", "--company", company.id, "--name", "X", "--parent", foreign
    ) == (f"error: no group with id {foreign} in company {company.id}\n")
    assert cli.failed(
        "group", "add", "--company", company.id, "--name", "X", "--parent", "nope"
    ) == (f"error: no group with id nope in company {company.id}\n")
    assert cli.failed("group", "add", "--company", company.id, "--name", " ") == (
        "error: the group name must not be empty\n"
    )
    assert count(database_url, "company_groups") == 4


def test_user_add_with_roles(cli: Cli, live: LiveApp, database_url: str) -> None:
    company = create_company(cli)
    other = create_company(cli, "Other", "o@other.test")
    root = printed_id(cli.ok("group", "add", "--company", company.id, "--name", "Root"))
    sales = printed_id(
        cli.ok("group", "add", "--company", company.id, "--name", "Sales", "--parent", root)
    )
    foreign = printed_id(cli.ok("group", "add", "--company", other.id, "--name", "Theirs"))
    user = printed_id(
        cli.ok(
            "user",
            "add",
            "--company",
            company.id,
            "--mail",
            " Ines@Acme.test ",
            "--first-name",
            "Ines",
            "--last-name",
            "Instructor",
            "--role",
            f"{sales}=author",
            "--role",
            f"{root.upper()}=learner",
        )
    )
    assert query(
        database_url,
        "SELECT company_id, mail, mail_key, first_name, last_name, status FROM users WHERE id = ?",
        user,
    ) == [(company.id, "Ines@Acme.test", "ines@acme.test", "Ines", "Instructor", "active")]
    roles = query(database_url, "SELECT group_id, role FROM user_roles WHERE user_id = ?", user)
    assert sorted(roles) == sorted([(sales, "editor"), (root, "learner")])
    invited = printed_id(
        cli.ok(
            "user",
            "add",
            "--company",
            company.id,
            "--mail",
            "ivan@acme.test",
            "--status",
            "invited",
        )
    )
    assert query(database_url, "SELECT status FROM users WHERE id = ?", invited) == [("invited",)]
    users_before = count(database_url, "users")
    roles_before = count(database_url, "user_roles")

    # Duplicate e-mails, compared case-insensitively (the owner's included).
    for mail in ("INES@acme.TEST", "ines@acme.test", "Owner@Acme.Test"):
        assert cli.failed("user", "add", "--company", company.id, "--mail", mail) == (
            f"error: a user with e-mail {mail.lower()} exists already in this company\n"
        )
    # The same address in another company is another user.
    printed_id(cli.ok("user", "add", "--company", other.id, "--mail", "ines@acme.test"))
    users_before += 1
    # Bad roles: refused, and the user is not created either.
    assert cli.failed(
        "user", "add", "--company", company.id, "--mail", "new@acme.test", "--role", f"{root}=boss"
    ) == (f"error: {ROLES_ERROR}, not 'boss'\n")
    usage = cli(
        "user", "add", "--company", company.id, "--mail", "new@acme.test", "--role", "author"
    )
    assert (usage.code, usage.out) == (2, "")  # a usage mistake
    assert "error: argument --role: takes GROUP_ID=ROLE, not 'author'\n" in usage.err
    assert cli.failed(
        "user", "add", "--company", company.id, "--mail", "new@acme.test",
        "--role", f"{root}=author", "--role", f"{foreign}=author",
    ) == (f"error: no group with id {foreign} in company {company.id}\n")  # fmt: skip
    assert cli.failed("user", "add", "--company", company.id, "--mail", "not-an-email") == (
        "error: not a valid e-mail address: not-an-email\n"
    )
    assert (
        cli(
            "user", "add", "--company", company.id, "--mail", "x@acme.test", "--status", "gone"
        ).code
        == 2
    )
    assert count(database_url, "users") == users_before
    assert count(database_url, "user_roles") == roles_before

    # The new user is an instructor the API finds, whatever the case of the address.
    path = printed_id(
        cli.ok("path", "add", "--company", company.id, "--name", "Onboarding", "--group", root)
    )
    r = live.request(
        "POST",
        f"/api/v1/paths/{path}/sessions/",
        json={
            "sessionName": "Cohort",
            "startDate": "2030-01-01T09:00:00Z",
            "sessionOwnerGroup": sales,
            "instructorsMails": ["iNeS@acme.test"],
        },
        headers={"X-company-id": company.id, "X-apiKey": company.key},
    )
    assert r.status_code == 200, r.text
    assert query(
        database_url,
        "SELECT position, user_id FROM session_instructors WHERE session_id = ?",
        r.json()["_id"],
    ) == [(0, user)]


def test_path_add_needs_a_group_of_the_company(cli: Cli, database_url: str) -> None:
    company = create_company(cli)
    other = create_company(cli, "Other", "o@other.test")
    group = printed_id(cli.ok("group", "add", "--company", company.id, "--name", "Root"))
    foreign = printed_id(cli.ok("group", "add", "--company", other.id, "--name", "Theirs"))
    path = printed_id(
        cli.ok("path", "add", "--company", company.id, "--name", "Onboarding", "--group", group)
    )
    old = printed_id(
        cli.ok(
            "path",
            "add",
            "--company",
            company.id,
            "--name",
            "Old",
            "--group",
            group.upper(),
            "--status",
            "archived",
        )
    )
    rows = query(database_url, "SELECT id, company_id, name, group_id, status FROM paths")
    assert sorted(rows) == sorted(
        [
            (path, company.id, "Onboarding", group, "published"),
            (old, company.id, "Old", group, "archived"),
        ]
    )
    assert cli.failed(
        "path", "add", "--company", company.id, "--name", "X", "--group", foreign
    ) == (f"error: no group with id {foreign} in company {company.id}\n")
    assert cli.failed("path", "add", "--company", other.id, "--name", "X", "--group", group) == (
        f"error: no group with id {group} in company {other.id}\n"
    )
    assert cli.failed("path", "add", "--company", company.id, "--name", "X", "--group", "g1") == (
        f"error: no group with id g1 in company {company.id}\n"
    )
    assert cli.failed("path", "add", "--company", company.id, "--name", "", "--group", group) == (
        "error: the path name must not be empty\n"
    )
    bad_status = cli(
        "path", "add", "--company", company.id, "--name", "X", "--group", group,
        "--status", "draft",
    )  # fmt: skip
    assert bad_status.code == 2
    assert "invalid choice: 'draft'" in bad_status.err
    assert count(database_url, "paths") == 2


# --- errors ----------------------------------------------------------------------------------

G = "6a0000000000000000000001"


@pytest.mark.parametrize(
    "command",
    [
        ["key", "create"],
        ["key", "list"],
        ["key", "revoke", "6d0000000000000000000001"],
        ["group", "add", "--name", "G"],
        ["user", "add", "--mail", "u@acme.test"],
        ["path", "add", "--name", "P", "--group", G],
    ],
    ids=lambda c: "-".join(c[:2]),
)
@pytest.mark.parametrize("company", ["5f1b2c3d4e5f60718293a4b5", "acme"])
def test_unknown_company_is_a_one_line_error(cli: Cli, command: list[str], company: str) -> None:
    create_company(cli)
    assert cli.failed(*command[:2], "--company", company, *command[2:]) == (
        f"error: no company with id {company}\n"
    )


def test_load_errors_are_one_line(cli: Cli, tmp_path: Any) -> None:
    missing = tmp_path / "missing.json"
    assert cli.failed("load", str(missing)) == (
        f"error: cannot read {missing}: No such file or directory\n"
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert cli.failed("load", str(broken)).startswith(f"error: {broken} is not a JSON document: ")
    assert cli.failed("load", str(tmp_path)).startswith(f"error: cannot read {tmp_path}: ")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "PATHSESSIONS_DATABASE_URL",
            "mysql://u@localhost/db",
            "PATHSESSIONS_DATABASE_URL must start with sqlite:/// or postgresql://",
        ),
        (
            "PATHSESSIONS_DATABASE_URL",
            "",
            "PATHSESSIONS_DATABASE_URL must start with sqlite:/// or postgresql://",
        ),
        ("PATHSESSIONS_PORT", "eighty", "PATHSESSIONS_PORT must be an integer, not 'eighty'"),
        (
            "PATHSESSIONS_ACCESS_LOG",
            "maybe",
            "PATHSESSIONS_ACCESS_LOG must be true or false, not 'maybe'",
        ),
    ],
)
def test_bad_setting_is_a_clean_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    message: str,
) -> None:
    clean_environment(monkeypatch)
    monkeypatch.setenv(variable, value)
    assert main(["company", "list"]) == 1
    assert capsys.readouterr() == ("", f"error: {message}\n")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://operator:s3cr3t-pw@127.0.0.1:1/nowhere",
        "postgresql://operator:s3cr3t-pw@127.0.0.1:5432/pathsessions_no_such_database",
        "sqlite:////proc/pathsessions/cannot/create.db",
    ],
)
def test_unusable_database_is_a_clean_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    clean_environment(monkeypatch)
    monkeypatch.setenv("PATHSESSIONS_DATABASE_URL", url)
    assert main(["migrate"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert re.fullmatch(r"error: [^\n]+ (127\.0\.0\.1:\d+|/proc/pathsessions)[^\n]+\n", err), err
    assert "s3cr3t-pw" not in err  # never the password
