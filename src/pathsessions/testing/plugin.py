"""The pytest plugin (entry point `pytest11`: `pathsessions`), docs/testing.md.

    def test_enrol(pathsessions_company):
        with pathsessions_company.client as api:
            ...

    @pytest.mark.pathsessions_fixture("tests/acme.yaml")
    def test_with_my_company(pathsessions_company): ...

`pathsessions_server` (one per test process: under `pytest -n N` each worker has its own) is a
real server with the control API on; `pathsessions_company` loads a fresh company for one
test and deletes it afterwards, so tests never see each other's data. Set
`PATHSESSIONS_TESTING_URL` and `PATHSESSIONS_TESTING_ADMIN_TOKEN` to use a server already
running instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from . import LoadedCompany, RunningServer, load_company, read_fixture, serve
from .admin import AdminClient

MARKER = "pathsessions_fixture"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(document): the fixture document (a mapping, or a JSON or YAML file) "
        "pathsessions_company loads for this test",
    )


@pytest.fixture(scope="session")
def pathsessions_server() -> Iterator[RunningServer]:
    url = os.environ.get("PATHSESSIONS_TESTING_URL")
    if url:
        token = os.environ.get("PATHSESSIONS_TESTING_ADMIN_TOKEN", "")
        with AdminClient(url, token) as admin:
            yield RunningServer(url, token, admin)
        return
    with serve() as server:
        yield server


@pytest.fixture
def pathsessions_company(
    request: pytest.FixtureRequest, pathsessions_server: RunningServer
) -> Iterator[LoadedCompany]:
    marker = request.node.get_closest_marker(MARKER)
    document = None
    if marker is not None:
        source = marker.args[0]
        if isinstance(source, str) and not os.path.isabs(source):
            source = os.path.join(str(request.config.rootpath), source)
        document = read_fixture(source)
    server = pathsessions_server
    companies = load_company(server.url, server.admin, document)
    try:
        yield companies[0]
    finally:
        for company in companies:
            server.admin.delete_company(company.id)
