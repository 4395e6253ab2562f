"""The v1 full list is encoded from its rows, without a record per session (docs/performance.md,
"The listing"): its body must stay byte for byte what encoding each session's record gave, for
awkward data too, through the real app on both backends.

The reference is built here from each session as a get-by-id reads it (`get_session`, the
record and its instructors through the join to `users`) and `session_item`, the v1 shape the
detail shares, encoded by msgspec as every other v1 answer is.
"""

from __future__ import annotations

import httpx
import msgspec
import pytest

from pathsessions.api.v1.views import session_item
from pathsessions.storage import Database
from pathsessions.storage import sessions as store
from pathsessions.storage.database import SESSION_SLICE, stream_batch
from support import World

LIST_URL = "/api/v1/paths/sessions"

# Strings JSON must escape or carry as they are: quotes and backslashes, every control
# character, DEL, non-ASCII letters, a character outside the BMP, the line and paragraph
# separators, a byte-order mark, a slash, an empty string.
AWKWARD = [
    'Say "hi" \\ back',
    "".join(chr(c) for c in range(1, 32)) + "\x7f",
    "Éducation à l'œuvre — 研修",
    "emoji 😀 and \u2028 \u2029 \ufeff / </script>",
    "",
    "tab\there\nnewline\rreturn",
]
# Dates in milliseconds: before 1970, the first and last instants of the years allowed, whole
# seconds, odd milliseconds.
DATES = [
    -1,
    -86_400_001,
    -62_135_596_800_000,
    0,
    253_402_300_799_999,
    1_893_456_000_000,
    1_700_000_000_123,
]


def session_id(i: int) -> str:
    return f"6d{i:022x}"


async def seed(db: Database, world: World, count: int, nul: bool) -> list[str]:
    """`count` sessions straight into the tables, with awkward names, texts, dates and
    instructors (none, one, twelve, with gaps in their positions)."""
    users = [(f"6e{i:022x}", f'teach.{i}+"x"@éxample.test') for i in range(12)]
    await db.executemany(
        "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
        " created_at) VALUES (?, ?, ?, ?, 'T', 'Eacher', 'active', 0)",
        [(user_id, world.company, mail, mail) for user_id, mail in users],
    )
    texts = AWKWARD + (["nul\x00inside"] if nul else [])
    rows = []
    instructors = []
    ids = [session_id(i) for i in range(count)]
    for i, sid in enumerate(ids):
        created = DATES[i % len(DATES)]
        rows.append(
            (
                sid,
                world.company,
                world.path,
                texts[i % len(texts)] + f" {i}",
                DATES[(i + 1) % len(DATES)],
                None if i % 3 == 0 else DATES[(i + 2) % len(DATES)],
                world.root_group,
                None if i % 4 == 0 else texts[(i + 1) % len(texts)],
                created,
                created if i % 2 else DATES[(i + 3) % len(DATES)],
            )
        )
        if i % 5 == 1:
            instructors.append((sid, 0, users[i % 12][0]))
        elif i % 5 == 2:
            instructors += [(sid, position * 3, user[0]) for position, user in enumerate(users)]
    await db.executemany(
        "INSERT INTO path_sessions (id, company_id, path_id, name, start_date, end_date,"
        " owner_group_id, additional_information, created_at, modified_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    await db.executemany(
        "INSERT INTO session_instructors (session_id, position, user_id) VALUES (?, ?, ?)",
        instructors,
    )
    return ids


async def reference(db: Database, world: World) -> bytes:
    """The body as records encoded one by one would make it, in id order."""
    rows = await db.fetchall(
        "SELECT id FROM path_sessions WHERE company_id = ? ORDER BY id", world.company
    )
    items = []
    for (sid,) in rows:
        session = await store.get_session(db, world.company, str(sid))
        assert session is not None
        items.append(msgspec.json.encode(session_item(session)))
    return b"[" + b",".join(items) + b"]"


