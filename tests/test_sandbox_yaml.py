"""YAML fixture documents: `pathsessions load` and `POST /__admin/fixtures`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pathsessions.cli import main
from pathsessions.settings import Settings
from pathsessions.storage import Database
from support.cli import clean_environment
from support.sandbox import admin, sandbox_settings

YAML_DOCUMENT = """\
companies:
  - id: 5f1b2c3d4e5f60718293a4c1
    name: Yaml Learning
    owner: owner@yaml.test
    apiKeys: [a-literal-key-for-the-yaml-tests]
    groups:
      - {id: 6a00000000000000000000d1, name: Everyone, public: yes}
    paths:
      - {id: 6c00000000000000000000d1, name: Onboarding, group: 6a00000000000000000000d1}
    sessions:
      - path: 6c00000000000000000000d1
        sessionName: Cohort
        startDate: 2030-01-01T09:00:00.000Z
        sessionOwnerGroup: 6a00000000000000000000d1
"""
HEADERS = {
    "X-company-id": "5f1b2c3d4e5f60718293a4c1",
    "X-apiKey": "a-literal-key-for-the-yaml-tests",
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return sandbox_settings(database_url)


@pytest.fixture
def load(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    clean_environment(monkeypatch)
    monkeypatch.setenv("PATHSESSIONS_DATABASE_URL", database_url)

    def call(*args: str) -> tuple[int, str, str]:
        try:
            code = main(["load", *args])
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.mark.parametrize("name", ["doc.yaml", "doc.yml", "doc.fixture"])
def test_the_cli_loads_yaml(load: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(YAML_DOCUMENT, encoding="utf-8")
    code, out, err = load(str(path))
    assert (code, err) == (0, ""), err
    assert "loaded 1 company: 1 group, 0 users, 1 path, 1 session, 1 API key" in out


def test_a_bad_yaml_file_says_where(load: Any, tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text("companies:\n  - name: [unclosed\n", encoding="utf-8")
    code, out, err = load(str(path))
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {path} is not a YAML document: line 3, column 1: ")
    json_path = tmp_path / "doc.json"
    json_path.write_text("companies: []", encoding="utf-8")
    code, _, err = load(str(json_path))
    assert code == 1
    assert err.startswith(f"error: {json_path} is not a JSON document: ")


async def test_the_control_api_loads_yaml(client: httpx.AsyncClient, db: Database) -> None:
    r = await admin(
        client,
        "POST",
        "/fixtures",
        content=YAML_DOCUMENT.encode(),
        headers={"Content-Type": "application/yaml"},
    )
    assert r.status_code == 200, r.text
    sessions = (await client.get("/api/v1/paths/sessions", headers=HEADERS)).json()
    # The date stays the string it is written as, and reads as the API's dates do.
    assert [s["startDate"] for s in sessions] == ["2030-01-01T09:00:00.000Z"]
    r = await admin(
        client,
        "POST",
        "/fixtures",
        content=b"companies: [",
        headers={"Content-Type": "application/yaml"},
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_fixture"
    assert r.json()["message"].startswith("$: not a YAML document: ")
