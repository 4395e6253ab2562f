"""`pathsessions credential create|revoke|list`: a company's v2 API credentials (at most 10
active), each a client id, a secret and the scopes it grants."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import operators
from ..core.clock import SYSTEM_CLOCK
from ..core.keys import SCOPES
from ..core.model import NewCredential
from ..core.values import format_date
from ..settings import Settings
from ..storage import Database
from .common import add_actions, add_command, company_argument, emit, json_argument, run


def register(commands: Any) -> None:
    actions = add_actions(
        add_command(commands, "credential", "create, revoke and list v2 API credentials")
    )
    create = add_command(
        actions, "create", "create a v2 API credential and print its secret, only this once"
    )
    company_argument(create)
    create.add_argument(
        "--name", required=True, help="a name to tell credentials apart (unique among active ones)"
    )
    create.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        required=True,
        choices=SCOPES,
        metavar="SCOPE",
        help=f"a scope the credential grants; repeat for more ({', '.join(SCOPES)})",
    )
    json_argument(create)
    create.set_defaults(run=create_main)
    revoke = add_command(
        actions, "revoke", "revoke a v2 API credential: it and its tokens stop working at once"
    )
    company_argument(revoke)
    revoke.add_argument(
        "--client-id", required=True, metavar="CLIENT_ID", help="the credential's client id"
    )
    revoke.set_defaults(run=revoke_main)
    listing = add_command(
        actions, "list", "list a company's v2 API credentials (never their secrets)"
    )
    company_argument(listing)
    json_argument(listing)
    listing.set_defaults(run=list_main)


def create_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> NewCredential:
        return await operators.create_credential(
            db, SYSTEM_CLOCK, args.company, args.name, args.scopes
        )

    made = run(settings, work)
    emit(
        {
            "clientId": made.client_id,
            "clientSecret": made.client_secret,
            "name": made.name,
            "scopes": " ".join(made.scopes) if not args.json else list(made.scopes),
        },
        args.json,
    )
    if not args.json:
        print("The client secret is shown only this once: keep it now.")
    return 0


def revoke_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> None:
        await operators.revoke_credential(db, SYSTEM_CLOCK, args.company, args.client_id)

    run(settings, work)
    print(f"revoked {args.client_id}")
    return 0


def list_main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> list[dict[str, Any]]:
        return [
            {
                "clientId": c.client_id,
                "name": c.name,
                "scopes": list(c.scopes) if args.json else " ".join(c.scopes),
                "createdAt": format_date(c.created_at),
                "revokedAt": None if c.revoked_at is None else format_date(c.revoked_at),
            }
            for c in await operators.list_credentials(db, args.company)
        ]

    emit(run(settings, work), args.json)
    return 0
