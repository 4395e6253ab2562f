"""Tenant isolation (docs/api.md, "Conventions"): another company's object is answered as a missing
one.

Two tables drive this file. `PROBES` lists, for every authenticated route that names an
object (in its URL or in its body), requests where exactly those ids are another company's.
Each probe is sent twice with the caller's own credentials: once with the other company's ids
and once with ids that never existed; both answers must be byte for byte the same (status,
headers but the request id, body), the missing one must be the documented error, and the
database must not change at all. `READS` lists the answers that show the caller's own data
(every list, every one-object read); none may mention an id, an address or a text of the
other company. `test_the_tables_cover_every_authenticated_route` fails when a route is added
to `app.ROUTES` without a row here.

Every probe and read runs under each way of authenticating (headers, query, bearer token, and
a bearer token beside the other company's valid key, which must not change whose request it
is). Reads run for both companies of the test world, probes for the second one too (by
headers). Last, an e-mail address that both companies use must name the caller's own user.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from pathsessions.api.v1.routes import ROUTES
from pathsessions.core.clock import SYSTEM_CLOCK
from pathsessions.core.operators import add_user
from pathsessions.storage import Database
from pathsessions.web.routing import Router
from support import JSON_TYPE, World, error, valid_body
from support.catalogue import CATALOGUE

START = "2030-01-01T09:00:00.000Z"

# Create and update bodies that pass every check before the one a probe aims at. The update
# keeps the session's start date, so no date rule can answer first.
CREATE: dict[str, Any] = {
    "sessionName": "Probe",
    "startDate": START,
    "sessionOwnerGroup": "{own_group}",
}
UPDATE: dict[str, Any] = {
    "sessionName": "Probe",
    "sessionOwnerGroup": "{own_group}",
    "startDate": START,
}

# Slots a template may name. The foreign ones are filled with the other company's objects, or
# with objects that never existed; the own ones with the caller's, the same in both requests.
FOREIGN_SLOTS = ("path", "session", "group", "user", "mail", "owner", "owner_mail")
OWN_SLOTS = ("own_path", "own_session", "own_group", "own_user", "own_mail")
MAIL_SLOTS = {"mail", "owner_mail"}


@dataclass(frozen=True)
class Probe:
    id: str
    operation: str  # the route's operation_id in app.ROUTES
    method: str
    url: str
    body: Any
    # The answer to the same request naming objects that do not exist.
    status: int
    code: str


def at(operation: str, **slots: str) -> tuple[str, str, str]:
    """The operation, its method and its URL (support/catalogue.py), each parameter of the
    path filled with the slot named: `sessionId="own_session"` is `{own_session}`."""
    request = CATALOGUE[operation]
    # Every parameter must be named (KeyError otherwise): none takes the test world's id.
    url = request.path.format_map({name: "{" + slot + "}" for name, slot in slots.items()})
    return operation, request.method, url


PROBES = [
    # POST /api/v1/paths/{pathId}/sessions
    Probe("create: path",
          *at("createPathSession", pathId="path"), CREATE, 404, "path_not_found"),
    Probe("create: path, every field foreign",
          *at("createPathSession", pathId="path"),
          {**CREATE, "sessionOwnerGroup": "{group}", "instructorsMails": ["{mail}"]},
          404, "path_not_found"),
    Probe("create: sessionOwnerGroup",
          *at("createPathSession", pathId="own_path"), {**CREATE, "sessionOwnerGroup": "{group}"},
          400, "session_owner_group_not_found"),
    Probe("create: instructorsMails",
          *at("createPathSession", pathId="own_path"), {**CREATE, "instructorsMails": ["{mail}"]},
          400, "instructors_not_found"),
    Probe("create: instructorsMails after an own one",
          *at("createPathSession", pathId="own_path"),
          {**CREATE, "instructorsMails": ["{own_mail}", "{mail}"]},
          400, "instructors_not_found"),
    Probe("create: instructorsMails, the platform owner",
          *at("createPathSession", pathId="own_path"),
          {**CREATE, "instructorsMails": ["{owner_mail}"]},
          400, "instructors_not_found"),
    # GET, PATCH, DELETE /api/v1/paths/sessions/{sessionId}
    Probe("get session",
          *at("getPathSession", sessionId="session"), None, 404, "path_session_not_found"),
    Probe("update: session",
          *at("updatePathSession", sessionId="session"), UPDATE, 404, "path_session_not_found"),
    Probe("update: session, every field foreign",
          *at("updatePathSession", sessionId="session"),
          {**UPDATE, "sessionOwnerGroup": "{group}", "instructorsMails": ["{mail}"]},
          404, "path_session_not_found"),
    Probe("update: sessionOwnerGroup",
          *at("updatePathSession", sessionId="own_session"),
          {**UPDATE, "sessionOwnerGroup": "{group}"},
          400, "session_owner_group_not_found"),
    Probe("update: instructorsMails",
          *at("updatePathSession", sessionId="own_session"),
          {**UPDATE, "instructorsMails": ["{mail}"]},
          400, "instructors_not_found"),
    Probe("update: instructorsMails after an own one",
          *at("updatePathSession", sessionId="own_session"),
          {**UPDATE, "instructorsMails": ["{own_mail}", "{mail}"]},
          400, "instructors_not_found"),
    Probe("update: instructorsMails, the platform owner",
          *at("updatePathSession", sessionId="own_session"),
          {**UPDATE, "instructorsMails": ["{owner_mail}"]},
          400, "instructors_not_found"),
    Probe("delete session",
          *at("deletePathSession", sessionId="session"), None, 404, "path_session_not_found"),
    # GET, PATCH, DELETE /api/v1/paths/sessions/{sessionId}/users
    Probe("session users",
          *at("listPathSessionUsers", sessionId="session"), None, 404, "path_session_not_found"),
    Probe("enrol users: session",
          *at("enrolPathSessionUsers", sessionId="session"),
          {"userIds": ["{user}"]}, 404, "path_session_not_found"),
    Probe("enrol users: session, own user",
          *at("enrolPathSessionUsers", sessionId="session"),
          {"userEmails": ["{own_mail}"]}, 404, "path_session_not_found"),
    Probe("enrol users: userIds",
          *at("enrolPathSessionUsers", sessionId="own_session"),
          {"userIds": ["{user}"]}, 400, "users_not_found"),
    Probe("enrol users: userIds after an own one",
          *at("enrolPathSessionUsers", sessionId="own_session"),
          {"userIds": ["{own_user}", "{user}"]}, 400, "users_not_found"),
    Probe("enrol users: userIds, the platform owner",
          *at("enrolPathSessionUsers", sessionId="own_session"),
          {"userIds": ["{owner}"]}, 400, "users_not_found"),
    Probe("enrol users: userEmails",
          *at("enrolPathSessionUsers", sessionId="own_session"),
          {"userEmails": ["{mail}"]}, 400, "users_not_found"),
    Probe("enrol users: userEmails after an own one",
          *at("enrolPathSessionUsers", sessionId="own_session"),
          {"userEmails": ["{own_mail}", "{mail}"]},
          400, "users_not_found"),
    Probe("unenrol users: session",
          *at("unenrolPathSessionUsers", sessionId="session"),
          {"userIds": ["{user}"]}, 404, "path_session_not_found"),
    Probe("unenrol users: session, by e-mail",
          *at("unenrolPathSessionUsers", sessionId="session"),
          {"userEmails": ["{mail}"]}, 404, "path_session_not_found"),
    Probe("unenrol users: userIds",
          *at("unenrolPathSessionUsers", sessionId="own_session"),
          {"userIds": ["{user}"]}, 400, "users_not_found"),
    Probe("unenrol users: userIds after an own one",
          *at("unenrolPathSessionUsers", sessionId="own_session"),
          {"userIds": ["{own_user}", "{user}"]}, 400, "users_not_found"),
    Probe("unenrol users: userEmails",
          *at("unenrolPathSessionUsers", sessionId="own_session"),
          {"userEmails": ["{mail}"]}, 400, "users_not_found"),
    Probe("unenrol users: userEmails after an own one",
          *at("unenrolPathSessionUsers", sessionId="own_session"),
          {"userEmails": ["{own_mail}", "{mail}"]},
          400, "users_not_found"),
    # PATCH, DELETE /api/v1/paths/sessions/{sessionId}/groups
    Probe("enrol groups: session",
          *at("enrolPathSessionGroups", sessionId="session"),
          {"groupIds": ["{group}"]}, 404, "path_session_not_found"),
    Probe("enrol groups: session, own group",
          *at("enrolPathSessionGroups", sessionId="session"),
          {"groupIds": ["{own_group}"]}, 404, "path_session_not_found"),
    Probe("enrol groups: groupIds",
          *at("enrolPathSessionGroups", sessionId="own_session"),
          {"groupIds": ["{group}"]}, 400, "groups_not_found"),
    Probe("enrol groups: groupIds after an own one",
          *at("enrolPathSessionGroups", sessionId="own_session"),
          {"groupIds": ["{own_group}", "{group}"]},
          400, "groups_not_found"),
    Probe("unenrol groups: session",
          *at("unenrolPathSessionGroups", sessionId="session"),
          {"groupIds": ["{group}"]}, 404, "path_session_not_found"),
    Probe("unenrol groups: groupIds",
          *at("unenrolPathSessionGroups", sessionId="own_session"),
          {"groupIds": ["{group}"]}, 400, "groups_not_found"),
    Probe("unenrol groups: groupIds after an own one",
          *at("unenrolPathSessionGroups", sessionId="own_session"),
          {"groupIds": ["{own_group}", "{group}"]},
          400, "groups_not_found"),
    # The company's groups, users and paths
    Probe("get group",
          *at("getGroup", groupId="group"), None, 404, "group_not_found"),
    Probe("get user by id",
          *at("getUser", user="user"), None, 400, "user_not_found"),
    Probe("get user by e-mail",
          *at("getUser", user="mail"), None, 400, "user_not_found"),
    Probe("get the platform owner by id",
          *at("getUser", user="owner"), None, 400, "user_not_found"),
    Probe("get the platform owner by e-mail",
          *at("getUser", user="owner_mail"), None, 400, "user_not_found"),
    Probe("get path",
          *at("getPath", pathId="path"), None, 404, "path_not_found"),
]  # fmt: skip


@dataclass(frozen=True)
class Read:
    id: str
    operation: str
    method: str
    url: str
    body: Any = None


READS = [
    Read("session list", *at("listPathSessions")),
    Read("own session", *at("getPathSession", sessionId="own_session")),
    # The update answers the whole session, enrolments included.
    Read(
        "own session updated unchanged", *at("updatePathSession", sessionId="own_session"), UPDATE
    ),
    Read("own session's users", *at("listPathSessionUsers", sessionId="own_session")),
    Read("group list", *at("listGroups")),
    Read("own group", *at("getGroup", groupId="own_group")),
    Read("user list", *at("listUsers")),
    Read("own user by id", *at("getUser", user="own_user")),
    Read("own user by e-mail", *at("getUser", user="own_mail")),
    Read("path list", *at("listPaths")),
    Read("own path", *at("getPath", pathId="own_path")),
]

MODES = ["headers", "query", "bearer", "bearer+other-key"]
SPELLINGS: dict[str, Callable[[str], str]] = {"as stored": str, "upper-case": str.upper}


def fill(template: Any, slots: Mapping[str, str]) -> Any:
    if isinstance(template, str):
        return template.format_map(slots)
    if isinstance(template, list):
        return [fill(item, slots) for item in template]
    if isinstance(template, dict):
        return {key: fill(value, slots) for key, value in template.items()}
    return template


def slots_named(template: Any) -> set[str]:
    """The slot names a URL or body template uses."""
    named: set[str] = set()

    class Recorder(dict[str, str]):
        def __missing__(self, key: str) -> str:
            named.add(key)
            return ""

    fill(template, Recorder())
    return named


# --- The world: two companies, each with a session holding enrolments -------------------------


@dataclass(frozen=True)
class Tenant:
    company: str
    key: str
    token: str
    path: str
    group: str
    session: str
    user: str  # an active user of the company, not its platform owner
    mail: str
    owner: str  # the platform owner
    owner_mail: str
    # Every id, address and text of the company an answer could leak.
    markers: frozenset[str]

    def own_slots(self) -> dict[str, str]:
        return {
            "own_path": self.path,
            "own_session": self.session,
            "own_group": self.group,
            "own_user": self.user,
            "own_mail": self.mail,
        }

    def foreign_slots(self) -> dict[str, str]:
        return {
            "path": self.path,
            "session": self.session,
            "group": self.group,
            "user": self.user,
            "mail": self.mail,
            "owner": self.owner,
            "owner_mail": self.owner_mail,
        }


async def one(db: Database, sql: str, *args: Any) -> str:
    row = await db.fetchone(sql, *args)
    assert row is not None, sql
    return str(row[0])


def ok(r: httpx.Response) -> httpx.Response:
    assert r.status_code == 200, r.text
    return r


async def tenant(
    client: httpx.AsyncClient,
    db: Database,
    company: str,
    key: str,
    path: str,
    group: str,
    mail: str,
    texts: tuple[str, str],
) -> Tenant:
    """The company's ids, after it created a session and enrolled `mail` and `group` in it."""
    headers = {"X-company-id": company, "X-apiKey": key}
    body = valid_body(
        sessionName=texts[0],
        sessionAdditionalInformation=texts[1],
        sessionOwnerGroup=group,
        instructorsMails=[],
    )
    r = ok(await client.post(f"/api/v1/paths/{path}/sessions", json=body, headers=headers))
    session = str(r.json()["_id"])
    enrolled = f"/api/v1/paths/sessions/{session}"
    ok(await client.patch(enrolled + "/users", json={"userEmails": [mail]}, headers=headers))
    ok(await client.patch(enrolled + "/groups", json={"groupIds": [group]}, headers=headers))
    r = ok(
        await client.post(
            "/api/v2/oauth2/token",
            json={"grant_type": "client_credentials", "client_id": company, "client_secret": key},
        )
    )
    owner = await one(db, "SELECT owner_user_id FROM companies WHERE id = ?", company)
    markers = {company, *texts}
    for sql in (
        "SELECT id FROM company_groups WHERE company_id = ?",
        "SELECT id FROM users WHERE company_id = ?",
        "SELECT mail_key FROM users WHERE company_id = ?",
        "SELECT id FROM paths WHERE company_id = ?",
        "SELECT id FROM path_sessions WHERE company_id = ?",
        "SELECT id FROM api_keys WHERE company_id = ?",
    ):
        markers.update(str(row[0]) for row in await db.fetchall(sql, company))
    return Tenant(
        company=company,
        key=key,
        token=str(r.json()["access_token"]),
        path=path,
        group=group,
        session=session,
        user=await one(
            db, "SELECT id FROM users WHERE company_id = ? AND mail_key = ?", company, mail
        ),
        mail=mail,
        owner=owner,
        owner_mail=await one(db, "SELECT mail FROM users WHERE id = ?", owner),
        markers=frozenset(markers),
    )


