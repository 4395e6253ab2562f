"""The command line as a newcomer meets it: help for everything, usage mistakes exit 2 naming
the flag, `--port 0` for any free port, a warning for a misspelt `PATHSESSIONS_*` variable."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pathsessions.cli import build_parser, main
from pathsessions.settings import SettingsError, load_settings, unknown_variable_warnings

SECRET = "a-token-secret-for-the-usage-tests-0123456789"
COMPANY = "5f1b2c3d4e5f60718293a4b5"


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as stop:  # argparse
        code = stop.code if isinstance(stop.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("PATHSESSIONS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PATHSESSIONS_DATABASE_URL", f"sqlite:///{tmp_path / 'usage.db'}")


def all_parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    def walk(
        name: str, parser: argparse.ArgumentParser
    ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, child in action.choices.items():
                    yield from walk(f"{name} {sub}", child)

    yield from walk("pathsessions", build_parser())


@pytest.mark.parametrize(
    ("command", "parser"), list(all_parsers()), ids=[name for name, _ in all_parsers()]
)
def test_every_command_has_a_one_line_description_and_help_for_every_option(
    command: str, parser: argparse.ArgumentParser
) -> None:
    assert parser.description, f"{command} has no description"
    if command != "pathsessions":
        assert "\n" not in parser.description, command
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, f"{command} {choice.dest}: no summary in the list"
        else:
            named = f"{command} {action.option_strings or action.dest}"
            assert action.help, f"{named}: no help"
            assert action.help != argparse.SUPPRESS, f"{named}: no help"


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["company"],
        ["key", "revoke", "--company", COMPANY],
        ["serve", "--bogus"],
        ["serve", "--port", "eighty"],
        ["path", "add", "--company", COMPANY, "--name", "P", "--group", COMPANY, "--status", "x"],
        ["user", "add", "--company", COMPANY, "--mail", "u@acme.test", "--role", "author"],
    ],
    ids=lambda a: " ".join(a) or "(nothing)",
)
@pytest.mark.usefixtures("clean_env")
def test_usage_mistakes_exit_2_with_the_usage_line(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = run_main(capsys, *args)
    assert (code, out) == (2, ""), err
    assert err.startswith("usage: pathsessions"), err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--port", "70000"], "argument --port: must be between 0 (any free port)"),
        (["demo", "--port", "-1"], "argument --port: must be between 0 (any free port)"),
        (["serve", "--workers", "0"], "argument --workers: must be at least 1, not 0"),
        (["demo", "--workers", "-2"], "argument --workers: must be at least 1, not -2"),
    ],
)
@pytest.mark.usefixtures("clean_env")
def test_an_out_of_range_flag_is_a_usage_error_naming_the_flag(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("PATHSESSIONS_TOKEN_SECRET", SECRET)
    code, out, err = run_main(capsys, *args)
    assert (code, out) == (2, ""), err
    assert message in err
    assert "PATHSESSIONS_" not in err  # the flag, not the variable it overrides


def test_port_0_is_a_valid_setting() -> None:
    assert load_settings({"PATHSESSIONS_PORT": "0"}).port == 0
    with pytest.raises(SettingsError, match="PATHSESSIONS_PORT must be between 0"):
        load_settings({"PATHSESSIONS_PORT": "-1"})


def test_unknown_variables_are_warned_about_with_the_closest_setting() -> None:
    environ = {
        "PATHSESSIONS_PORTT": "9000",
        "PATHSESSIONS_DATABASE_UR": "sqlite:///x.db",
        "PATHSESSIONS_FROBNICATE": "1",
        "PATHSESSIONS_PORT": "9000",
        "PATHSESSIONS_TEST_BACKENDS": "sqlite",
        "PATHSESSIONS_TEST_POSTGRES_URL": "postgresql://x@y/z",
        "OTHER_PORTT": "1",
    }
    assert unknown_variable_warnings(environ) == [
        "PATHSESSIONS_DATABASE_UR is not a pathsessions setting and is ignored; "
        "did you mean PATHSESSIONS_DATABASE_URL?",
        "PATHSESSIONS_FROBNICATE is not a pathsessions setting and is ignored "
        "(docs/configuration.md lists them)",
        "PATHSESSIONS_PORTT is not a pathsessions setting and is ignored; "
        "did you mean PATHSESSIONS_PORT?",
    ]


@pytest.mark.usefixtures("clean_env")
def test_a_misspelt_variable_is_warned_about_and_the_command_still_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATHSESSIONS_PORTT", "9000")
    monkeypatch.setenv("PATHSESSIONS_TEST_BACKENDS", "sqlite")
    code, out, err = run_main(capsys, "migrate")
    assert code == 0
    assert out.startswith("database schema at version ")
    assert err == (
        "warning: PATHSESSIONS_PORTT is not a pathsessions setting and is ignored; "
        "did you mean PATHSESSIONS_PORT?\n"
    )


# --- --port 0 against real processes ---------------------------------------------------------


def start(database_url: str, tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHSESSIONS_")}
    env.update(
        PATHSESSIONS_DATABASE_URL=database_url,
        PATHSESSIONS_TOKEN_SECRET=SECRET,
        PATHSESSIONS_RATE_LIMITS="false",
        PYTHONUNBUFFERED="1",
    )
    # The child keeps its own copies of the files; ours close once it has started.
    with (tmp_path / "out").open("wb") as out, (tmp_path / "err").open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "pathsessions", *args],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def printed_url(process: subprocess.Popen[bytes], tmp_path: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = re.search(r"serving on (http://127\.0\.0\.1:(\d+))", (tmp_path / "out").read_text())
        if m:
            return m.group(1)
        if process.poll() is not None:
            pytest.fail((tmp_path / "err").read_text())
        time.sleep(0.05)
    pytest.fail("no 'serving on' line")


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"{url} never answered")


@pytest.mark.e2e
@pytest.mark.parametrize("workers", ["1", "2"])
def test_port_0_serves_on_a_free_port_and_prints_it(
    database_url: str, tmp_path: Path, workers: str
) -> None:
    process = start(database_url, tmp_path, "serve", "--port", "0", "--workers", workers)
    try:
        url = printed_url(process, tmp_path)
        assert not url.endswith(":0")
        wait_healthy(url)
        # Every worker knows the real port: the documentation link of an unknown route names it.
        for _ in range(4):
            r = httpx.get(f"{url}/nowhere", timeout=5)
            assert r.json()["documentation_url"] == f"{url}/docs"
    finally:
        stop(process)
