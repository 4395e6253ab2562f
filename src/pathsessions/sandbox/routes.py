"""The control API's routes, with their operation ids (tag "sandbox" in the OpenAPI)."""

from __future__ import annotations

from typing import Any

from ..api.context import Context
from ..web.routing import Route
from . import control, csvexport, learners, state

AdminRoute = Route[Context, Any]


def _r(method: str, path: str, operation_id: str, handler: Any) -> AdminRoute:
    return AdminRoute(method, "/__admin" + path, operation_id, public=handler)


ROUTES: list[AdminRoute] = [
    _r("GET", "/clock", "getSandboxClock", control.get_clock),
    _r("PUT", "/clock", "setSandboxClock", control.put_clock),
    _r("DELETE", "/clock", "resetSandboxClock", control.delete_clock),
    _r("POST", "/clock/advance", "advanceSandboxClock", control.advance_clock),
    _r("GET", "/requests", "listJournalEntries", control.list_requests),
    _r("DELETE", "/requests", "clearJournal", control.delete_requests),
    _r("GET", "/requests/{entryId}", "getJournalEntry", control.get_request),
    _r("POST", "/faults", "createFault", control.create_fault),
    _r("GET", "/faults", "listFaults", control.list_faults),
    _r("DELETE", "/faults", "deleteFaults", control.delete_faults),
    _r("DELETE", "/faults/{faultId}", "deleteFault", control.delete_fault),
    _r("POST", "/fixtures", "loadFixtures", state.load_fixtures),
    _r("GET", "/companies", "listSandboxCompanies", state.list_companies),
    _r("DELETE", "/companies/{companyId}", "deleteSandboxCompany", state.delete_company),
    _r("GET", "/companies/{companyId}/export", "exportCompany", state.export_company),
    _r("POST", "/snapshots", "createSnapshot", state.create_snapshot),
    _r("GET", "/snapshots", "listSnapshots", state.list_snapshots),
    _r("POST", "/snapshots/{name}/restore", "restoreSnapshot", state.restore_snapshot),
    _r("DELETE", "/snapshots/{name}", "deleteSnapshot", state.delete_snapshot),
    _r("POST", "/reset", "resetSandbox", state.reset),
    _r(
        "PUT",
        "/companies/{companyId}/enrollments/{enrollmentId}/progress",
        "setLearnerProgress",
        learners.put_progress,
    ),
    _r(
        "PUT",
        "/companies/{companyId}/groups/{groupId}/members",
        "setGroupMembers",
        learners.put_members,
    ),
]

# Exports as CSV (docs/sandbox.md, "Exports").
ROUTES += [
    _r("GET", "/companies/{companyId}/sessions.csv", "exportSessionsCsv", csvexport.sessions_csv),
    _r(
        "GET",
        "/companies/{companyId}/enrollments.csv",
        "exportEnrollmentsCsv",
        csvexport.enrollments_csv,
    ),
]
