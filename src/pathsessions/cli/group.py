"""`pathsessions group add`: add a group to a company."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import operators
from ..core.clock import SYSTEM_CLOCK
from ..settings import Settings
from ..storage import Database
from .common import add_actions, add_command, company_argument, run


def register(commands: Any) -> None:
    actions = add_actions(add_command(commands, "group", "add groups to a company"))
    add = add_command(actions, "add", "add a group to a company and print its id")
    company_argument(add)
    add.add_argument("--name", required=True, help="the group's name (not blank)")
    add.add_argument("--public", action="store_true", help="make the group public")
    add.add_argument(
        "--parent", metavar="GROUP_ID", help="the parent group (default: none, a root group)"
    )
    add.set_defaults(run=add_main)


def add_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> str:
        return await operators.add_group(
            db, SYSTEM_CLOCK, args.company, args.name, args.public, args.parent
        )

    print(run(settings, work))
    return 0
