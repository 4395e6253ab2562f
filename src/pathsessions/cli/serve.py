"""`pathsessions serve [--host H] [--port P] [--workers N]`: serve the API."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from ..app import run_delivery_process
from ..delivery.process import WAKE_VARIABLE, Supervisor
from ..settings import MAX_PORT, PREFIX, Settings, require_token_secret
from ..storage import Database
from ..storage.migrate import current_version
from ..web.logs import configure_logging
from ..web.metrics import MULTIPROCESS_DIR
from ..web.server import EdgeLimits, server_config
from .common import CommandError, add_command, run

# Connections waiting to be accepted, as uvicorn's own default.
BACKLOG = 2048


def register(commands: Any) -> None:
    parser = add_command(commands, "serve", "serve the API until interrupted")
    add_server_arguments(parser)
    parser.set_defaults(run=main)


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None
    if not 0 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"must be between 0 (any free port) and {MAX_PORT}, not {port}"
        )
    return port


def worker_count(text: str) -> int:
    try:
        workers = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None
    if workers < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {workers}")
    return workers


def add_server_arguments(parser: Any) -> None:
    parser.add_argument(
        "--host",
        metavar="HOST",
        help="address to listen on, 0.0.0.0 for every interface (default: PATHSESSIONS_HOST)",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        metavar="PORT",
        help="port to listen on, 0 for any free port (default: PATHSESSIONS_PORT)",
    )
    parser.add_argument(
        "--workers",
        type=worker_count,
        metavar="N",
        help="worker processes, at least 1 (default: PATHSESSIONS_WORKERS)",
    )


def server_settings(args: argparse.Namespace, settings: Settings) -> Settings:
    return replace(
        settings,
        host=settings.host if args.host is None else args.host,
        port=settings.port if args.port is None else args.port,
        workers=settings.workers if args.workers is None else args.workers,
    )


def listen(settings: Settings) -> socket.socket:
    """Bind and listen now, before anything else happens: a busy port stops the command before
    it changes anything, and port 0 becomes a real port that we can print."""
    host, port = settings.host, settings.port
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise CommandError(f"cannot listen on {host}: {exc.strerror}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                f"port {port} on {host} is busy (another pathsessions server or demo?): stop "
                "that one, or choose another port with --port PORT (--port 0 picks a free one)"
            ) from None
        reason = exc.strerror or str(exc)
        raise CommandError(f"cannot listen on {host} port {port}: {reason}") from None
    sock.set_inheritable(True)
    return sock


def browsable_host(host: str) -> str:
    """A name for `host` that a browser on this machine can open: a wildcard address (every
    interface) is reached through the loopback one."""
    if host in {"", "0.0.0.0"}:
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def base_url(settings: Settings) -> str:
    return f"http://{browsable_host(settings.host)}:{settings.port}"


def main(args: argparse.Namespace, settings: Settings) -> int:
    settings = server_settings(args, settings)
    require_token_secret(settings)
    with listen(settings) as sock:
        settings = replace(settings, port=sock.getsockname()[1])

        async def work(db: Database) -> int:
            return await current_version(db)

        # Migrate once here, before any worker starts, so a schema problem stops us right away.
        run(settings, work)
        print(f"serving on {base_url(settings)} (Ctrl-C stops)", flush=True)
        return serve(settings, sock)


def serve(settings: Settings, sock: socket.socket) -> int:
    """Serve on `sock` (from `listen`) until interrupted; with several workers, each serves it."""
    configure_logging(settings.log_level)
    # Worker processes build their own settings from the environment: hand them ours.
    os.environ[PREFIX + "HOST"] = settings.host
    os.environ[PREFIX + "PORT"] = str(settings.port)
    os.environ[PREFIX + "TOKEN_SECRET"] = settings.token_secret
    config = server_config(
        "pathsessions.app:app_from_environment",
        EdgeLimits(settings.header_timeout, settings.max_header_bytes, settings.max_connections),
        settings.keep_alive_timeout,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        backlog=BACKLOG,
    )
    with _shared_limits(settings), _shared_metrics(settings), _deliveries(settings) as stop:
        if settings.workers > 1:
            Multiprocess(config, sockets=[sock]).run()
            return 0
        server = _Server(config, stop)
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
        # The application did not start (uvicorn logged why).
        return 0 if server.started else 3


class _Server(uvicorn.Server):
    """One process serving: the delivery process is stopped once the requests are done,
    before uvicorn ends this process by the signal that stopped it (which skips our
    clean-up)."""

    def __init__(self, config: uvicorn.Config, stop_deliveries: Callable[[], None]) -> None:
        super().__init__(config)
        self._stop_deliveries = stop_deliveries

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        await asyncio.to_thread(self._stop_deliveries)


@contextlib.contextmanager
def _deliveries(settings: Settings) -> Iterator[Callable[[], None]]:
    """One webhook delivery process for the whole server, however many workers serve
    (delivery/process.py); the request processes wake it through a unix socket in a folder of
    our own. Answers the function that stops it (called again at the end, harmlessly)."""
    if settings.webhook_delivery != "process":
        yield lambda: None
        return
    with tempfile.TemporaryDirectory(prefix="pathsessions-webhooks-") as folder:
        wake_path = os.path.join(folder, "wake")
        supervisor = Supervisor(run_delivery_process, (wake_path,))
        supervisor.start()
        os.environ[WAKE_VARIABLE] = wake_path
        try:
            yield supervisor.stop
        finally:
            del os.environ[WAKE_VARIABLE]
            supervisor.stop()


@contextlib.contextmanager
def _shared_metrics(settings: Settings) -> Iterator[None]:
    """Worker processes write their metrics to files of one directory, so that whichever
    answers /metrics answers for all of them (web/metrics.py)."""
    if settings.workers == 1 or not settings.metrics or os.environ.get(MULTIPROCESS_DIR):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="pathsessions-metrics-") as folder:
        os.environ[MULTIPROCESS_DIR] = folder
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIR]


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
