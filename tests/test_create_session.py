"""`POST /api/v1/paths/{pathId}/sessions/` (docs/api.md, "Create a path session"), through the real
app.

Every error test checks the exact status and body bytes and that nothing was written.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from pathsessions.loader import load_document
from pathsessions.storage import Database
from support import (
    ABSENT,
    UNKNOWN_ID,
    World,
    assert_error,
    count_rows,
    created_id,
    valid_body,
)

OBJECT_ID = re.compile(r"[0-9a-f]{24}")

# Milliseconds since the epoch of the dates in `valid_body()`.
START_MS = 1_893_488_400_000  # 2030-01-01T09:00:00.000Z
END_MS = 1_893_603_600_000  # 2030-01-02T17:00:00.000Z


# --- Helpers ---------------------------------------------------------------------------------


async def create(
    client: httpx.AsyncClient, world: World, body: Any, path_id: str | None = None
) -> httpx.Response:
    return await client.post(world.sessions_url(path_id), json=body, headers=world.headers)


async def session_row(db: Database, session_id: str) -> dict[str, Any]:
    row = await db.fetchone(
        "SELECT id, company_id, path_id, name, start_date, end_date, owner_group_id,"
        " additional_information, created_at, modified_at FROM path_sessions WHERE id = ?",
        session_id,
    )
    assert row is not None
    keys = [
        "id",
        "company_id",
        "path_id",
        "name",
        "start_date",
        "end_date",
        "owner_group_id",
        "additional_information",
        "created_at",
        "modified_at",
    ]
    return dict(zip(keys, row, strict=True))


async def instructors(db: Database, session_id: str) -> list[tuple[str, int]]:
    rows = await db.fetchall(
        "SELECT user_id, position FROM session_instructors WHERE session_id = ? ORDER BY position",
        session_id,
    )
    return [(str(r[0]), int(r[1])) for r in rows]


async def add_acme_users(db: Database, world: World, mails: list[str]) -> None:
    """Add active users to the world's first company (by loading a fixture document)."""
    await load_document(
        db,
        {
            "companies": [
                {
                    "id": world.company,
                    "name": "Acme Learning",
                    "owner": world.owner_mail,
                    "users": [{"mail": mail} for mail in mails],
                }
            ]
        },
    )


# --- Success ---------------------------------------------------------------------------------


