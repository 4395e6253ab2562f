"""The `pathsessions` command: one small module per command group."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..settings import SettingsError, load_settings, unknown_variable_warnings
from . import company, credential, demo, export, group, key, load, migrate, path, serve, user
from .common import CommandError

COMMANDS = [serve, migrate, load, company, key, credential, group, user, path, demo, export]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pathsessions",
        description="A server for the 360Learning v1 path-sessions API. Settings come from "
        "PATHSESSIONS_* environment variables (see docs/configuration.md).",
        epilog="Exit status: 0 done, 1 error, 2 usage mistake, 130 interrupted.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"pathsessions {__version__}",
        help="print the version and exit",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for warning in unknown_variable_warnings():
        print(f"warning: {warning}", file=sys.stderr)
    try:
        settings = load_settings()
        result: int = args.run(args, settings)
    except (CommandError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        # A database error's text can quote SQL or row values: name only its type.
        print(f"error: unexpected {type(error).__name__}", file=sys.stderr)
        return 1
    return result
