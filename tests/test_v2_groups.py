"""v2 groups through the real app: the shape of a group, one group, and the list's pages."""

from __future__ import annotations

import re

import httpx
import pytest

from pathsessions.storage import Database
from support import UNKNOWN_ID, World
from support.v2 import v2_headers
from support.world import OTHER_FULL

GROUPS = "/api/v2/groups"
NOT_FOUND = {"error": {"code": "groupNotFound", "message": "No such group."}}
LINK = re.compile(r'<(?P<url>[^>]+)>; rel="next"')


async def add_groups(db: Database, company: str, count: int, prefix: str = "7a") -> list[str]:
    """`count` more groups of `company`, with ids that sort after the world's."""
    ids = [f"{prefix}{i:022x}" for i in range(count)]
    await db.executemany(
        "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(gid, company, f"Group {i}", i % 2 == 0, None, 0) for i, gid in enumerate(ids)],
    )
    return ids


async def test_a_group_shows_its_fields_and_leaves_out_the_absent_ones(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    headers = await v2_headers(client)
    r = await client.get(f"{GROUPS}/{world.root_group}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"_id": world.root_group, "name": "Acme", "public": True}
    await db.execute(
        "UPDATE company_groups SET custom = ? WHERE id = ?", "Unit 101", world.sales_group
    )
    r = await client.get(f"{GROUPS}/{world.sales_group.upper()}/", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "_id": world.sales_group,
        "name": "Sales",
        "public": False,
        "parentId": world.root_group,
        "custom": "Unit 101",
    }


@pytest.mark.parametrize("group_id", [UNKNOWN_ID, "not-an-id", "6a000000000000000000000", "%20"])
async def test_a_missing_or_malformed_group_id_is_group_not_found(
    client: httpx.AsyncClient, world: World, group_id: str
) -> None:
    r = await client.get(f"{GROUPS}/{group_id}", headers=await v2_headers(client))
    assert r.status_code == 404
    assert r.json() == NOT_FOUND


async def test_another_companys_group_is_not_found_and_not_listed(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await v2_headers(client)
    r = await client.get(f"{GROUPS}/{world.other_group}", headers=headers)
    assert r.status_code == 404
    assert r.json() == NOT_FOUND
    r = await client.get(GROUPS, headers=headers)
    assert [g["_id"] for g in r.json()] == [world.root_group, world.sales_group]
    other = await v2_headers(client, OTHER_FULL)
    r = await client.get(GROUPS, headers=other)
    assert r.json() == [{"_id": world.other_group, "name": "Other", "public": False}]
    r = await client.get(f"{GROUPS}/{world.root_group}", headers=other)
    assert r.json() == NOT_FOUND


async def test_one_page_is_a_bare_array_without_a_link(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get(GROUPS, headers=await v2_headers(client))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.json() == [
        {"_id": world.root_group, "name": "Acme", "public": True},
        {"_id": world.sales_group, "name": "Sales", "public": False, "parentId": world.root_group},
    ]
    assert "link" not in r.headers


async def test_three_pages_of_500_follow_the_link_to_the_end(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    added = await add_groups(db, world.company, 1100)
    await add_groups(db, world.other_company, 3, prefix="7b")
    headers = await v2_headers(client)
    pages: list[list[str]] = []
    url: str | None = GROUPS
    while url is not None:
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        pages.append([g["_id"] for g in r.json()])
        link = r.headers.get("link")
        if link is None:
            url = None
            continue
        m = LINK.fullmatch(link)
        assert m is not None, link
        url = m["url"]
        assert re.fullmatch(r"http://testserver/api/v2/groups\?next=[A-Za-z0-9_\-.]+", url), url
    assert [len(p) for p in pages] == [500, 500, 102]
    assert [i for p in pages for i in p] == [world.root_group, world.sales_group, *added]


async def test_a_page_that_ends_the_list_exactly_has_no_link(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await add_groups(db, world.company, 498)
    r = await client.get(GROUPS, headers=await v2_headers(client))
    assert len(r.json()) == 500
    assert "link" not in r.headers


async def test_the_link_is_on_the_requests_own_host_and_scheme(
    app: object, world: World, db: Database
) -> None:
    await add_groups(db, world.company, 499)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://api.example.test") as c:
        headers = {**(await v2_headers(c)), "Host": "lms.example.test:8443"}
        r = await c.get(GROUPS + "/", headers=headers)
    m = LINK.fullmatch(r.headers["link"])
    assert m is not None
    assert m["url"].startswith("https://lms.example.test:8443/api/v2/groups/?next=")
