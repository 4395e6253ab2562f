"""`pathsessions migrate`: bring the database schema to the current version."""

from __future__ import annotations

import argparse
from typing import Any

from ..settings import Settings
from ..storage import Database
from ..storage.migrate import current_version
from .common import add_command, run


def register(commands: Any) -> None:
    parser = add_command(commands, "migrate", "bring the database schema up to date")
    parser.set_defaults(run=main)


def main(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> int:
        return await current_version(db)

    version = run(settings, work)
    print(f"database schema at version {version}")
    return 0