async def test_create_stores_every_field(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    before = time.time_ns() // 1_000_000
    r = await create(client, world, valid_body())
    after = time.time_ns() // 1_000_000
    session_id = created_id(r)
    row = await session_row(db, session_id)
    assert row["created_at"] == row["modified_at"]
    assert before <= row["created_at"] <= after
    del row["created_at"], row["modified_at"]
    assert row == {
        "id": session_id,
        "company_id": world.company,
        "path_id": world.path,
        "name": "Cohort 1",
        "start_date": START_MS,
        "end_date": END_MS,
        "owner_group_id": world.root_group,
        "additional_information": "REG-42",
    }
    assert await instructors(db, session_id) == [(world.instructor, 0)]
    assert await count_rows(db, "path_sessions") == 1
    assert await count_rows(db, "session_instructors") == 1


async def test_create_minimal_body(client: httpx.AsyncClient, world: World, db: Database) -> None:
    body = {
        "sessionName": "Minimal",
        "startDate": "2030-01-01T09:00:00Z",
        "sessionOwnerGroup": world.sales_group,
    }
    session_id = created_id(await create(client, world, body))
    row = await session_row(db, session_id)
    assert row["end_date"] is None
    assert row["additional_information"] is None
    assert row["owner_group_id"] == world.sales_group
    assert await instructors(db, session_id) == [(world.owner, 0)]


@pytest.mark.parametrize("mails", [ABSENT, []], ids=["absent", "empty"])
async def test_platform_owner_is_default_instructor(
    client: httpx.AsyncClient, world: World, db: Database, mails: Any
) -> None:
    session_id = created_id(await create(client, world, valid_body(instructorsMails=mails)))
    assert await instructors(db, session_id) == [(world.owner, 0)]
    assert await count_rows(db, "session_instructors") == 1


async def test_instructor_order_is_kept(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    mails = [world.second_instructor_mail, world.owner_mail, world.instructor_mail]
    session_id = created_id(await create(client, world, valid_body(instructorsMails=mails)))
    assert await instructors(db, session_id) == [
        (world.second_instructor, 0),
        (world.owner, 1),
        (world.instructor, 2),
    ]


async def test_instructor_mails_trimmed_case_insensitive_deduplicated(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    mails = [
        "  IVAN@Acme.Test ",
        "ines@ACME.test",
        "ivan@acme.test",
        "\tIvan@acme.test\n",
        "INES@acme.TEST",
    ]
    session_id = created_id(await create(client, world, valid_body(instructorsMails=mails)))
    assert await instructors(db, session_id) == [
        (world.second_instructor, 0),
        (world.instructor, 1),
    ]


async def test_exactly_100_distinct_instructors(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    mails = [f"trainer{i:03d}@acme.test" for i in range(100)]
    await add_acme_users(db, world, mails)
    # 101 items, one a duplicate after trimming and lower-casing: still 100 distinct.
    sent = [*mails, " TRAINER000@ACME.TEST "]
    session_id = created_id(await create(client, world, valid_body(instructorsMails=sent)))
    rows = await instructors(db, session_id)
    assert [position for _, position in rows] == list(range(100))
    ids = {
        str(r[1]): str(r[0])
        for r in await db.fetchall(
            "SELECT id, mail_key FROM users WHERE company_id = ?", world.company
        )
    }
    assert [user_id for user_id, _ in rows] == [ids[mail] for mail in mails]


@pytest.mark.parametrize("end", [None, ABSENT], ids=["null", "absent"])
async def test_end_date_null_same_as_absent(
    client: httpx.AsyncClient, world: World, db: Database, end: Any
) -> None:
    session_id = created_id(await create(client, world, valid_body(endDate=end)))
    row = await session_row(db, session_id)
    assert row["start_date"] == START_MS
    assert row["end_date"] is None


@pytest.mark.parametrize(
    ("start", "end", "start_ms", "end_ms"),
    [
        (
            "2022-05-16T23:00:00+01:00",
            "2022-05-17T10:00:00.9999-02:00",
            1_652_738_400_000,  # 2022-05-16T22:00:00.000Z
            1_652_788_800_999,  # 2022-05-17T12:00:00.999Z
        ),
        (
            "2022-05-16T22:00:00.123456Z",
            "2022-05-16T22:00:00.1239Z",
            1_652_738_400_123,
            1_652_738_400_123,
        ),
        (
            "2022-05-17T12:00:00+23:59",
            "2022-05-16T12:00:00-23:59",
            1_652_702_460_000,  # 2022-05-16T12:01:00.000Z
            1_652_788_740_000,  # 2022-05-17T11:59:00.000Z
        ),
        ("2024-02-29T00:00:00Z", ABSENT, 1_709_164_800_000, None),
    ],
)
async def test_dates_stored_in_utc_milliseconds(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    start: str,
    end: Any,
    start_ms: int,
    end_ms: int | None,
) -> None:
    session_id = created_id(await create(client, world, valid_body(startDate=start, endDate=end)))
    row = await session_row(db, session_id)
    assert (row["start_date"], row["end_date"]) == (start_ms, end_ms)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        # Equal instants are not "earlier".
        ("2030-01-01T09:00:00.000Z", "2030-01-01T09:00:00.000Z"),
        ("2030-01-01T09:00:00Z", "2030-01-01T10:00:00+01:00"),
        # Later as instants although earlier as local times.
        ("2030-01-01T09:00:00+02:00", "2030-01-01T08:00:00Z"),
        # Equal after truncation to milliseconds.
        ("2030-01-01T09:00:00.0009Z", "2030-01-01T09:00:00Z"),
    ],
)
async def test_end_date_not_before_start(
    client: httpx.AsyncClient, world: World, db: Database, start: str, end: str
) -> None:
    created_id(await create(client, world, valid_body(startDate=start, endDate=end)))
    assert await count_rows(db, "path_sessions") == 1


async def test_two_identical_requests_create_two_sessions(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    first = created_id(await create(client, world, valid_body()))
    second = created_id(await create(client, world, valid_body()))
    assert first != second
    assert await count_rows(db, "path_sessions") == 2
    assert await count_rows(db, "session_instructors") == 2
    assert await instructors(db, first) == [(world.instructor, 0)]
    assert await instructors(db, second) == [(world.instructor, 0)]


@pytest.mark.parametrize(
    "name",
    [
        "  Cohort 1 — été  ",
        "x",
        "x" * 1000,
        " " * 999 + "x",
        "<b>'\"&;--</b>",
        "a\nb\tc",
        "☃" * 1000,
    ],
    ids=[
        "padded-unicode",
        "one-char",
        "1000-chars",
        "spaces-then-x",
        "markup",
        "controls",
        "1000-snowmen",
    ],
)
async def test_session_name_stored_as_sent(
    client: httpx.AsyncClient, world: World, db: Database, name: str
) -> None:
    session_id = created_id(await create(client, world, valid_body(sessionName=name)))
    assert (await session_row(db, session_id))["name"] == name


@pytest.mark.parametrize(
    ("info", "stored"),
    [
        (ABSENT, None),
        (None, None),
        ("", ""),
        ("  REG 42 — é  ", "  REG 42 — é  "),
        ("x" * 10_000, "x" * 10_000),
    ],
    ids=["absent", "null", "empty", "padded-unicode", "10000-chars"],
)
async def test_additional_information_stored(
    client: httpx.AsyncClient, world: World, db: Database, info: Any, stored: str | None
) -> None:
    session_id = created_id(
        await create(client, world, valid_body(sessionAdditionalInformation=info))
    )
    assert (await session_row(db, session_id))["additional_information"] == stored


async def test_upper_case_path_and_group_ids_accepted(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    upper_path = world.path.upper()
    r = await create(
        client, world, valid_body(sessionOwnerGroup=world.sales_group.upper()), path_id=upper_path
    )
    row = await session_row(db, created_id(r))
    assert row["path_id"] == world.path
    assert row["owner_group_id"] == world.sales_group


async def test_archived_path_accepted(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    session_id = created_id(await create(client, world, valid_body(), path_id=world.archived_path))
    assert (await session_row(db, session_id))["path_id"] == world.archived_path


async def test_unknown_fields_ignored(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    body = valid_body(
        _id=UNKNOWN_ID,
        companyId=world.other_company,
        pathId=world.other_path,
        createdAt="2000-01-01T00:00:00Z",
        error="x",
        message="y",
        nested={"deep": [1, 2, None]},
    )
    session_id = created_id(await create(client, world, body))
    assert session_id != UNKNOWN_ID
    row = await session_row(db, session_id)
    assert (row["company_id"], row["path_id"]) == (world.company, world.path)


# --- The check table, row by row ---------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/paths//sessions/", "/api/v1/paths//sessions"])
async def test_row1_no_path_id(
    client: httpx.AsyncClient, world: World, db: Database, url: str
) -> None:
    r = await client.post(url, json=valid_body(), headers=world.headers)
    await assert_error(r, db, 404, "path_not_found")


@pytest.mark.parametrize(
    "path_id",
    [
        "123",
        "6c000000000000000000000",  # 23 hex
        "6c00000000000000000000011",  # 25 hex
        "6c000000000000000000000g",
        "zzzzzzzzzzzzzzzzzzzzzzzz",
        "6c0000000000000000000001x",
        "%20",
        "null",
        "undefined",
    ],
)
async def test_row2_malformed_path_id(
    client: httpx.AsyncClient, world: World, db: Database, path_id: str
) -> None:
    await assert_error(
        await create(client, world, valid_body(), path_id), db, 404, "path_not_found"
    )


@pytest.mark.parametrize(
    "path_id",
    [UNKNOWN_ID, "6c00000000000000000000ff", World.other_path, World.root_group, World.owner],
    ids=["unknown", "unknown-near", "other-company-path", "a-group-id", "a-user-id"],
)
async def test_row3_no_such_path(
    client: httpx.AsyncClient, world: World, db: Database, path_id: str
) -> None:
    await assert_error(
        await create(client, world, valid_body(), path_id), db, 404, "path_not_found"
    )


@pytest.mark.parametrize(
    "name",
    [
        ABSENT,
        None,
        123,
        0,
        True,
        [],
        ["Cohort"],
        {},
        "",
        "   ",
        "\t\n",
        "x" * 1001,
        " " * 1001,
        "Cohort\u00001",
    ],
    ids=[
        "missing",
        "null",
        "int",
        "zero",
        "bool",
        "empty-list",
        "list",
        "object",
        "empty",
        "blank",
        "whitespace",
        "1001-chars",
        "1001-spaces",
        "nul-character",
    ],
)
async def test_row4_invalid_session_name(
    client: httpx.AsyncClient, world: World, db: Database, name: Any
) -> None:
    r = await create(client, world, valid_body(sessionName=name))
    await assert_error(r, db, 400, "invalid_session_name")


BAD_DATES: list[tuple[str, Any]] = [
    ("empty", ""),
    ("int", 5),
    ("epoch-ms", 1_893_488_400_000),
    ("bool", True),
    ("list", ["2030-01-01T09:00:00Z"]),
    ("object", {}),
    ("feb-30", "2022-02-30T10:00:00Z"),
    ("feb-29-non-leap", "2023-02-29T10:00:00Z"),
    ("date-only", "2030-01-01"),
    ("no-seconds", "2030-01-01T09:00Z"),
    ("no-zone", "2030-01-01T09:00:00"),
    ("no-zone-fraction", "2030-01-01T09:00:00.000"),
    ("space-separator", "2030-01-01 09:00:00Z"),
    ("week-date", "2030-W01-2T09:00:00Z"),
    ("ordinal-date", "2030-001T09:00:00Z"),
    ("basic-format", "20300101T090000Z"),
    ("hour-24", "2030-01-01T24:00:00Z"),
    ("minute-60", "2030-01-01T09:60:00Z"),
    ("second-60", "2030-01-01T09:00:60Z"),
    ("offset-24", "2030-01-01T09:00:00+24:00"),
    ("offset-no-colon", "2030-01-01T09:00:00+0100"),
    ("empty-fraction", "2030-01-01T09:00:00.Z"),
    ("month-13", "2030-13-01T09:00:00Z"),
    ("year-0", "0000-01-01T09:00:00Z"),
    ("lower-case-z", "2030-01-01T09:00:00z"),
    ("trailing-newline", "2030-01-01T09:00:00Z\n"),
    ("surrounding-spaces", " 2030-01-01T09:00:00Z "),
    (
        "arabic-digits",
        "2030-01-01T09:00:00Z".translate({ord(d): 0x0660 + int(d) for d in "0123456789"}),
    ),
    ("text", "tomorrow"),
    ("rfc-2822", "Tue, 01 Jan 2030 09:00:00 GMT"),
]


@pytest.mark.parametrize(
    "start",
    [ABSENT, None, *(value for _, value in BAD_DATES)],
    ids=["missing", "null", *(name for name, _ in BAD_DATES)],
)
async def test_row5_invalid_start_date(
    client: httpx.AsyncClient, world: World, db: Database, start: Any
) -> None:
    r = await create(client, world, valid_body(startDate=start))
    await assert_error(r, db, 400, "invalid_start_date")


@pytest.mark.parametrize(
    "end", [value for _, value in BAD_DATES], ids=[name for name, _ in BAD_DATES]
)
async def test_row6_invalid_end_date(
    client: httpx.AsyncClient, world: World, db: Database, end: Any
) -> None:
    r = await create(client, world, valid_body(endDate=end))
    await assert_error(r, db, 400, "invalid_end_date")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2030-01-02T09:00:00Z", "2030-01-01T09:00:00Z"),
        ("2030-01-01T09:00:00.001Z", "2030-01-01T09:00:00.000Z"),
        # Earlier as instants although later as local times.
        ("2030-01-01T09:00:00Z", "2030-01-01T09:30:00+01:00"),
        ("2030-01-01T09:00:00-01:00", "2030-01-01T09:59:59Z"),
    ],
)
async def test_row7_end_before_start(
    client: httpx.AsyncClient, world: World, db: Database, start: str, end: str
) -> None:
    r = await create(client, world, valid_body(startDate=start, endDate=end))
    await assert_error(r, db, 400, "invalid_end_date")


@pytest.mark.parametrize(
    "group",
    [
        ABSENT,
        None,
        "",
        123,
        True,
        "xyz",
        "6a000000000000000000001",  # 23 hex
        "6a00000000000000000000011",  # 25 hex
        "6a000000000000000000000g",
        " 6a0000000000000000000001",
        "6a0000000000000000000001 ",
        ["6a0000000000000000000001"],
        {"_id": "6a0000000000000000000001"},
    ],
    ids=[
        "missing",
        "null",
        "empty",
        "int",
        "bool",
        "xyz",
        "23-hex",
        "25-hex",
        "non-hex",
        "leading-space",
        "trailing-space",
        "list",
        "object",
    ],
)
async def test_row8_invalid_session_owner_group(
    client: httpx.AsyncClient, world: World, db: Database, group: Any
) -> None:
    r = await create(client, world, valid_body(sessionOwnerGroup=group))
    await assert_error(r, db, 400, "invalid_session_owner_group")


@pytest.mark.parametrize(
    "group",
    [UNKNOWN_ID, World.other_group, World.other_group.upper(), World.path, World.owner],
    ids=["unknown", "other-company", "other-company-upper", "a-path-id", "a-user-id"],
)
async def test_row9_session_owner_group_not_found(
    client: httpx.AsyncClient, world: World, db: Database, group: str
) -> None:
    r = await create(client, world, valid_body(sessionOwnerGroup=group))
    await assert_error(r, db, 400, "session_owner_group_not_found")


@pytest.mark.parametrize(
    "mails",
    [None, World.instructor_mail, "", {}, {"0": World.instructor_mail}, 5, True],
    ids=["null", "string", "empty-string", "object", "index-object", "int", "bool"],
)
async def test_row10_instructors_not_an_array(
    client: httpx.AsyncClient, world: World, db: Database, mails: Any
) -> None:
    r = await create(client, world, valid_body(instructorsMails=mails))
    await assert_error(r, db, 400, "invalid_instructors")


@pytest.mark.parametrize(
    "mails",
    [
        ["not-an-email"],
        [""],
        ["   "],
        ["ines@acme"],
        ["ines@@acme.test"],
        ["Ines <ines@acme.test>"],
        [5],
        [None],
        [True],
        [[World.instructor_mail]],
        [{"mail": World.instructor_mail}],
        [World.instructor_mail, 5],
        [World.instructor_mail, "bad"],
        [f"{i}@acme.test" for i in range(101)],
        [f"trainer{i}@ACME.test" for i in range(101)]
        + [f" trainer{i}@acme.test " for i in range(5)],
    ],
    ids=[
        "no-at",
        "empty",
        "blank",
        "no-tld",
        "double-at",
        "display-name",
        "int",
        "null",
        "bool",
        "nested-list",
        "object",
        "valid-then-int",
        "valid-then-bad",
        "101-distinct",
        "101-distinct-with-duplicates",
    ],
)
async def test_row11_invalid_instructor_items(
    client: httpx.AsyncClient, world: World, db: Database, mails: list[Any]
) -> None:
    r = await create(client, world, valid_body(instructorsMails=mails))
    await assert_error(r, db, 400, "invalid_instructors")


async def test_row11_limit_counts_distinct_mails(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    # 100 distinct addresses (none of them users) in 150 items: past row 11, stopped at row 12.
    mails = [f"nobody{i}@acme.test" for i in range(100)]
    sent = mails + [m.upper() for m in mails[:50]]
    r = await create(client, world, valid_body(instructorsMails=sent))
    await assert_error(r, db, 400, "instructors_not_found")


@pytest.mark.parametrize(
    "mails",
    [
        ["nobody@acme.test"],
        [World.deleted_mail],
        [World.deleted_mail.upper()],
        [World.other_user_mail],
        ["owner@other.test"],
        [World.instructor_mail, "nobody@acme.test"],
        ["nobody@acme.test", World.instructor_mail],
        [World.instructor_mail, World.other_user_mail, World.second_instructor_mail],
    ],
    ids=[
        "unknown",
        "deleted-user",
        "deleted-user-upper",
        "other-company-user",
        "other-company-owner",
        "known-then-unknown",
        "unknown-then-known",
        "other-company-in-middle",
    ],
)
async def test_row12_instructors_not_found(
    client: httpx.AsyncClient, world: World, db: Database, mails: list[str]
) -> None:
    r = await create(client, world, valid_body(instructorsMails=mails))
    await assert_error(r, db, 400, "instructors_not_found")


@pytest.mark.parametrize(
    "info",
    [5, 0, True, False, [], ["REG-42"], {}, {"reg": "42"}, "x" * 10_001, "REG\u0000"],
    ids=[
        "int",
        "zero",
        "true",
        "false",
        "empty-list",
        "list",
        "object",
        "dict",
        "10001-chars",
        "nul-character",
    ],
)
async def test_row13_invalid_additional_information(
    client: httpx.AsyncClient, world: World, db: Database, info: Any
) -> None:
    r = await create(client, world, valid_body(sessionAdditionalInformation=info))
    await assert_error(r, db, 400, "invalid_session_additional_information")


# --- The order of the checks -----------------------------------------------------------------

ALL_BAD: dict[str, Any] = {
    "sessionName": "",
    "startDate": "bad",
    "endDate": "bad",
    "sessionOwnerGroup": "bad",
    "instructorsMails": "bad",
    "sessionAdditionalInformation": 5,
}


@pytest.mark.parametrize(
    ("path_id", "body", "status", "code"),
    [
        # Path checks (rows 1-3) come before the body, whether it is readable or not.
        ("", ALL_BAD, 404, "path_not_found"),
        ("not-an-id", ALL_BAD, 404, "path_not_found"),
        (UNKNOWN_ID, ALL_BAD, 404, "path_not_found"),
        (World.other_path, ALL_BAD, 404, "path_not_found"),
        ("", b"{not json", 404, "path_not_found"),
        ("not-an-id", b"[1, 2]", 404, "path_not_found"),
        (UNKNOWN_ID, b"{not json", 404, "path_not_found"),
        (World.other_path, b'"str"', 404, "path_not_found"),
        # An unreadable body comes right after the path checks, before row 4.
        (None, b"{not json", 400, "invalid_body"),
        (None, b"[]", 400, "invalid_body"),
        # Then the rows in order: the earliest failing row answers.
        (None, ALL_BAD, 400, "invalid_session_name"),
        (None, {**ALL_BAD, "sessionName": "ok"}, 400, "invalid_start_date"),
        (
            None,
            valid_body(startDate="bad", endDate="bad", sessionOwnerGroup="bad"),
            400,
            "invalid_start_date",
        ),
        (None, valid_body(startDate=ABSENT, endDate="bad"), 400, "invalid_start_date"),
        (None, valid_body(endDate="bad", sessionOwnerGroup="bad"), 400, "invalid_end_date"),
        (
            None,
            valid_body(endDate="2029-01-01T00:00:00Z", sessionOwnerGroup=UNKNOWN_ID),
            400,
            "invalid_end_date",
        ),
        (
            None,
            valid_body(sessionOwnerGroup="bad", instructorsMails=None),
            400,
            "invalid_session_owner_group",
        ),
        (
            None,
            valid_body(sessionOwnerGroup=UNKNOWN_ID, instructorsMails=None),
            400,
            "session_owner_group_not_found",
        ),
        (
            None,
            valid_body(sessionOwnerGroup=World.other_group, instructorsMails=["nobody@x.test"]),
            400,
            "session_owner_group_not_found",
        ),
        (
            None,
            valid_body(instructorsMails=None, sessionAdditionalInformation=5),
            400,
            "invalid_instructors",
        ),
        # Row 11 looks at every item before row 12 looks anything up.
        (
            None,
            valid_body(instructorsMails=["nobody@acme.test", "bad"]),
            400,
            "invalid_instructors",
        ),
        (
            None,
            valid_body(instructorsMails=[f"nobody{i}@acme.test" for i in range(101)]),
            400,
            "invalid_instructors",
        ),
        (
            None,
            valid_body(instructorsMails=["bad"], sessionAdditionalInformation=5),
            400,
            "invalid_instructors",
        ),
        (
            None,
            valid_body(instructorsMails=["nobody@acme.test"], sessionAdditionalInformation=5),
            400,
            "instructors_not_found",
        ),
    ],
    ids=[
        "empty-path+bad-fields",
        "malformed-path+bad-fields",
        "unknown-path+bad-fields",
        "foreign-path+bad-fields",
        "empty-path+unreadable",
        "malformed-path+json-array",
        "unknown-path+unreadable",
        "foreign-path+json-string",
        "unreadable",
        "json-array",
        "all-bad",
        "start+rest",
        "start+end+group",
        "missing-start+bad-end",
        "end+group",
        "end-before-start+unknown-group",
        "group+instructors",
        "unknown-group+instructors",
        "foreign-group+unknown-instructor",
        "instructors-null+info",
        "unknown-then-bad-instructor",
        "101-unknown-instructors",
        "bad-instructor+info",
        "unknown-instructor+info",
    ],
)
async def test_check_order(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    path_id: str | None,
    body: Any,
    status: int,
    code: str,
) -> None:
    url = world.sessions_url(path_id)
    if isinstance(body, bytes):
        r = await client.post(url, content=body, headers=world.headers)
    else:
        r = await client.post(url, json=body, headers=world.headers)
    await assert_error(r, db, status, code)


# --- Tenant isolation ------------------------------------------------------------------------


async def test_foreign_path_answers_like_a_missing_one(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    foreign = await create(client, world, valid_body(), path_id=world.other_path)
    missing = await create(client, world, valid_body(), path_id=UNKNOWN_ID)
    assert (foreign.status_code, foreign.content) == (missing.status_code, missing.content)
    # The request id differs by design: every answer carries its own.
    same = {k: v for k, v in foreign.headers.items() if k != "x-request-id"}
    assert same == {k: v for k, v in missing.headers.items() if k != "x-request-id"}
    assert foreign.headers.keys() == missing.headers.keys()
    await assert_error(foreign, db, 404, "path_not_found")


async def test_other_company_cannot_create_on_acme_path(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    other = {"X-company-id": world.other_company, "X-apiKey": world.other_key}
    body = valid_body(sessionOwnerGroup=world.other_group, instructorsMails=[])
    r = await client.post(world.sessions_url(world.path), json=body, headers=other)
    await assert_error(r, db, 404, "path_not_found")
    r = await client.post(world.sessions_url(world.archived_path), json=body, headers=other)
    await assert_error(r, db, 404, "path_not_found")


async def test_other_company_cannot_use_acme_group_or_users(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    other = {"X-company-id": world.other_company, "X-apiKey": world.other_key}
    url = world.sessions_url(world.other_path)
    r = await client.post(
        url, json=valid_body(sessionOwnerGroup=world.root_group, instructorsMails=[]), headers=other
    )
    await assert_error(r, db, 400, "session_owner_group_not_found")
    r = await client.post(
        url,
        json=valid_body(sessionOwnerGroup=world.other_group, instructorsMails=[world.owner_mail]),
        headers=other,
    )
    await assert_error(r, db, 400, "instructors_not_found")


async def test_other_company_gets_its_own_platform_owner(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    other = {"X-company-id": world.other_company, "X-apiKey": world.other_key}
    body = valid_body(sessionOwnerGroup=world.other_group, instructorsMails=ABSENT)
    r = await client.post(world.sessions_url(world.other_path), json=body, headers=other)
    session_id = created_id(r)
    row = await session_row(db, session_id)
    assert (row["company_id"], row["path_id"]) == (world.other_company, world.other_path)
    owner = await db.fetchone(
        "SELECT owner_user_id FROM companies WHERE id = ?", world.other_company
    )
    assert owner is not None
    assert owner[0] != world.owner
    assert await instructors(db, session_id) == [(str(owner[0]), 0)]
    # Its own users are found, case-insensitively.
    body = valid_body(sessionOwnerGroup=world.other_group, instructorsMails=["OLGA@other.test"])
    r = await client.post(world.sessions_url(world.other_path), json=body, headers=other)
    olga = await db.fetchone(
        "SELECT id FROM users WHERE company_id = ? AND mail_key = ?",
        world.other_company,
        world.other_user_mail,
    )
    assert olga is not None
    assert await instructors(db, created_id(r)) == [(str(olga[0]), 0)]
