"""One frozen settings object, read from `PATHSESSIONS_*` environment variables in one place.

`docs/configuration.md` documents each field; a test checks that every field is there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

PREFIX = "PATHSESSIONS_"


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
    # Signs bearer tokens. Empty: one is generated and kept in the database, shared by every
    # worker and host that uses it.
    token_secret: str = ""

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
        elif field.type == "bool":
            values[field.name] = _parse_bool(name, raw)
        else:
            values[field.name] = raw
    settings = Settings(**values)  # type: ignore[arg-type]
    _check(settings)
    return settings


def _check(s: Settings) -> None:
    if not s.database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise SettingsError(f"{PREFIX}DATABASE_URL must start with sqlite:/// or postgresql://")
    if s.sqlite_synchronous.upper() not in {"NORMAL", "FULL"}:
        raise SettingsError(f"{PREFIX}SQLITE_SYNCHRONOUS must be NORMAL or FULL")
    if s.workers < 1 or s.pg_pool_size < 1 or s.max_body_bytes < 1:
        raise SettingsError(
            f"{PREFIX}WORKERS, {PREFIX}PG_POOL_SIZE and {PREFIX}MAX_BODY_BYTES must be positive"
        )
    if not 0 < s.port < 65536:
        raise SettingsError(f"{PREFIX}PORT must be between 1 and 65535")
    if s.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
