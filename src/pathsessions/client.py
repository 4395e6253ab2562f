"""A small typed client for the v1 path-sessions API (this server's or the real service's).

    from pathsessions.client import Client, PathSessionsError

    with Client("http://127.0.0.1:8000", company_id, api_key) as api:
        session_id = api.create_path_session(
            path_id, session_name="Cohort 1", start_date="2030-01-15T09:00:00Z",
            session_owner_group=group_id, instructors_mails=["ines@acme.test"],
        )
        api.enrol_users(session_id, emails=["leo@acme.test"])
        print(api.get_path_session(session_id)["users"])

Every failure raises `PathSessionsError`, whose `code` is the server's error code (the
`error` member of its answer, or "Not Found" for an unknown route) and `status` the HTTP status.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import Any, TypedDict, cast
from urllib.parse import quote

import httpx

__all__ = [
    "Client",
    "Group",
    "Path",
    "PathSessionsError",
    "SessionDetail",
    "SessionGroup",
    "SessionItem",
    "Token",
    "User",
]


class PathSessionsError(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code


class Token(TypedDict):
    token_type: str
    access_token: str
    expires_in: str


class User(TypedDict):
    _id: str
    mail: str
    firstName: str
    lastName: str


class _GroupRequired(TypedDict):
    _id: str
    name: str
    public: bool


class Group(_GroupRequired, total=False):
    parent: str


class Path(TypedDict):
    _id: str
    name: str
    groupId: str
    status: str
    createdAt: str
    modifiedAt: str
    sessionIds: list[str]


class SessionItem(TypedDict):
    sessionName: str
    sessionId: str
    sessionOwnerGroup: str
    pathId: str
    startDate: str
    endDate: str | None
    instructorsMails: list[str]
    sessionAdditionalInformation: str | None
    createdAt: str
    modifiedAt: str


class SessionGroup(TypedDict):
    _id: str
    name: str


class SessionDetail(SessionItem):
    path: Path
    users: list[User]
    groups: list[SessionGroup]


Date = str | dt.datetime


def _seg(value: str) -> str:
    """One path segment, percent-encoded (an e-mail address may hold `+`, `/` or `#`)."""
    return quote(value, safe="@")


def _date(value: Date) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("datetimes sent to the API must carry a time zone")
    return value.isoformat(timespec="milliseconds")


class Client:
    """Authenticates with the company id and an API key (headers), or with a bearer token
    once `fetch_token()` has been called."""

    def __init__(
        self,
        base_url: str,
        company_id: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.company_id = company_id
        self._api_key = api_key
        self._token: str | None = None
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- plumbing -----------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if self._token is not None:
            return {"Authorization": f"Bearer {self._token}"}
        return {"X-company-id": self.company_id, "X-apiKey": self._api_key}

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, url, json=body, headers=self._headers())
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            code = "unknown_error"
            if isinstance(data, dict):
                code = str(data.get("error") or data.get("message") or code)
            raise PathSessionsError(response.status_code, code)
        return data

    # --- authentication -----------------------------------------------------------------

    def fetch_token(self) -> Token:
        """Exchange the API key for a one-hour bearer token, used by the calls that follow."""
        response = self._http.post(
            "/api/v2/oauth2/token",
            json={
                "grant_type": "client_credentials",
                "client_id": self.company_id,
                "client_secret": self._api_key,
            },
        )
        data = response.json()
        if response.status_code != 200:
            raise PathSessionsError(response.status_code, str(data.get("error")))
        self._token = str(data["access_token"])
        return cast(Token, data)

    # --- path sessions ------------------------------------------------------------------

    def create_path_session(
        self,
        path_id: str,
        *,
        session_name: str,
        start_date: Date,
        session_owner_group: str,
        end_date: Date | None = None,
        instructors_mails: list[str] | None = None,
        additional_information: str | None = None,
    ) -> str:
        body: dict[str, Any] = {
            "sessionName": session_name,
            "startDate": _date(start_date),
            "sessionOwnerGroup": session_owner_group,
        }
        if end_date is not None:
            body["endDate"] = _date(end_date)
        if instructors_mails is not None:
            body["instructorsMails"] = instructors_mails
        if additional_information is not None:
            body["sessionAdditionalInformation"] = additional_information
        return str(self._call("POST", f"/api/v1/paths/{_seg(path_id)}/sessions/", body)["_id"])

    def list_path_sessions(self) -> list[SessionItem]:
        return cast(list[SessionItem], self._call("GET", "/api/v1/paths/sessions"))

    def get_path_session(self, session_id: str) -> SessionDetail:
        return cast(SessionDetail, self._call("GET", f"/api/v1/paths/sessions/{_seg(session_id)}"))

    def update_path_session(
        self,
        session_id: str,
        *,
        session_name: str,
        start_date: Date,
        session_owner_group: str,
        **optional: Any,
    ) -> SessionDetail:
        """`optional`: end_date, instructors_mails, additional_information; left out keeps the
        current value, None removes an end date or the additional information."""
        names = {
            "end_date": "endDate",
            "instructors_mails": "instructorsMails",
            "additional_information": "sessionAdditionalInformation",
        }
        unknown = set(optional) - set(names)
        if unknown:
            raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
        body: dict[str, Any] = {
            "sessionName": session_name,
            "startDate": _date(start_date),
            "sessionOwnerGroup": session_owner_group,
        }
        for name, value in optional.items():
            body[names[name]] = _date(value) if name == "end_date" and value else value
        url = f"/api/v1/paths/sessions/{_seg(session_id)}"
        return cast(SessionDetail, self._call("PATCH", url, body))

    def delete_path_session(self, session_id: str) -> None:
        self._call("DELETE", f"/api/v1/paths/sessions/{_seg(session_id)}")

    def list_session_users(self, session_id: str) -> list[User]:
        return cast(
            list[User], self._call("GET", f"/api/v1/paths/sessions/{_seg(session_id)}/users")
        )

    def _users_body(self, emails: list[str] | None, ids: list[str] | None) -> dict[str, Any]:
        if (emails is None) == (ids is None):
            raise TypeError("give exactly one of emails and ids")
        return {"userEmails": emails} if emails is not None else {"userIds": ids}

    def enrol_users(
        self, session_id: str, *, emails: list[str] | None = None, ids: list[str] | None = None
    ) -> None:
        url = f"/api/v1/paths/sessions/{_seg(session_id)}/users"
        self._call("PATCH", url, self._users_body(emails, ids))

    def unenrol_users(
        self, session_id: str, *, emails: list[str] | None = None, ids: list[str] | None = None
    ) -> None:
        url = f"/api/v1/paths/sessions/{_seg(session_id)}/users"
        self._call("DELETE", url, self._users_body(emails, ids))

    def enrol_groups(self, session_id: str, group_ids: list[str]) -> None:
        url = f"/api/v1/paths/sessions/{_seg(session_id)}/groups"
        self._call("PATCH", url, {"groupIds": group_ids})

    def unenrol_groups(self, session_id: str, group_ids: list[str]) -> None:
        url = f"/api/v1/paths/sessions/{_seg(session_id)}/groups"
        self._call("DELETE", url, {"groupIds": group_ids})

    # --- the company's groups, users and paths ------------------------------------------

    def list_groups(self) -> list[Group]:
        return cast(list[Group], self._call("GET", "/api/v1/groups"))

    def get_group(self, group_id: str) -> Group:
        return cast(Group, self._call("GET", f"/api/v1/groups/{_seg(group_id)}"))

    def list_users(self) -> list[User]:
        return cast(list[User], self._call("GET", "/api/v1/users"))

    def get_user(self, id_or_email: str) -> User:
        return cast(User, self._call("GET", f"/api/v1/users/{_seg(id_or_email)}"))

    def list_paths(self) -> list[Path]:
        return cast(list[Path], self._call("GET", "/api/v1/paths"))

    def get_path(self, path_id: str) -> Path:
        return cast(Path, self._call("GET", f"/api/v1/paths/{_seg(path_id)}"))
