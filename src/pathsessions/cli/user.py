"""`pathsessions user add`: add a user, with roles in groups, to a company."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import operators
from ..core.clock import SYSTEM_CLOCK
from ..settings import Settings
from ..storage import Database
from .common import CommandError, company_argument, run


def register(commands: Any) -> None:
    parser = commands.add_parser("user", help="add users")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user; prints its id")
    company_argument(add)
    add.add_argument("--mail", required=True, metavar="EMAIL")
    add.add_argument("--first-name", default="")
    add.add_argument("--last-name", default="")
    add.add_argument("--status", default="active", choices=operators.USER_STATUSES)
    add.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="GROUP_ID=ROLE",
        help=f"a role in a group ({', '.join(operators.ROLES)}); repeatable",
    )
    add.set_defaults(run=add_main)


def add_main(args: argparse.Namespace, settings: Settings) -> int:
    roles: dict[str, str] = {}
    for item in args.role:
        group_id, sep, role = item.partition("=")
        if not sep:
            raise CommandError(f"--role takes GROUP_ID=ROLE, not {item!r}")
        roles[group_id] = role

    async def work(db: Database) -> str:
        return await operators.add_user(
            db,
            SYSTEM_CLOCK,
            args.company,
            args.mail,
            args.first_name,
            args.last_name,
            args.status,
            roles,
        )

    print(run(settings, work))
    return 0
