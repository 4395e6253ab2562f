"""What every command shares: opening the database at the current schema, reporting errors."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..core.operators import OperatorError
from ..loader import FixtureError
from ..settings import Settings
from ..storage import Database, DatabaseUnavailable, SchemaTooNewError, migrate, open_database

T = TypeVar("T")


class CommandError(Exception):
    """Printed as `error: <message>`; the command exits with status 1."""


async def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    try:
        db = await open_database(
            settings.database_url,
            sqlite_synchronous=settings.sqlite_synchronous,
            pg_pool_size=2,
        )
    except DatabaseUnavailable as exc:
        raise CommandError(str(exc)) from None
    except Exception as exc:
        raise CommandError(f"cannot open the database ({type(exc).__name__})") from None
    try:
        await migrate(db)
        return await work(db)
    except (OperatorError, FixtureError, SchemaTooNewError) as error:
        raise CommandError(str(error)) from None
    finally:
        await db.close()


def run(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database (migrating it first), run `work` on it, close it."""
    return asyncio.run(_with_database(settings, work))


def emit(value: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(value, indent=2))
    elif isinstance(value, dict):
        for k, v in value.items():
            print(f"{k}: {v}")
    else:
        for item in value:
            print("  ".join(str(v) for v in item.values()))
    sys.stdout.flush()


def add_command(commands: Any, name: str, summary: str) -> argparse.ArgumentParser:
    """A sub-command with its one-line summary: listed in its parent's help, and atop its own."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=summary[0].upper() + summary[1:] + "."
    )
    return parser


def add_actions(parser: argparse.ArgumentParser) -> Any:
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION")


def json_argument(parser: Any) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")


def company_argument(parser: Any) -> None:
    parser.add_argument("--company", required=True, metavar="ID", help="the company's id")
