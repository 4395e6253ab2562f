"""The whole server inside a test suite (docs/testing.md).

    from pathsessions.testing import serve

    with serve(fixture="tests/company.yaml") as server:
        company = server.companies[0]
        with company.client as api:
            api.get_path_session(session_id)
        server.admin.add_fault(operation="createPathSession", action="reset", times=1)

`serve` runs a real server (the HTTP server of `pathsessions serve`, web/server.py) on a free
port of 127.0.0.1 in a background thread, over a temporary SQLite database (or the
`database_url` given), with the sandbox's control API on.
The pytest plugin (`pathsessions.testing.plugin`, registered through the `pytest11` entry
point) builds its `pathsessions_server` and `pathsessions_company` fixtures from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from ..client import Client, ClientV2
from ..core.ids import new_id
from ..core.keys import SCOPES
from ..settings import PREFIX, Settings, load_settings
from ..web.server import EdgeLimits, server_config
from .admin import AdminClient, AdminError

__all__ = [
    "AdminClient",
    "AdminError",
    "LoadedCompany",
    "RunningServer",
    "default_company",
    "load_company",
    "read_fixture",
    "serve",
]

# Seconds the server has to start (it migrates a fresh database first).
START_TIMEOUT = 30.0


@dataclass
class LoadedCompany:
    """A company loaded for a test: its credentials, the ids of what it holds by natural key
    (groups and paths by name, users by e-mail, sessions by name), and clients of both API
    versions authenticated for it."""

    url: str
    id: str
    name: str
    api_key: str | None
    client_id: str | None
    client_secret: str | None
    group_ids: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)
    path_ids: dict[str, str] = field(default_factory=dict)
    session_ids: dict[str, str] = field(default_factory=dict)

    @property
    def client(self) -> Client:
        """A new v1 client (close it, or use it in a `with` block)."""
        if self.api_key is None:
            raise RuntimeError(f"no API key was generated for company {self.name!r}")
        return Client(self.url, self.id, self.api_key)

    @property
    def client_v2(self) -> ClientV2:
        """A new v2 client (close it, or use it in a `with` block)."""
        if self.client_id is None or self.client_secret is None:
            raise RuntimeError(f"no v2 credential was generated for company {self.name!r}")
        return ClientV2(self.url, self.client_id, self.client_secret)


@dataclass
class RunningServer:
    url: str
    admin_token: str
    admin: AdminClient
    companies: list[LoadedCompany] = field(default_factory=list)


def default_company(name: str | None = None) -> dict[str, Any]:
    """A company document with a group, an owner, an instructor, two learners and a path;
    named uniquely unless `name` is given, so that parallel tests never meet."""
    group = new_id()
    return {
        "name": name or f"tests-{uuid.uuid4().hex[:12]}",
        "owner": "owner@example.test",
        "apiCredentials": [{"name": "tests", "scopes": list(SCOPES)}],
        "groups": [{"id": group, "name": "Everyone", "public": True}],
        "users": [
            {"mail": "owner@example.test", "firstName": "Olive", "lastName": "Owner"},
            {
                "mail": "ines@example.test",
                "firstName": "Ines",
                "lastName": "Instructor",
                "roles": {group: "editor"},
            },
            {
                "mail": "leo@example.test",
                "firstName": "Leo",
                "lastName": "Learner",
                "roles": {group: "learner"},
            },
            {
                "mail": "lea@example.test",
                "firstName": "Lea",
                "lastName": "Learner",
                "roles": {group: "learner"},
            },
        ],
        "paths": [{"name": "Onboarding", "group": group}],
    }


def read_fixture(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A fixture document from a mapping, or from a JSON or YAML file."""
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in {".yaml", ".yml"}:
        import yaml

        document = yaml.safe_load(text)
    else:
        document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a fixture document is an object with `companies`")
    return document


def _ids(objects: list[dict[str, Any]], key: str) -> dict[str, str]:
    return {str(o[key]): str(o["id"]) for o in objects if key in o and "id" in o}


def load_company(
    url: str, admin: AdminClient, document: Mapping[str, Any] | None = None
) -> list[LoadedCompany]:
    """Load `document` (default: one `default_company()`) through the control API; answer
    each company it named, with its generated credentials and the ids of what it holds."""
    document = document or {"companies": [default_company()]}
    loaded = admin.load_fixture(document)
    companies = []
    for company in loaded["companies"]:
        exported = admin.export(company["id"])["companies"][0]
        keys = company.get("apiKeys") or []
        credentials = company.get("apiCredentials") or []
        companies.append(
            LoadedCompany(
                url=url,
                id=company["id"],
                name=company["name"],
                api_key=keys[0] if keys else None,
                client_id=credentials[0]["clientId"] if credentials else None,
                client_secret=credentials[0]["clientSecret"] if credentials else None,
                group_ids=_ids(exported.get("groups", []), "name"),
                user_ids=_ids(exported.get("users", []), "mail"),
                path_ids=_ids(exported.get("paths", []), "name"),
                session_ids=_ids(exported.get("sessions", []), "sessionName"),
            )
        )
    return companies


class _ThreadedServer:
    """The server of `pathsessions serve` (its HTTP protocol, event loop and limits) serving
    `app` on an already bound socket, in a thread with its own event loop (uvicorn installs no
    signal handlers outside the main thread)."""

    def __init__(self, app: Any, settings: Settings, sock: socket.socket) -> None:
        config = server_config(
            app,
            EdgeLimits(
                settings.header_timeout, settings.max_header_bytes, settings.max_connections
            ),
            settings.keep_alive_timeout,
        )
        self.server = uvicorn.Server(config)
        self.loop_factory = config.get_loop_factory()
        self.thread = threading.Thread(
            target=self._run, args=(sock,), name="pathsessions-server", daemon=True
        )

    def _run(self, sock: socket.socket) -> None:
        with asyncio.Runner(loop_factory=self.loop_factory) as runner:
            runner.run(self.server.serve(sockets=[sock]))

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the pathsessions server did not start (its log says why)")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=START_TIMEOUT)


@contextlib.contextmanager
def serve(
    fixture: str | Path | Mapping[str, Any] | None = None,
    *,
    database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Iterator[RunningServer]:
    """A real server for the duration of the block, with the control API on; `fixture` (a
    document, or a JSON or YAML file) is loaded first and its companies are in
    `server.companies`. `environ` sets further `PATHSESSIONS_*` settings."""
    from ..app import create_app

    admin_token = secrets.token_urlsafe(32)
    with contextlib.ExitStack() as stack:
        if database_url is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="pathsessions-"))
            database_url = f"sqlite:///{folder}/pathsessions.db"
        env = {
            PREFIX + "DATABASE_URL": database_url,
            PREFIX + "ADMIN_TOKEN": admin_token,
            PREFIX + "TOKEN_SECRET": secrets.token_hex(32),
            PREFIX + "LOG_LEVEL": "WARNING",
            PREFIX + "RATE_LIMITS": "false",
            **(environ or {}),
        }
        settings = load_settings(env)
        # IPPROTO_TCP, not the default 0: asyncio's loop, should one serve it, turns Nagle's
        # algorithm off only on the connections of such a socket.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        stack.callback(sock.close)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = _ThreadedServer(create_app(settings), settings, sock)
        server.start()
        stack.callback(server.stop)
        admin = stack.enter_context(AdminClient(url, admin_token))
        running = RunningServer(url, admin_token, admin)
        if fixture is not None:
            running.companies = load_company(url, admin, read_fixture(fixture))
        yield running