@pytest.fixture
async def tenants(client: httpx.AsyncClient, db: Database, world: World) -> dict[str, Tenant]:
    acme = await tenant(
        client,
        db,
        world.company,
        world.key,
        world.path,
        world.root_group,
        world.instructor_mail,
        ("Acme-only cohort", "ACME-REG-1"),
    )
    other = await tenant(
        client,
        db,
        world.other_company,
        world.other_key,
        world.other_path,
        world.other_group,
        world.other_user_mail,
        ("Other-only cohort", "OTHER-REG-7"),
    )
    return {"acme": acme, "other": other}


def credentials(mode: str, me: Tenant, them: Tenant) -> dict[str, Any]:
    """`headers` and `params` for httpx, authenticating as `me`."""
    if mode == "headers":
        return {"headers": {"X-company-id": me.company, "X-apiKey": me.key}}
    if mode == "query":
        return {"params": {"company": me.company, "apiKey": me.key}}
    bearer = {"Authorization": f"Bearer {me.token}"}
    if mode == "bearer":
        return {"headers": bearer}
    assert mode == "bearer+other-key"
    return {
        "headers": {**bearer, "X-company-id": them.company, "X-apiKey": them.key},
        "params": {"company": them.company, "apiKey": them.key},
    }


# The tables an API request can write, read after each request; all of them are compared at
# the start and the end of a test.
WRITTEN = ("path_sessions", "session_instructors", "session_users", "session_groups")
TABLES = (
    "companies",
    "api_keys",
    "company_groups",
    "users",
    "user_roles",
    "paths",
    *WRITTEN,
    "server_secrets",
)


