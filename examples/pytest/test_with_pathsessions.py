"""How an integrator's tests use the pathsessions plugin: each test gets a company of its own
on one shared server, and controls that server's faults and clock."""

from __future__ import annotations

import json

import pytest

from pathsessions.client import PathSessionsError
from pathsessions.testing import LoadedCompany, RunningServer


def create_session(company: LoadedCompany, name: str = "Cohort 1") -> str:
    with company.client as api:
        return api.create_path_session(
            company.path_ids["Onboarding"],
            session_name=name,
            start_date="2030-01-15T09:00:00.000Z",
            session_owner_group=company.group_ids["Everyone"],
            instructors_mails=["ines@example.test"],
        )


def test_enrol_a_learner(pathsessions_company: LoadedCompany) -> None:
    session_id = create_session(pathsessions_company)
    with pathsessions_company.client as api:
        api.enrol_users(session_id, emails=["leo@example.test"])
        users = api.get_path_session(session_id)["users"]
    assert [user["mail"] for user in users] == ["leo@example.test"]


def test_each_test_has_its_own_company(pathsessions_company: LoadedCompany) -> None:
    create_session(pathsessions_company, "Only mine")
    with pathsessions_company.client as api:
        assert [s["sessionName"] for s in api.list_path_sessions()] == ["Only mine"]


def test_a_fault_answers_once(
    pathsessions_server: RunningServer, pathsessions_company: LoadedCompany
) -> None:
    pathsessions_server.admin.add_fault(
        company=pathsessions_company.id,
        operation="createPathSession",
        action="respond",
        status=503,
        body={"error": "service_unavailable"},
        times=1,
    )
    with pytest.raises(PathSessionsError) as failed:
        create_session(pathsessions_company)
    assert failed.value.status == 503
    assert create_session(pathsessions_company)


def test_the_clock_of_one_company(
    pathsessions_server: RunningServer, pathsessions_company: LoadedCompany
) -> None:
    admin = pathsessions_server.admin
    admin.freeze_clock("2029-06-01T12:00:00.000Z", company=pathsessions_company.id)
    session_id = create_session(pathsessions_company)
    with pathsessions_company.client_v2 as api:
        session = api.get_path_session(pathsessions_company.path_ids["Onboarding"], session_id)
    assert session["createdAt"] == "2029-06-01T12:00:00.000Z"


def test_the_journal_shows_what_was_sent(
    pathsessions_server: RunningServer, pathsessions_company: LoadedCompany
) -> None:
    create_session(pathsessions_company)
    [entry] = pathsessions_server.admin.requests(
        company=pathsessions_company.id, operation="createPathSession"
    )
    assert entry["status"] == 200
    assert json.loads(entry["body"])["sessionName"] == "Cohort 1"


@pytest.mark.pathsessions_fixture("acme.yaml")
def test_a_named_document(pathsessions_company: LoadedCompany) -> None:
    assert pathsessions_company.name == "Acme YAML"
    session_id = pathsessions_company.session_ids["Cohort 1"]
    with pathsessions_company.client as api:
        assert api.get_path_session(session_id)["sessionName"] == "Cohort 1"
