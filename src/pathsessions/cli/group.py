"""`pathsessions group add`: add a group to a company."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import operators
from ..core.clock import SYSTEM_CLOCK
from ..settings import Settings
from ..storage import Database
from .common import company_argument, run


def register(commands: Any) -> None:
    parser = commands.add_parser("group", help="add groups")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a group; prints its id")
    company_argument(add)
    add.add_argument("--name", required=True)
    add.add_argument("--public", action="store_true", help="a public group")
    add.add_argument("--parent", metavar="GROUP_ID", help="the parent group")
    add.set_defaults(run=add_main)


def add_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> str:
        return await operators.add_group(
            db, SYSTEM_CLOCK, args.company, args.name, args.public, args.parent
        )

    print(run(settings, work))
    return 0