Snapshot = dict[str, list[tuple[Any, ...]]]


async def snapshot(db: Database, tables: tuple[str, ...] = TABLES) -> Snapshot:
    """Every row of the tables, both companies': a refused request changes none."""
    return {
        table: sorted((tuple(row) for row in await db.fetchall(f"SELECT * FROM {table}")), key=repr)
        for table in tables
    }


def changes(before: Snapshot, after: Snapshot) -> str:
    lines = []
    for table in before:
        gone = [row for row in before[table] if row not in after[table]]
        new = [row for row in after[table] if row not in before[table]]
        if gone or new:
            lines.append(f"    {table}: removed {gone}, added {new}")
    return "\n".join(lines)


def never_existing(spell: Callable[[str], str], taken: str) -> dict[str, str]:
    """Fresh ids and addresses for every foreign slot, checked to be in no table."""
    slots = {
        name: f"nobody.{secrets.token_hex(6)}@other.test"
        if name in MAIL_SLOTS
        else secrets.token_hex(12)
        for name in FOREIGN_SLOTS
    }
    assert not any(value in taken for value in slots.values())
    return {name: spell(value) for name, value in slots.items()}


def answer(r: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    # The request id differs on every answer by design.
    headers = sorted((k, v) for k, v in r.headers.items() if k != "x-request-id")
    return r.status_code, headers, r.content


# --- The tables are complete ------------------------------------------------------------------


def test_the_tables_cover_every_authenticated_route() -> None:
    authenticated = {route.operation_id: route for route in ROUTES if route.authenticated}
    probed = {probe.operation for probe in PROBES}
    read = {row.operation for row in READS}
    assert probed | read == set(authenticated)
    # A route that names an object in its URL must be probed with another company's.
    assert probed == {op for op, route in authenticated.items() if "{" in route.path}
    # Every route that answers a company's data must be scanned for the other's.
    assert {op for op, route in authenticated.items() if route.method == "GET"} <= read
    router = Router([(route, None) for route in ROUTES])
    sample = {
        name: f"a{i}@b.test" if name in MAIL_SLOTS else f"{i:024x}"
        for i, name in enumerate(FOREIGN_SLOTS + OWN_SLOTS)
    }
    rows: list[Probe | Read] = [*PROBES, *READS]
    for row in rows:
        matched = router.match(row.method, fill(row.url, sample))
        assert matched is not None, row.id
        assert matched[0].operation_id == row.operation, row.id
        fill(row.body, sample)  # a misspelt slot raises KeyError
    for probe in PROBES:
        # A probe naming no foreign object would compare two identical requests.
        assert slots_named([probe.url, probe.body]) & set(FOREIGN_SLOTS), probe.id
    assert len({probe.id for probe in PROBES}) == len(PROBES)
    assert "bearer" in MODES


# --- Another company's ids are answered as missing ones ---------------------------------------

RUNS = [("acme", "other", mode) for mode in MODES] + [("other", "acme", "headers")]


@pytest.mark.parametrize(
    ("caller", "owner", "mode"), RUNS, ids=[f"{c}-with-{o}-ids-by-{m}" for c, o, m in RUNS]
)
async def test_other_company_ids_answer_as_missing(
    client: httpx.AsyncClient,
    db: Database,
    tenants: dict[str, Tenant],
    caller: str,
    owner: str,
    mode: str,
) -> None:
    me, them = tenants[caller], tenants[owner]
    auth = credentials(mode, me, them)
    start = await snapshot(db)
    taken = repr(start)
    state = await snapshot(db, WRITTEN)
    problems: list[str] = []
    for probe in PROBES:
        for spelling, spell in SPELLINGS.items():
            where = f"{probe.id} [{spelling}]"
            foreign = {**me.own_slots(), **{k: spell(v) for k, v in them.foreign_slots().items()}}
            missing = {**me.own_slots(), **never_existing(spell, taken)}

            r = await client.request(
                probe.method, fill(probe.url, foreign), json=fill(probe.body, foreign), **auth
            )
            after = await snapshot(db, WRITTEN)
            if after != state:
                problems.append(f"{where}: other company's ids changed\n{changes(state, after)}")
                state = after
            got = answer(r)

            r = await client.request(
                probe.method, fill(probe.url, missing), json=fill(probe.body, missing), **auth
            )
            after = await snapshot(db, WRITTEN)
            if after != state:
                problems.append(f"{where}: missing ids changed\n{changes(state, after)}")
                state = after
            expected = answer(r)

            if (expected[0], expected[2]) != (probe.status, error(probe.code)):
                problems.append(f"{where}: missing ids answered {expected[0]} {r.text}")
            if r.headers["content-type"] != JSON_TYPE:
                problems.append(f"{where}: missing ids answered {r.headers['content-type']}")
            if got != expected:
                problems.append(
                    f"{where}: other company's ids answered {got[0]} {got[2]!r},"
                    f" missing ones {expected[0]} {expected[2]!r}"
                )
    end = await snapshot(db)
    if end != start:
        problems.append(f"the requests changed data\n{changes(start, end)}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# --- A company's answers never show the other's data ------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_answers_never_show_the_other_company(
    client: httpx.AsyncClient, db: Database, tenants: dict[str, Tenant], mode: str
) -> None:
    problems: list[str] = []
    for caller, owner in (("acme", "other"), ("other", "acme")):
        me, them = tenants[caller], tenants[owner]
        for row in READS:
            where = f"{caller}: {row.id}"
            r = await client.request(
                row.method,
                fill(row.url, me.own_slots()),
                json=fill(row.body, me.own_slots()),
                **credentials(mode, me, them),
            )
            if r.status_code != 200:
                problems.append(f"{where}: answered {r.status_code} {r.text}")
                continue
            text = r.text.lower()
            # Seeing its own data proves the answer is the caller's, not an empty one.
            if not any(marker.lower() in text for marker in me.markers):
                problems.append(f"{where}: none of the caller's own data in {r.text}")
            leaked = sorted(marker for marker in them.markers if marker.lower() in text)
            if leaked:
                problems.append(f"{where}: shows the other company's {leaked} in {r.text}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# --- An address both companies use names the caller's user ------------------------------------

# Addresses are unique within a company only. The other company's user is stored upper-case, so
# an answer showing its address shows whose user was found.
SHARED = "sam@both.test"


@pytest.mark.parametrize("mode", MODES)
async def test_an_address_both_companies_use_names_the_callers_user(
    client: httpx.AsyncClient, db: Database, tenants: dict[str, Tenant], mode: str
) -> None:
    me, them = tenants["acme"], tenants["other"]
    mine = await add_user(db, SYSTEM_CLOCK, me.company, SHARED, "Sam", "Acme", "active", {})
    theirs = await add_user(
        db, SYSTEM_CLOCK, them.company, SHARED.upper(), "Sam", "Other", "active", {}
    )
    # Each company names the address the same way and must get its own user: a lookup that
    # ignored the company would hand one of them the other's.
    their_auth = credentials(mode, them, me)
    their_session = f"/api/v1/paths/sessions/{them.session}"
    r = ok(await client.get(f"/api/v1/users/{SHARED}", **their_auth))
    assert r.json()["_id"] == theirs
    ok(await client.patch(their_session + "/users", json={"userEmails": [SHARED]}, **their_auth))
    body = {**fill(UPDATE, them.own_slots()), "instructorsMails": [SHARED]}
    r = ok(await client.patch(their_session, json=body, **their_auth))
    assert r.json()["instructorsMails"] == [SHARED.upper()]
    assert theirs in [user["_id"] for user in r.json()["users"]]
    before = await snapshot(db)
    auth = credentials(mode, me, them)
    own_session = f"/api/v1/paths/sessions/{me.session}"

    r = ok(await client.get(f"/api/v1/users/{SHARED.upper()}", **auth))
    assert r.json() == {"_id": mine, "mail": SHARED, "firstName": "Sam", "lastName": "Acme"}
    body = {**fill(CREATE, me.own_slots()), "instructorsMails": [SHARED]}
    r = ok(await client.post(f"/api/v1/paths/{me.path}/sessions", json=body, **auth))
    r = ok(await client.get(f"/api/v1/paths/sessions/{r.json()['_id']}", **auth))
    assert r.json()["instructorsMails"] == [SHARED]
    body = {**fill(UPDATE, me.own_slots()), "instructorsMails": [SHARED]}
    r = ok(await client.patch(own_session, json=body, **auth))
    assert r.json()["instructorsMails"] == [SHARED]
    ok(await client.patch(own_session + "/users", json={"userEmails": [SHARED]}, **auth))
    r = ok(await client.get(own_session + "/users", **auth))
    assert mine in [user["_id"] for user in r.json()]
    unenrol = {"userEmails": [SHARED.upper()]}
    ok(await client.request("DELETE", own_session + "/users", json=unenrol, **auth))

    after = await snapshot(db)
    touched = [
        row
        for table in TABLES
        for row in before[table] + after[table]
        if (row in before[table]) != (row in after[table])
    ]
    assert any(mine in row for row in touched)
    assert not [row for row in touched if theirs in row or them.session in row]
    # The unenrolment archived the caller's enrolment, and only that.
    enrolled_now = [row for row in after["session_users"] if row not in before["session_users"]]
    assert [(row[0], row[1]) for row in enrolled_now] == [(me.session, mine)]
    assert "archived" in enrolled_now[0]
