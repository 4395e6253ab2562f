"""A small synchronous client of the sandbox's control API (`/__admin/`, docs/sandbox.md).

    admin = AdminClient("http://127.0.0.1:8000", admin_token)
    loaded = admin.load_fixture(document)
    admin.add_fault(operation="createPathSession", action="respond", status=503, times=1)
    admin.freeze_clock("2030-01-01T00:00:00.000Z")

Failures raise `AdminError` with the HTTP status and the answer's `error` code.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self, cast

import httpx

__all__ = ["AdminClient", "AdminError"]


class AdminError(Exception):
    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"{status} {code}" + (f": {message}" if message else ""))
        self.status = status
        self.code = code
        self.message = message


def _query(company: str | None) -> dict[str, str]:
    return {} if company is None else {"company": company}


class AdminClient:
    """One connection to one server's control API, authenticated with its admin token."""

    def __init__(self, base_url: str, admin_token: str, timeout: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/__admin",
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        r = self._http.request(
            method,
            path,
            json=body,
            params={k: v for k, v in (params or {}).items() if v is not None},
        )
        if r.status_code >= 400:
            try:
                answer = r.json()
            except ValueError:
                answer = {}
            if not isinstance(answer, dict):
                answer = {}
            raise AdminError(
                r.status_code, str(answer.get("error", r.reason_phrase)), answer.get("message", "")
            )
        return None if r.status_code == 204 or not r.content else r.json()

    # State (docs/sandbox.md, "State").
    def load_fixture(self, document: Mapping[str, Any], *, reset: bool = False) -> dict[str, Any]:
        """Load a fixture document; answer `{"companies": [{"id", "name", "apiKeys",
        "apiCredentials"}]}` with the keys and credentials generated now."""
        params = {"reset": "true"} if reset else None
        return cast(dict[str, Any], self._call("POST", "/fixtures", dict(document), params))

    def companies(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._call("GET", "/companies"))

    def delete_company(self, company_id: str) -> None:
        self._call("DELETE", f"/companies/{company_id}")

    def export(self, company_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("GET", f"/companies/{company_id}/export"))

    def snapshot(self, name: str, company: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name}
        if company is not None:
            body["company"] = company
        return cast(dict[str, Any], self._call("POST", "/snapshots", body))

    def snapshots(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._call("GET", "/snapshots"))

    def restore(self, name: str) -> None:
        self._call("POST", f"/snapshots/{name}/restore")

    def delete_snapshot(self, name: str) -> None:
        self._call("DELETE", f"/snapshots/{name}")

    def reset(self, *, snapshots: bool = False) -> None:
        self._call("POST", "/reset", {"snapshots": True} if snapshots else None)

    # The journal.
    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Journal entries, newest first; filters `company`, `method`, `operation`, `status`,
        `path`, `since`, `limit`."""
        return cast(list[dict[str, Any]], self._call("GET", "/requests", params=filters))

    def request(self, entry_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("GET", f"/requests/{entry_id}"))

    def clear_requests(self, company: str | None = None) -> None:
        self._call("DELETE", "/requests", params=_query(company))

    # Faults.
    def add_fault(self, **fault: Any) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("POST", "/faults", fault))

    def faults(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._call("GET", "/faults"))

    def delete_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # The clock.
    def clock(self, company: str | None = None) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("GET", "/clock", params=_query(company)))

    def freeze_clock(self, at: str, company: str | None = None) -> dict[str, Any]:
        body = {"frozenAt": at}
        return cast(dict[str, Any], self._call("PUT", "/clock", body, _query(company)))

    def set_clock(self, now: str, company: str | None = None) -> dict[str, Any]:
        body = {"now": now}
        return cast(dict[str, Any], self._call("PUT", "/clock", body, _query(company)))

    def advance_clock(self, ms: int, company: str | None = None) -> dict[str, Any]:
        body = {"ms": ms}
        return cast(dict[str, Any], self._call("POST", "/clock/advance", body, _query(company)))

    def real_clock(self, company: str | None = None) -> None:
        self._call("DELETE", "/clock", params=_query(company))
