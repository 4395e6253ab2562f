"""Companies of any size for the size and PostgreSQL runs (bench/scale.py): their data, written
straight to the tables, and the wrk scripts that read them.

A company here is sized by its number of sessions alone: 1,000 and 1,000,000 must differ in
nothing else that a read touches (the same 100 users, 5 groups, 100 paths, the same share of
sessions with two instructors), so that a difference in cost is the size's.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass

from pathsessions.storage import Database

from ..common import SEED
from ..seed import (
    DAY_MS,
    READER_EPOCH,
    READER_SPAN,
    Credential,
    Directory,
    ObjectIds,
    insert_directory,
    seed_credential,
)
from .lua import lua_auth_headers, lua_bearer_headers, lua_strings

GROUPS = 5
USERS = 100
PATHS = 100
# Sessions written per executemany: bounds the seed's memory whatever the company's size.
CHUNK = 50_000
# The ids a get-by-id script draws from: a random sample of the company, not all of a
# million (a 27 MB Lua table that wrk would parse per thread), spread over the whole table.
DRAWN = 20_000


@dataclass(frozen=True)
class SizedCompany:
    """A company of `size` sessions: every other one in `deep_path_id`, the rest over 99 paths."""

    size: int
    company_id: str
    api_key: str
    credential: Credential
    deep_path_id: str
    deep_sessions: int
    # A random sample of (session id, path id), for the get-by-id scripts.
    drawn: list[tuple[str, str]]
    # Every session id in id order, only for companies small enough to keep (probes).
    session_ids: list[str] | None


async def seed_sized(db: Database, name: str, size: int, keep_ids: bool) -> SizedCompany:
    """Write the company with `executemany`, CHUNK sessions at a time, in one transaction."""
    rng = random.Random(f"{SEED}-{name}-{size}")
    credential = Credential.make(rng)
    ids = ObjectIds(rng)
    second = READER_EPOCH - 86_400
    created_ms = second * 1000
    company_id = ids.at(second)
    api_key = f"bench-{name}-{rng.getrandbits(128):032x}"
    group_ids = [ids.at(second) for _ in range(GROUPS)]
    user_ids = [ids.at(second) for _ in range(USERS)]
    path_ids = [ids.at(second) for _ in range(PATHS)]
    deep_path_id = path_ids[0]
    # ObjectIds grow with creation: the seconds may repeat for a million sessions over two
    # years, the counter keeps them distinct and increasing.
    step = max(READER_SPAN // size, 1)
    drawn_at = set(rng.sample(range(size), min(DRAWN, size)))
    drawn: list[tuple[str, str]] = []
    kept: list[str] = []
    deep = 0
    async with db.transaction() as tx:
        await insert_directory(
            tx,
            Directory(name, company_id, ids.at(second), api_key, group_ids, path_ids),
            [(u, f"{name}{i:03d}@example.com") for i, u in enumerate(user_ids)],
            rng,
            created_ms,
        )
        for first in range(0, size, CHUNK):
            sessions: list[tuple[object, ...]] = []
            instructors: list[tuple[str, int, str]] = []
            for i in range(first, min(first + CHUNK, size)):
                created = READER_EPOCH + (i * READER_SPAN) // size + rng.randrange(step)
                session_id = ids.at(created)
                # Every other session: the deep path's pages are all full, at any size.
                path_id = deep_path_id if i % 2 == 0 else rng.choice(path_ids[1:])
                deep += path_id == deep_path_id
                start = (created + rng.randrange(1, 90) * 86_400) * 1000
                end = start + DAY_MS if rng.random() < 0.6 else None
                info = f"Reg. {i:07d}" if rng.random() < 0.3 else None
                sessions.append(
                    (
                        session_id,
                        company_id,
                        path_id,
                        f"Session {i}",
                        start,
                        end,
                        rng.choice(group_ids),
                        info,
                        created * 1000,
                        created * 1000,
                    )
                )
                for position, user_id in enumerate(rng.sample(user_ids, rng.choice((1, 1, 2)))):
                    instructors.append((session_id, position, user_id))
                if i in drawn_at:
                    drawn.append((session_id, path_id))
                if keep_ids:
                    kept.append(session_id)
            await tx.executemany(
                "INSERT INTO path_sessions (id, company_id, path_id, name, start_date, end_date,"
                " owner_group_id, additional_information, created_at, modified_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                sessions,
            )
            await tx.executemany(
                "INSERT INTO session_instructors (session_id, position, user_id) VALUES (?, ?, ?)",
                instructors,
            )
        await seed_credential(tx, company_id, credential, created_ms)
    rng.shuffle(drawn)
    return SizedCompany(
        size=size,
        company_id=company_id,
        api_key=api_key,
        credential=credential,
        deep_path_id=deep_path_id,
        deep_sessions=deep,
        drawn=drawn,
        session_ids=sorted(kept) if keep_ids else None,
    )


GET_LUA = string.Template(
    """\
