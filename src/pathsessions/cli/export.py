"""`pathsessions export sessions|enrollments --company ID [--format csv|json] [--output FILE]`:
a company's sessions or enrollments as CSV or JSON Lines, streamed from the database to
standard output or a file (docs/sandbox.md, "Exports"; the format is core/exports.py)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, BinaryIO

from ..core import exports
from ..core.values import is_object_id
from ..settings import Settings
from ..storage import Database
from ..storage import companies as company_store
from .common import CommandError, add_command, company_argument, run


def register(commands: Any) -> None:
    parser = add_command(
        commands, "export", "write a company's sessions or enrollments as CSV or JSON Lines"
    )
    parser.add_argument("what", choices=tuple(exports.EXPORTS), help="what to export: %(choices)s")
    company_argument(parser)
    parser.add_argument(
        "--format",
        default="csv",
        choices=exports.FORMATS,
        help="csv (RFC 4180) or json (JSON Lines: one object a line) (default: %(default)s)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write to FILE (replaced if it exists) instead of standard output",
    )
    parser.set_defaults(run=main)


def main(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.admin_token:
        # As /__admin/ exists only with the admin token: the exports are the sandbox's.
        raise CommandError("export needs the sandbox: set PATHSESSIONS_ADMIN_TOKEN")
    export = exports.EXPORTS[args.what]
    company_id = args.company.lower()

    async def work(db: Database) -> None:
        if not is_object_id(company_id) or await company_store.get_company(db, company_id) is None:
            raise CommandError(f"no company {args.company}")
        if args.output is None:
            sys.stdout.flush()
            await _write(exports.chunks(export, args.format, db, company_id), _stdout())
            return
        try:
            out = args.output.open("wb")
        except OSError as error:
            raise CommandError(f"cannot write {args.output}: {error.strerror}") from None
        try:
            with out:
                await _write(exports.chunks(export, args.format, db, company_id), out)
        except BaseException:
            # Half a file must not pass for an export.
            with contextlib.suppress(OSError):
                args.output.unlink()
            raise

    run(settings, work)
    return 0


def _stdout() -> BinaryIO:
    # Bytes, so that CSV's CRLF reaches the file unchanged on every platform.
    buffer: BinaryIO | None = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        raise CommandError("standard output takes no bytes: use --output FILE")
    return buffer


async def _write(chunks: Any, out: BinaryIO) -> None:
    async for chunk in chunks:
        out.write(chunk)
    out.flush()
