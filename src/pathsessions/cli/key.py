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
from .common import add_actions, add_command, company_argument, emit, json_argument, run


def register(commands: Any) -> None:
    actions = add_actions(add_command(commands, "key", "create, revoke and list API keys"))
    create = add_command(actions, "create", "create an API key and print it, only this once")
    company_argument(create)
    create.add_argument("--label", default="", help="a note to tell keys apart in key list")
    json_argument(create)
    create.set_defaults(run=create_main)
    revoke = add_command(actions, "revoke", "revoke an API key: it stops working at once")
    company_argument(revoke)
    revoke.add_argument("key_id", metavar="KEY_ID", help="the key's id (from key list)")
    revoke.set_defaults(run=revoke_main)
    listing = add_command(actions, "list", "list a company's API keys (their ids, never the keys)")
    company_argument(listing)
    json_argument(listing)
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
