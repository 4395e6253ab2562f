"""`pathsessions key create|revoke|list`: a company's API keys (at most 25 active)."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import operators
from ..core.clock import SYSTEM_CLOCK
from ..core.model import NewKey
from ..core.values import format_date
from ..settings import Settings
from ..storage import Database
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
    async def work(db: Database) -> NewKey:
        return await operators.create_key(db, SYSTEM_CLOCK, args.company, args.label)

    key = run(settings, work)
    emit({"apiKeyId": key.id, "apiKey": key.key}, args.json)
    return 0


def revoke_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> None:
        await operators.revoke_key(db, SYSTEM_CLOCK, args.company, args.key_id)

    run(settings, work)
    print(f"revoked {args.key_id}")
    return 0


def list_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> list[dict[str, Any]]:
        return [
            {
                "id": k.id,
                "label": k.label,
                "createdAt": format_date(k.created_at),
                "revokedAt": None if k.revoked_at is None else format_date(k.revoked_at),
            }
            for k in await operators.list_keys(db, args.company)
        ]

    emit(run(settings, work), args.json)
    return 0
