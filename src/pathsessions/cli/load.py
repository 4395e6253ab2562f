"""`pathsessions load [--reset] FILE`: load a fixture document, all or nothing."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..loader import LoadReport, load_document
from ..settings import Settings
from ..storage import Database
from .common import CommandError, add_command, run


def register(commands: Any) -> None:
    parser = add_command(commands, "load", "load a fixture document (JSON), all or nothing")
    parser.add_argument(
        "file", type=Path, metavar="FILE", help="the JSON document (docs/fixtures.md)"
    )
    parser.add_argument(
        "--reset", action="store_true", help="first delete the companies the document names"
    )
    parser.set_defaults(run=main)


def read_document(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise CommandError(f"cannot read {file}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CommandError(f"{file} is not a JSON document: {error}") from None


def main(args: argparse.Namespace, settings: Settings) -> int:
    document = read_document(args.file)

    async def work(db: Database) -> LoadReport:
        return await load_document(db, document, reset=args.reset)

    report = run(settings, work)
    for line in report.lines:
        print(line)
    return 0
