"""The operator CLI called in process, and the application running beside it.

`Cli` calls `pathsessions.cli.main([...])` and answers what it printed; `LiveApp` is the real
application running on a loop of its own that stays up between CLI calls (so a change made by
the CLI is seen by a server that is already running). The `cli` and `live` fixtures give them.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from pathsessions.app import create_app
from pathsessions.cli import main
from pathsessions.settings import Settings

from .world import TOKEN_SECRET

UNKNOWN_PATH = "000000000000000000000000"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, *args: str) -> Result:
        try:
            code = main(list(args))
        except SystemExit as stop:  # argparse usage errors
            code = stop.code if isinstance(stop.code, int) else 1
        out, err = self._capsys.readouterr()
        assert "Traceback" not in err, err
        return Result(code, out, err)

    def ok(self, *args: str) -> str:
        """Run a command that must succeed silently on stderr; answer its stdout."""
        result = self(*args)
        assert result.code == 0, result
        assert result.err == "", result
        return result.out

    def failed(self, *args: str) -> str:
        """Run a command that must fail with status 1, nothing on stdout; answer its stderr."""
        result = self(*args)
        assert result.code == 1, result
        assert result.out == "", result
        assert result.err.startswith("error: "), result
        assert result.err.count("\n") == 1, result
        assert result.err.endswith("\n"), result
        return result.err


def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PATHSESSIONS_"):
            monkeypatch.delenv(name)


class LiveApp:
    """The real application, started on its own event loop, answering in-process requests."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = create_app(
            Settings(
                database_url=database_url,
                access_log=False,
                pg_pool_size=2,
                token_secret=TOKEN_SECRET,
                rate_limits=False,
            )
        )
        self.loop.run_until_complete(self.app.startup())

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.request(method, url, **kwargs)

        return self.loop.run_until_complete(go())

    def probe(self, company: str, key: str) -> int:
        """401 when the credentials are refused, 404 (path_not_found) when accepted."""
        r = self.request(
            "POST",
            f"/api/v1/paths/{UNKNOWN_PATH}/sessions/",
            json={},
            headers={"X-company-id": company, "X-apiKey": key},
        )
        expected = {401: {"error": "unauthorized"}, 404: {"error": "path_not_found"}}
        assert r.json() == expected[r.status_code], r.text
        return r.status_code

    def close(self) -> None:
        self.loop.run_until_complete(self.app.shutdown())
        self.loop.close()
