"""`pathsessions serve [--host H] [--port P] [--workers N]`: serve the API."""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import uvicorn

from ..settings import PREFIX, Settings, require_token_secret
from ..storage import Database
from ..storage.migrate import current_version
from ..web.logs import configure_logging
from .common import run


def register(commands: Any) -> None:
    parser = commands.add_parser("serve", help="serve the API")
    add_server_arguments(parser)
    parser.set_defaults(run=main)


def add_server_arguments(parser: Any) -> None:
    parser.add_argument("--host", help="address to listen on (default: PATHSESSIONS_HOST)")
    parser.add_argument("--port", type=int, help="port (default: PATHSESSIONS_PORT)")
    parser.add_argument(
        "--workers", type=int, help="worker processes (default: PATHSESSIONS_WORKERS)"
    )


def server_settings(args: argparse.Namespace, settings: Settings) -> Settings:
    return replace(
        settings,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
    )


def main(args: argparse.Namespace, settings: Settings) -> int:
    settings = server_settings(args, settings)
    require_token_secret(settings)
    configure_logging(settings.log_level)

    async def work(db: Database) -> int:
        return await current_version(db)

    # Migrate once here, before any worker starts, so a schema problem stops us right away.
    run(settings, work)
    # Worker processes build their own settings from the environment: hand them ours.
    os.environ[PREFIX + "HOST"] = settings.host
    os.environ[PREFIX + "PORT"] = str(settings.port)
    os.environ[PREFIX + "TOKEN_SECRET"] = settings.token_secret
    with _shared_limits(settings):
        uvicorn.run(
            "pathsessions.app:app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            # Our own access log (pathsessions.access) redacts keys from query strings.
            access_log=False,
            log_config=None,
            server_header=False,
        )
    return 0


@contextlib.contextmanager
def _shared_limits(settings: Settings) -> Iterator[None]:
    """The workers of one server count against the same limits: give them one file to keep
    them in, unless Redis or the operator's own file already does."""
    s = settings
    if s.workers == 1 or not s.rate_limits or s.redis_url or s.rate_limit_file:
        yield
        return
    fd, path = tempfile.mkstemp(prefix="pathsessions-limits-")
    os.close(fd)
    os.environ[PREFIX + "RATE_LIMIT_FILE"] = path
    try:
        yield
    finally:
        os.unlink(path)
