"""`pathsessions company create|list`."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import operators
from ..core.clock import SYSTEM_CLOCK
from ..core.model import NewKey
from ..settings import Settings
from ..storage import Database
from .common import add_actions, add_command, emit, json_argument, run


def register(commands: Any) -> None:
    actions = add_actions(add_command(commands, "company", "create and list companies"))
    create = add_command(actions, "create", "create a company, its owner and a first API key")
    create.add_argument(
        "--name", required=True, help="the company's name (unique; surrounding spaces trimmed)"
    )
    create.add_argument(
        "--owner",
        required=True,
        metavar="EMAIL",
        help="e-mail of the platform owner (created as a user)",
    )
    json_argument(create)
    create.set_defaults(run=create_main)
    listing = add_command(actions, "list", "list the companies by name")
    json_argument(listing)
    listing.set_defaults(run=list_main)


def create_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> tuple[str, NewKey]:
        return await operators.create_company(db, SYSTEM_CLOCK, args.name, args.owner)

    company_id, key = run(settings, work)
    emit({"company": company_id, "apiKeyId": key.id, "apiKey": key.key}, args.json)
    if not args.json:
        print("The API key is shown only this once: keep it now.")
    return 0


def list_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> list[dict[str, Any]]:
        companies = await operators.list_companies(db)
        return [{"id": c.id, "name": c.name, "ownerUserId": c.owner_user_id} for c in companies]

    emit(run(settings, work), args.json)
    return 0