async def test_the_list_is_byte_for_byte_the_records_encoded(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    # More than a query's batch, and not a whole number of slices: every boundary is crossed.
    count = stream_batch(db, SESSION_SLICE) + SESSION_SLICE + 7
    await seed(db, world, count, nul=db.dialect == "sqlite")
    r = await client.get(LIST_URL, headers=world.headers)
    assert r.status_code == 200
    expected = await reference(db, world)
    assert r.content == expected
    listed = msgspec.json.decode(r.content)
    assert len(listed) == len(await world_sessions(db, world)) >= count
    # The awkward parts are really in it, not escaped away on both sides alike.
    assert b'\\"hi\\" \\\\ back' in r.content
    assert b"\\u0001\\u0002" in r.content
    assert b"\\b\\t\\n\\u000b\\f\\r" in r.content
    assert "Éducation à l'œuvre — 研修".encode() in r.content
    assert b'"0001-01-01T00:00:00.000Z"' in r.content
    assert b'"9999-12-31T23:59:59.999Z"' in r.content
    assert b'"1969-12-31T23:59:59.999Z"' in r.content
    assert b'"endDate":null' in r.content
    assert b'"sessionAdditionalInformation":null' in r.content
    assert b'"instructorsMails":[]' in r.content
    twelve = [item for item in listed if len(item["instructorsMails"]) == 12]
    assert twelve
    assert twelve[0]["instructorsMails"][11] == 'teach.11+"x"@éxample.test'


async def world_sessions(db: Database, world: World) -> list[str]:
    rows = await db.fetchall("SELECT id FROM path_sessions WHERE company_id = ?", world.company)
    return [str(row[0]) for row in rows]


async def test_an_empty_list_and_a_list_of_one(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await db.execute("DELETE FROM path_sessions WHERE company_id = ?", world.company)
    r = await client.get(LIST_URL, headers=world.headers)
    assert r.content == b"[]"
    await seed(db, world, 1, nul=False)
    r = await client.get(LIST_URL, headers=world.headers)
    assert r.content == await reference(db, world)
    assert r.content.startswith(b'[{"sessionName":')
    assert r.content.endswith(b"}]")


@pytest.mark.parametrize("per_session", [1, 12])
async def test_other_companies_sessions_between_ours_are_left_out(
    client: httpx.AsyncClient, world: World, db: Database, per_session: int
) -> None:
    """Instructors are read by the range of a batch's ids, which other companies' sessions
    share (ids are global); with many instructors a session, by the ids one by one. Both
    ways, the list holds exactly the company's own."""
    await db.execute("DELETE FROM path_sessions WHERE company_id = ?", world.company)
    ours: list[str] = []
    theirs: list[str] = []
    for i in range(2 * (stream_batch(db, SESSION_SLICE) + 3)):
        (ours if i % 2 == 0 else theirs).append(session_id(i))
    for company, path, group, ids in (
        (world.company, world.path, world.root_group, ours),
        (world.other_company, world.other_path, world.other_group, theirs),
    ):
        users = [(f"6f{company[-4:]}{k:018x}", f"i{k}@{company[-4:]}.test") for k in range(12)]
        await db.executemany(
            "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name, status,"
            " created_at) VALUES (?, ?, ?, ?, 'I', 'N', 'active', 0)",
            [(user_id, company, mail, mail) for user_id, mail in users],
        )
        await db.executemany(
            "INSERT INTO path_sessions (id, company_id, path_id, name, start_date, end_date,"
            " owner_group_id, additional_information, created_at, modified_at)"
            " VALUES (?, ?, ?, ?, 0, NULL, ?, NULL, 0, 0)",
            [(sid, company, path, f"S {sid}", group) for sid in ids],
        )
        await db.executemany(
            "INSERT INTO session_instructors (session_id, position, user_id) VALUES (?, ?, ?)",
            [
                (sid, position, users[(k + position) % 12][0])
                for k, sid in enumerate(ids)
                for position in range(per_session)
            ],
        )
    r = await client.get(LIST_URL, headers=world.headers)
    assert r.content == await reference(db, world)
    listed = msgspec.json.decode(r.content)
    assert [item["sessionId"] for item in listed] == ours
    assert all(len(item["instructorsMails"]) == per_session for item in listed)
    assert all(
        mail.endswith(f"@{world.company[-4:]}.test") for mail in listed[0]["instructorsMails"]
    )
