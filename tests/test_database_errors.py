"""A database that cannot be opened is said in words: what, where, what to do; never the
password. For CLI commands, for `serve` before it starts, and for a worker's start-up log."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pathsessions.app import create_app
from pathsessions.cli import main
from pathsessions.settings import Settings
from pathsessions.storage import DatabaseUnavailable, redact_url
from support.cli import clean_environment

PASSWORD = "s3cr3t-pw"
BACKENDS = os.environ.get("PATHSESSIONS_TEST_BACKENDS", "sqlite,postgresql").split(",")
needs_postgres = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="PATHSESSIONS_TEST_BACKENDS leaves PostgreSQL out"
)
TEST_SERVER = urlsplit(
    os.environ.get(
        "PATHSESSIONS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
)
HOST, PORT = TEST_SERVER.hostname or "localhost", TEST_SERVER.port or 5432
USER = TEST_SERVER.username or "postgres"


def postgres_url(user: str, database: str, port: int = PORT) -> str:
    # The test server may trust its users and ignore the password: it is there to be hidden.
    password = TEST_SERVER.password or PASSWORD
    return f"postgresql://{user}:{password}@{HOST}:{port}/{database}"


def migrate_with(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """Run `pathsessions migrate` on `url`; it must fail with one line: answer it."""
    clean_environment(monkeypatch)
    monkeypatch.setenv("PATHSESSIONS_DATABASE_URL", url)
    assert main(["migrate"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "unexpected" not in err
    assert PASSWORD not in err
    password = urlsplit(url).password
    assert password is None or password not in err
    return err.removeprefix("error: ").rstrip("\n")


def test_unreachable_postgresql_names_host_and_port(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://operator:{PASSWORD}@127.0.0.1:1/nowhere"
    assert migrate_with(url, monkeypatch, capsys) == (
        "cannot reach PostgreSQL at 127.0.0.1:1 (connection refused): check that it runs there, "
        "and the host and port in PATHSESSIONS_DATABASE_URL"
    )


def test_unknown_postgresql_host_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://operator:{PASSWORD}@no-such-host.invalid:5432/db"
    assert migrate_with(url, monkeypatch, capsys).startswith(
        "cannot reach PostgreSQL at no-such-host.invalid:5432 (unknown host)"
    )


@needs_postgres
def test_a_missing_postgresql_database_says_how_to_create_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres_url(USER, "pathsessions_no_such_database")
    assert migrate_with(url, monkeypatch, capsys) == (
        f'PostgreSQL at {HOST}:{PORT} has no database "pathsessions_no_such_database": create it '
        f"(createdb -h {HOST} -p {PORT} -U {USER} pathsessions_no_such_database), or name an "
        "existing one in PATHSESSIONS_DATABASE_URL"
    )


@needs_postgres
def test_a_refused_postgresql_login_names_the_user(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres_url("pathsessions_no_such_role", "postgres")
    assert migrate_with(url, monkeypatch, capsys).startswith(
        f'PostgreSQL at {HOST}:{PORT} refused the login of user "pathsessions_no_such_role" '
        'to database "postgres": '
    )


def test_a_sqlite_directory_that_cannot_be_created_names_the_path_and_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "plain-file").write_text("not a directory")
    path = tmp_path / "plain-file" / "data" / "pathsessions.db"
    assert migrate_with(f"sqlite:///{path}", monkeypatch, capsys) == (
        f"cannot create the directory {path.parent} of the SQLite database {path}: "
        "a file that is not a directory is in the way"
    )


def test_a_sqlite_path_that_is_a_directory_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert migrate_with(f"sqlite:///{tmp_path}", monkeypatch, capsys) == (
        f"cannot open the SQLite database {tmp_path}: it is a directory"
    )


def test_a_file_that_is_not_a_database_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("These are my notes, not a database. " * 100)
    assert migrate_with(f"sqlite:///{path}", monkeypatch, capsys) == (
        f"{path} is not a SQLite database (the file holds something else): "
        "point PATHSESSIONS_DATABASE_URL at another file"
    )
    assert path.read_text().startswith("These are my notes")  # left as it was


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("postgresql://app:pw@db:5432/x?a=b") == "postgresql://app:***@db:5432/x?a=b"
    assert redact_url("postgresql://app@db/x") == "postgresql://app@db/x"
    assert redact_url("sqlite:///data/pathsessions.db") == "sqlite:///data/pathsessions.db"


def test_serve_says_why_it_cannot_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHSESSIONS_")}
    env["PATHSESSIONS_DATABASE_URL"] = f"postgresql://operator:{PASSWORD}@127.0.0.1:1/nowhere"
    env["PATHSESSIONS_TOKEN_SECRET"] = "a-token-secret-for-the-start-up-test-0123456789"
    done = subprocess.run(
        [sys.executable, "-m", "pathsessions", "serve", "--port", "0"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == (
        "error: cannot reach PostgreSQL at 127.0.0.1:1 (connection refused): check that it runs "
        "there, and the host and port in PATHSESSIONS_DATABASE_URL\n"
    )
    assert PASSWORD not in done.stdout + done.stderr


async def test_a_worker_logs_why_it_cannot_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker process (uvicorn's factory) reports the same sentence in its log."""
    path = tmp_path / "notes.db"
    path.write_text("not a database " * 100)
    app = create_app(
        Settings(database_url=f"sqlite:///{path}", token_secret="x" * 40, access_log=False)
    )
    with pytest.raises(DatabaseUnavailable, match="is not a SQLite database"):
        await app.startup()
    sent: list[dict[str, str]] = []
    messages = iter([{"type": "lifespan.startup"}])

    async def receive() -> dict[str, str]:
        return next(messages)

    async def send(message: dict[str, str]) -> None:
        sent.append(message)

    with caplog.at_level(logging.ERROR, logger="pathsessions"):
        await app({"type": "lifespan"}, receive, send)  # type: ignore[arg-type]
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "is not a SQLite database" in sent[0]["message"]
    assert f"startup failed: {path} is not a SQLite database" in caplog.text