-- Generated by the benchmark (scale, $name): one of $count sessions drawn at random from
-- a company of $size, per request.
local ids = $ids
local paths = $paths
local headers = $headers

function init(args)
  math.randomseed($seed)
end

function request()
  local i = math.random(#ids)
  return wrk.format("GET", $url, headers)
end
"""
)


def get_script(company: SizedCompany, version: str, token: str) -> str:
    """Get-by-id, through v1 (`X-apiKey`) or v2 (a bearer token)."""
    if version == "v1":
        url = '"/api/v1/paths/sessions/" .. ids[i]'
        headers = lua_auth_headers(company.company_id, company.api_key, json_body=False)
    else:
        url = '"/api/v2/paths/" .. paths[i] .. "/sessions/" .. ids[i]'
        headers = lua_bearer_headers(token)
    return GET_LUA.substitute(
        name=f"{version} get-by-id",
        count=f"{len(company.drawn):,}",
        size=f"{company.size:,}",
        ids=lua_strings([s for s, _ in company.drawn]),
        paths=lua_strings([p for _, p in company.drawn]),
        headers=headers,
        url=url,
        seed=SEED,
    )


FIXED_LUA = string.Template(
    """\
-- Generated by the benchmark (scale, $name): the same request every time.
local req

function init(args)
  req = wrk.format("GET", $path, $headers)
end

function request()
  return req
end
"""
)


def page_script(url: str, token: str) -> str:
    return FIXED_LUA.substitute(
        name="v2 deep page", path=json.dumps(url), headers=lua_bearer_headers(token)
    )


MIXED_LUA = string.Template(
    """\
-- Generated by the benchmark (scale, mixed): per request, a create in the writer company
-- ($writes in 10) or a v1 get-by-id of one of $count sessions of the reader company.
local ids = $ids
local paths = $paths
local groups = $groups
local mails = $mails
local read_headers = $read_headers
local write_headers = $write_headers
local counter = 0

function init(args)
  math.randomseed($seed)
end

function request()
  if math.random(10) <= $writes then
    counter = counter + 1
    local month = math.random(1, 12)
    local day = math.random(1, 28)
    local body = string.format(
      '{"sessionName":"Mixed %d","startDate":"2025-%02d-%02dT09:00:00.000Z",' ..
      '"endDate":"2025-%02d-%02dT17:30:00.000Z","sessionOwnerGroup":"%s",' ..
      '"instructorsMails":["%s"]}',
      counter, month, day, month, day,
      groups[math.random(#groups)], mails[math.random(#mails)])
    local path = "/api/v1/paths/" .. paths[math.random(#paths)] .. "/sessions/"
    return wrk.format("POST", path, write_headers, body)
  end
  return wrk.format("GET", "/api/v1/paths/sessions/" .. ids[math.random(#ids)], read_headers)
end
"""
)

# Two requests in ten write: a busy integration creating sessions while others read them.
MIXED_WRITES = 2


def mixed_script(
    reader: SizedCompany,
    writer_company: str,
    writer_key: str,
    paths: list[str],
    groups: list[str],
    mails: list[str],
) -> str:
    return MIXED_LUA.substitute(
        writes=MIXED_WRITES,
        count=f"{len(reader.drawn):,}",
        ids=lua_strings([s for s, _ in reader.drawn]),
        paths=lua_strings(paths),
        groups=lua_strings(groups),
        mails=lua_strings(mails),
        read_headers=lua_auth_headers(reader.company_id, reader.api_key, json_body=False),
        write_headers=lua_auth_headers(writer_company, writer_key),
        seed=SEED,
    )
