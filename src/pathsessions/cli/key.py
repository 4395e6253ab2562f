"""`pathsessions key create|revoke|list`: a company's API keys (at most 25 active)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import admin
from ..domain import format_date
from ..settings import Settings
from ..storage import Database
from ..storage import admin as q
from .common import company_argument, emit, run


def register(commands: Any) -> None:
    parser = commands.add_parser("key", help="create, revoke and list API keys")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create an API key (shown once)")
    company_argument(create)
    create.add_argument("--label", default="", help="a note to tell keys apart")
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(run=create_main)
    revoke = actions.add_parser("revoke", help="revoke an API key; it stops working at once")
    company_argument(revoke)
    revoke.add_argument("key_id", metavar="KEY_ID", help="the key's id (from key list)")
    revoke.set_defaults(run=revoke_main)
    listing = actions.add_parser("list", help="list a company's API keys (never the keys)")
    company_argument(listing)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=list_main)


def create_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> admin.NewKey:
        return await admin.create_key(db, args.company, args.label)

    key = run(settings, work)
    emit({"apiKeyId": key.id, "apiKey": key.key}, args.json)
    return 0


def revoke_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> None:
        await admin.revoke_key(db, args.company, args.key_id)

    run(settings, work)
    print(f"revoked {args.key_id}")
    return 0


def list_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> list[dict[str, Any]]:
        company_id = await admin.require_company(db, args.company)
        return [
            {
                "id": r[0],
                "label": r[1],
                "createdAt": format_date(r[2]),
                "revokedAt": None if r[3] is None else format_date(r[3]),
            }
            for r in await q.list_keys(db, company_id)
        ]

    emit(run(settings, work), args.json)
    return 0
