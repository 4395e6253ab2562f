"""One frozen settings object, read from `PATHSESSIONS_*` environment variables in one place.

`docs/configuration.md` documents each field; a test checks that every field is there.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

PREFIX = "PATHSESSIONS_"
# Variables the test suite reads (tests/conftest.py): never settings, never warned about.
TEST_PREFIX = PREFIX + "TEST_"


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite:///data/pathsessions.db"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # SQLite durability: NORMAL survives any process crash; FULL also survives power loss.
    sqlite_synchronous: str = "NORMAL"
    pg_pool_size: int = 10
    max_body_bytes: int = 1024 * 1024
    # Empty: this server's own /docs page.
    documentation_url: str = ""
    log_level: str = "INFO"
    access_log: bool = True
    # GET /metrics, in Prometheus's text format; off, it is an unknown route.
    metrics: bool = True
    # Signs bearer tokens; every worker and host must share it. `serve` refuses to start
    # without one; only `demo` makes its own.
    token_secret: str = ""
    # Per-company limits, in requests per second (360Learning's documented API limits).
    rate_limits: bool = True
    write_rate_limit: int = 10
    read_rate_limit: int = 50
    # Empty: limits are shared by the worker processes of one host; a Redis URL shares them
    # across hosts.
    redis_url: str = ""
    # The file that holds the limits of one host's worker processes. Empty: `serve` makes one
    # for its workers. Set it to share limits between several servers on one host.
    rate_limit_file: str = ""
    # Streamed answers (whole lists) a company may have in progress at once: per process, or
    # across every worker and host sharing PATHSESSIONS_REDIS_URL.
    max_lists_per_company: int = 1
    # The HTTP edge (web/server.py): seconds a client has to send its request headers, and
    # to send its next request on a kept-alive connection; the most header bytes a request may
    # have; connections per process (0: its file limit allows, less a reserve).
    header_timeout: float = 10.0
    # Seconds a request body has to arrive, once the request is known to be served.
    body_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    max_header_bytes: int = 32768
    max_connections: int = 0
    # The sandbox's control API (/__admin/) exists only when this is set (at least 32
    # characters); its callers present it as a bearer token.
    admin_token: str = ""
    # Requests the sandbox's journal keeps (the oldest go first); 0: none. Only with the
    # control API on.
    journal_size: int = 10_000
    # Webhooks (docs/api-v2.md §8): deliveries to loopback, link-local and private addresses
    # are refused unless this is true; attempts in progress at once per process; seconds
    # between two looks at the outbox for events queued by other processes and retries due.
    webhook_private_targets: bool = False
    webhook_concurrency: int = 10
    webhook_poll_interval: float = 1.0
    # Where `serve` delivers webhooks: "process", one delivery process beside the request
    # processes (which then deliver nothing); "inline", in each request process.
    webhook_delivery: str = "process"
    # How much lower the delivery process's CPU priority is than the request processes' (a
    # niceness increment, 0 to 19).
    webhook_niceness: int = 10

    @property
    def docs_url(self) -> str:
        """The `documentation_url` that unknown-route answers carry."""
        return self.documentation_url or f"http://{self.host}:{self.port}/docs"


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from `environ` (default: the process environment)."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for field in fields(Settings):
        name = PREFIX + field.name.upper()
        if name not in env:
            continue
        raw = env[name]
        if field.type == "int":
            try:
                values[field.name] = int(raw)
            except ValueError:
                raise SettingsError(f"{name} must be an integer, not {raw!r}") from None
        elif field.type == "float":
            try:
                values[field.name] = float(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a number, not {raw!r}") from None
        elif field.type == "bool":
            values[field.name] = _parse_bool(name, raw)
        else:
            values[field.name] = raw
    settings = Settings(**values)  # type: ignore[arg-type]
    _check(settings)
    return settings


def known_variables() -> list[str]:
    return [PREFIX + field.name.upper() for field in fields(Settings)]


def unknown_variable_warnings(environ: Mapping[str, str] | None = None) -> list[str]:
    """One sentence for each `PATHSESSIONS_*` variable that is no setting (a typo, most
    likely), naming the closest setting when one is close. `PATHSESSIONS_TEST_*` belong to
    the test suite and are left alone."""
    env = os.environ if environ is None else environ
    known = known_variables()
    warnings = []
    for name in sorted(env):
        if not name.startswith(PREFIX) or name in known or name.startswith(TEST_PREFIX):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]}?" if close else " (docs/configuration.md lists them)"
        warnings.append(f"{name} is not a pathsessions setting and is ignored{hint}")
    return warnings


MIN_TOKEN_SECRET = 32
MIN_ADMIN_TOKEN = 32
MAX_PORT = 65535


def require_token_secret(s: Settings) -> None:
    """A server signs bearer tokens: it must be given the key to sign them with."""
    if not s.token_secret:
        raise SettingsError(
            f"{PREFIX}TOKEN_SECRET is not set: a server needs it to sign bearer tokens "
            f"(at least {MIN_TOKEN_SECRET} characters, shared by every worker and host; "
            "`pathsessions demo` makes one for a local sandbox)"
        )


def _check(s: Settings) -> None:
    if not s.database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise SettingsError(f"{PREFIX}DATABASE_URL must start with sqlite:/// or postgresql://")
    if s.sqlite_synchronous.upper() not in {"NORMAL", "FULL"}:
        raise SettingsError(f"{PREFIX}SQLITE_SYNCHRONOUS must be NORMAL or FULL")
    positive = (
        "workers",
        "pg_pool_size",
        "max_body_bytes",
        "write_rate_limit",
        "read_rate_limit",
        "max_header_bytes",
        "max_lists_per_company",
        "webhook_concurrency",
    )
    for name in positive:
        if getattr(s, name) < 1:
            raise SettingsError(f"{PREFIX}{name.upper()} must be positive")
    if s.max_connections < 0:
        raise SettingsError(f"{PREFIX}MAX_CONNECTIONS must be 0 (from the file limit) or more")
    for name in ("header_timeout", "keep_alive_timeout", "body_timeout", "webhook_poll_interval"):
        value = getattr(s, name)
        if not (value > 0 and math.isfinite(value)):
            raise SettingsError(f"{PREFIX}{name.upper()} must be a positive number of seconds")
    if s.token_secret and len(s.token_secret) < MIN_TOKEN_SECRET:
        raise SettingsError(f"{PREFIX}TOKEN_SECRET must be at least {MIN_TOKEN_SECRET} characters")
    if s.admin_token and len(s.admin_token) < MIN_ADMIN_TOKEN:
        raise SettingsError(f"{PREFIX}ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN} characters")
    if s.journal_size < 0:
        raise SettingsError(f"{PREFIX}JOURNAL_SIZE must be 0 (no journal) or more")
    if s.redis_url and not s.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"{PREFIX}REDIS_URL must start with redis://, rediss:// or unix://")
    if not 0 <= s.port <= MAX_PORT:
        raise SettingsError(f"{PREFIX}PORT must be between 0 (any free port) and {MAX_PORT}")
    if not 0 <= s.webhook_niceness <= 19:
        raise SettingsError(f"{PREFIX}WEBHOOK_NICENESS must be between 0 and 19")
    if s.webhook_delivery not in {"process", "inline"}:
        raise SettingsError(f"{PREFIX}WEBHOOK_DELIVERY must be process or inline")
    if s.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
