"""`pathsessions user add`: add a user, with roles in groups, to a company."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import operators
from ..core.clock import SYSTEM_CLOCK
from ..settings import Settings
from ..storage import Database
from .common import add_actions, add_command, company_argument, run


def register(commands: Any) -> None:
    actions = add_actions(add_command(commands, "user", "add users to a company"))
    add = add_command(actions, "add", "add a user to a company and print its id")
    company_argument(add)
    add.add_argument("--mail", required=True, metavar="EMAIL", help="the user's e-mail address")
    add.add_argument("--first-name", default="", metavar="F", help="first name (default: empty)")
    add.add_argument("--last-name", default="", metavar="L", help="last name (default: empty)")
    add.add_argument(
        "--status",
        default="active",
        choices=operators.USER_STATUSES,
        help="%(choices)s (default: %(default)s)",
    )
    add.add_argument(
        "--role",
        action="append",
        default=[],
        type=group_role,
        metavar="GROUP_ID=ROLE",
        help=f"a role in a group ({', '.join(operators.ROLES)}); repeat for several groups",
    )
    add.set_defaults(run=add_main)


def group_role(item: str) -> tuple[str, str]:
    group_id, sep, role = item.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"takes GROUP_ID=ROLE, not {item!r}")
    return group_id, role


def add_main(args: argparse.Namespace, settings: Settings) -> int:
    roles: dict[str, str] = dict(args.role)

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
