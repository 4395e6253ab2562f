"""`pathsessions path add`: add a path to a company."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import operators
from ..core.clock import SYSTEM_CLOCK
from ..settings import Settings
from ..storage import Database
from .common import add_actions, add_command, company_argument, run


def register(commands: Any) -> None:
    actions = add_actions(add_command(commands, "path", "add paths to a company"))
    add = add_command(actions, "add", "add a path to a company and print its id")
    company_argument(add)
    add.add_argument("--name", required=True, help="the path's name (not blank)")
    add.add_argument(
        "--group", required=True, metavar="GROUP_ID", help="the group that owns the path"
    )
    add.add_argument(
        "--status",
        default="published",
        choices=operators.PATH_STATUSES,
        help="%(choices)s (default: %(default)s)",
    )
    add.set_defaults(run=add_main)


def add_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> str:
        return await operators.add_path(
            db, SYSTEM_CLOCK, args.company, args.name, args.group, args.status
        )

    print(run(settings, work))
    return 0
