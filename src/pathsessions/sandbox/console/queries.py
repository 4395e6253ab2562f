"""What the console shows that no API lists: sessions found by a part of their name, and the
e-mail addresses of the learners on a page. Reads only; in id order, by keyset, like every
list of the API (storage/listing.py)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from ...storage import Database


class FoundSession(msgspec.Struct, frozen=True):
    id: str
    path_id: str
    path_name: str
    name: str
    start_date: int
    end_date: int | None


def _like(text: str) -> str:
    """`%text%`, with LIKE's wildcards in `text` taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_sessions(
    db: Database,
    company_id: str,
    *,
    name: str | None,
    path_id: str | None,
    start_from: int | None,
    start_before: int | None,
    after: str | None,
    limit: int,
) -> tuple[list[FoundSession], str | None]:
    """A page of the company's sessions whose name contains `name` (any case), of one path,
    starting in [start_from, start_before); and the id to start the next page after."""
    sql = (
        "SELECT s.id, s.path_id, p.name, s.name, s.start_date, s.end_date"
        " FROM path_sessions s JOIN paths p ON p.id = s.path_id WHERE s.company_id = ?"
    )
    args: list[object] = [company_id]
    if name:
        sql += " AND LOWER(s.name) LIKE ? ESCAPE '\\'"
        args.append(_like(name))
    if path_id is not None:
        sql += " AND s.path_id = ?"
        args.append(path_id)
    if start_from is not None:
        sql += " AND s.start_date >= ?"
        args.append(start_from)
    if start_before is not None:
        sql += " AND s.start_date < ?"
        args.append(start_before)
    if after is not None:
        sql += " AND s.id > ?"
        args.append(after)
    sql += " ORDER BY s.id LIMIT ?"
    args.append(limit + 1)
    rows = await db.fetchall(sql, *args)
    found = [
        FoundSession(r[0], r[1], r[2], r[3], int(r[4]), None if r[5] is None else int(r[5]))
        for r in rows[:limit]
    ]
    return found, (found[-1].id if len(rows) > limit else None)


async def user_mails(db: Database, company_id: str, user_ids: Sequence[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    rows = await db.fetchall(
        f"SELECT id, mail FROM users WHERE company_id = ? AND {db.any_of('id')}",
        company_id,
        db.array(list(dict.fromkeys(user_ids))),
    )
    return {r[0]: r[1] for r in rows}
