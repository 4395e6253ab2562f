"""`pathsessions load [--reset] [--quiet] [--secrets-file FILE] FILE`: load a fixture
document, all or nothing, with a progress bar on a terminal and a summary at the end."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..documents import YAML_SUFFIXES, DocumentError, parse_document
from ..loader import LoadReport, document_size, load_document
from ..settings import Settings
from ..storage import Database
from .common import CommandError, add_command, run


def register(commands: Any) -> None:
    parser = add_command(commands, "load", "load a fixture document (JSON), all or nothing")
    parser.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help="the JSON or YAML document to load (docs/fixtures.md)",
    )
    parser.add_argument(
        "--reset", action="store_true", help="first delete the companies the document names"
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print no progress, lines or summary: only errors, and generated API keys "
        "unless --secrets-file takes them",
    )
    parser.add_argument(
        "--secrets-file",
        type=Path,
        metavar="FILE",
        help="write the API keys the load generates to FILE (JSON, created with mode 0600) "
        "instead of printing them",
    )
    parser.set_defaults(run=main)


def read_document(file: Path) -> Any:
    """JSON or YAML: by the file's extension (`.json`, `.yaml`, `.yml`), else by its content."""
    suffix = file.suffix.lower()
    yaml_text = True if suffix in YAML_SUFFIXES else False if suffix == ".json" else None
    try:
        return parse_document(file.read_text(encoding="utf-8"), yaml_text=yaml_text)
    except OSError as error:
        raise CommandError(f"cannot read {file}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{file} is not UTF-8 text") from None
    except DocumentError as error:
        raise CommandError(f"{file} is {error}") from None


@contextlib.contextmanager
def progress_bar(total: int, quiet: bool) -> Iterator[Callable[[], None] | None]:
    """A bar on standard error while the document loads, when that is a terminal; nothing
    otherwise (a pipe, a file, a CI log), so that scripts read clean output."""
    console = Console(stderr=True)
    if quiet or total == 0 or not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("loading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("objects"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("load", total=total)
        yield lambda: progress.advance(task)


@contextlib.contextmanager
def secrets_file(path: Path | None) -> Iterator[int | None]:
    """The file for generated keys, opened before the load (so a bad path stops us before
    anything changes) with mode 0600; removed again if we made it and the load fails."""
    if path is None:
        yield None
        return
    existed = path.exists()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror}") from None
    try:
        yield fd
    except BaseException:
        if not existed:
            path.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


def generated(report: LoadReport) -> list[dict[str, str]]:
    """The generated API keys, then the v2 credentials given a generated secret."""
    keys = [
        {"document": f"companies[{i}]", "company": company_id, "apiKey": key}
        for i, company_id in enumerate(report.company_ids)
        if (key := report.generated_keys.get(company_id)) is not None
    ]
    return keys + report.generated_credentials


def secrets_block(keys: list[dict[str, str]]) -> str:
    """The generated keys, framed, after everything else: the last thing on the screen. A
    credential's row has its client id before its secret."""
    title = "New API keys, shown only this once (only their hashes are stored): keep them now."
    rows = ["  " + "  ".join(k.values()) for k in keys]
    rule = "=" * max(len(line) for line in [title, *rows])
    return "\n".join(["", rule, title, *rows, rule])


def main(args: argparse.Namespace, settings: Settings) -> int:
    document = read_document(args.file)
    with secrets_file(args.secrets_file) as fd:
        with progress_bar(document_size(document), args.quiet) as tick:

            async def work(db: Database) -> LoadReport:
                return await load_document(db, document, reset=args.reset, progress=tick)

            report = run(settings, work)
        keys = generated(report)
        if fd is not None:
            os.ftruncate(fd, 0)
            os.write(fd, (json.dumps(keys, indent=2) + "\n").encode())
    if not args.quiet:
        for line in report.lines:
            print(line)
        print(report.summary)
        if args.secrets_file is not None:
            print(f"{len(keys)} new API key(s) written to {args.secrets_file}")
    if keys and args.secrets_file is None:
        print(secrets_block(keys))
    sys.stdout.flush()
    return 0
