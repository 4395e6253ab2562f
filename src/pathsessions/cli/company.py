"""`pathsessions company create|list`."""

from __future__ import annotations

import argparse
from typing import Any

from .. import admin
from ..settings import Settings
from ..storage import Database
from ..storage import admin as q
from .common import emit, run


def register(commands: Any) -> None:
    parser = commands.add_parser("company", help="create and list companies")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a company, its owner and a first API key")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--owner",
        required=True,
        metavar="EMAIL",
        help="e-mail of the platform owner (created as a user)",
    )
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(run=create_main)
    listing = actions.add_parser("list", help="list the companies")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=list_main)


def create_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> tuple[str, admin.NewKey]:
        return await admin.create_company(db, args.name, args.owner)

    company_id, key = run(settings, work)
    emit({"company": company_id, "apiKeyId": key.id, "apiKey": key.key}, args.json)
    if not args.json:
        print("The API key is shown only this once: keep it now.")
    return 0


def list_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> list[dict[str, Any]]:
        rows = await q.list_companies(db)
        return [{"id": r[0], "name": r[1], "ownerUserId": r[2]} for r in rows]

    emit(run(settings, work), args.json)
    return 0
