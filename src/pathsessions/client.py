"""Small typed clients for the path-sessions API (this server's or the real service's): `Client`
for v1, `ClientV2` for v2.

    from pathsessions.client import Client, PathSessionsError

    with Client("http://127.0.0.1:8000", company_id, api_key) as api:
        session_id = api.create_path_session(
            path_id, session_name="Cohort 1", start_date="2030-01-15T09:00:00Z",
            session_owner_group=group_id, instructors_mails=["ines@acme.test"],
        )
        api.enrol_users(session_id, emails=["leo@acme.test"])
        print(api.get_path_session(session_id)["users"])

    with ClientV2("http://127.0.0.1:8000", client_id, client_secret) as api:
        session = api.create_path_session(
            path_id, name="Cohort 1", start_date="2030-01-15T09:00:00.000Z",
            main_instructor_id=user_id, registration_request_validation="disabled",
        )
        for item in api.list_all_path_sessions(path_id={"eq": path_id}):
            print(item["_id"], item["name"])

Every failure raises `PathSessionsError`, whose `status` is the HTTP status and `code` the
server's error code: the `error` member of its answer (v2: `error.code`, or the bare `error`
string of a 401 or 429), or "Not Found" for an unknown route. On v2 `message` holds the
server's `error.message`.
"""

from __future__ import annotations

import datetime as dt
import enum
import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Literal, NotRequired, Self, TypedDict, cast
from urllib.parse import quote

import httpx

__all__ = [
    "UNSET",
    "Audience",
    "AudienceFilter",
    "AudienceMode",
    "AutomaticReenrollment",
    "Client",
    "ClientV2",
    "DateFilter",
    "Enrollment",
    "EqFilter",
    "Group",
    "GroupV2",
    "IpFiltering",
    "LearnerStatus",
    "Membership",
    "Path",
    "PathOptions",
    "PathSession",
    "PathSessionWithoutTranslations",
    "PathSessionsError",
    "PathUserStat",
    "PathV2",
    "SessionDetail",
    "SessionGroup",
    "SessionItem",
    "SessionStats",
    "StatusFilter",
    "Token",
    "Translation",
    "User",
    "UserRole",
    "UserStat",
    "UserV2",
    "ValueFilter",
]


class PathSessionsError(Exception):
    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"{status} {code}: {message}" if message else f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message


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


class _Connection:
    """The HTTP connection both clients hold, closed by `close()` or at the end of a `with`."""

    _http: httpx.Client

    def __enter__(self) -> Self:
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


class Client(_Connection):
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


# --- v2 -----------------------------------------------------------------------------------

RegistrationRequestValidation = Literal[
    "disabled", "instructors", "managers", "adminsAndManagers", "adminsCoachesInstructorsManagers"
]
Role = Literal[
    "admin", "analyst", "editor", "coach", "contributor", "learner", "owner", "userAdmin"
]


class AutomaticReenrollment(TypedDict):
    type: Literal["certificationExpiryDate", "pathCompletionDate"]
    delayDays: int
    recurrenceMonths: NotRequired[int]  # pathCompletionDate only


class IpFiltering(TypedDict):
    active: bool
    authorizedAddresses: list[str]


class Translation(TypedDict):
    lang: str
    published: bool
    translatorIds: list[str]
    translatedFields: dict[str, str]


class PathSessionWithoutTranslations(TypedDict):
    _id: str
    pathId: str
    name: str
    startDate: str
    mainInstructorId: str
    instructorIds: list[str]
    groupId: str
    registrationRequestValidation: RegistrationRequestValidation
    isAudienceBuilder: bool
    createdAt: str
    modifiedAt: str
    endDate: NotRequired[str]
    userLimit: NotRequired[int]
    automaticReenrollment: NotRequired[AutomaticReenrollment]
    ipFiltering: NotRequired[IpFiltering]
    additionalInformation: NotRequired[str]
    rootSessionId: NotRequired[str]


class PathSession(PathSessionWithoutTranslations):
    translations: list[Translation]


class PathOptions(TypedDict):
    linearProgression: bool
    mandatoryReplay: bool
    displayForum: bool
    displayClassroomMessages: bool
    automatedReminders: bool
    notificationOnStepCreation: bool


class PathV2(TypedDict):
    _id: str
    name: str
    groupId: str
    authorId: str
    coAuthorIds: list[str]
    status: Literal["published", "archived"]
    defaultLang: str
    sourceLang: str
    options: PathOptions
    steps: list[dict[str, Any]]
    translations: list[Translation]
    createdAt: str
    modifiedAt: str
    certificateId: NotRequired[str]
    description: NotRequired[str]
    additionalInformation: NotRequired[str]


class GroupV2(TypedDict):
    _id: str
    name: str
    public: bool
    parentId: NotRequired[str]
    custom: NotRequired[str]


class UserV2(TypedDict):
    _id: str
    status: Literal["active", "invited", "deleted"]
    lang: str
    mail: NotRequired[str]
    username: NotRequired[str]
    firstName: NotRequired[str]
    lastName: NotRequired[str]
    job: NotRequired[str]
    organization: NotRequired[str]
    phone: NotRequired[str]
    custom: NotRequired[str]
    primaryGroupId: NotRequired[str]


class UserRole(TypedDict):
    """One member of a group."""

    userId: str
    role: Role


class Membership(TypedDict):
    """One group of a user."""

    groupId: str
    role: Role


# Filters: `created_at={"gte": "2030-01-01"}` is sent as `createdAt[gte]=2030-01-01`, and
# `path_id={"in": [a, b]}` as `pathId[in]=a&pathId[in]=b`; several filters are combined with AND.
Day = str | dt.date


class DateFilter(TypedDict, total=False):
    lt: Day  # strictly before
    gte: Day  # at or after


# "in" is a keyword: this one is spelt the functional way.
ValueFilter = TypedDict(
    "ValueFilter", {"eq": str, "ne": str, "in": Sequence[str], "nin": Sequence[str]}, total=False
)


class StatusFilter(TypedDict, total=False):
    eq: str
    ne: str


class EqFilter(TypedDict, total=False):
    eq: str


# --- learners' statistics (v2) ---------------------------------------------------------


class _LearnerStatusRequired(TypedDict):
    type: str  # awaitingCorrection, late, notYetStarted, onTime, sessionNotOpened, ...


class LearnerStatus(_LearnerStatusRequired, total=False):
    reason: str  # toRetake: mandatoryReplay; unsuccessful: sessionEnded


class _UserStatRequired(TypedDict):
    _id: str  # the enrollment
    userId: str
    progress: int
    status: LearnerStatus
    timeSpent: int  # milliseconds
    enrolledAt: str
    selfEnrolled: bool


class UserStat(_UserStatRequired, total=False):
    completedAt: str
    score: int
    unenrolledAt: str
    certificateId: str
    startedAt: str
    dueDate: str


class PathUserStat(UserStat):
    pathId: str
    sessionId: str


class SessionStats(TypedDict):
    certificates: int
    usersCountByStatus: dict[str, int]


# --- who is enrolled (v2 §5) ---

AudienceMode = Literal["dynamic", "dynamicEnrollment", "dynamicUnenrollment", "manual"]


class AudienceFilter(TypedDict):
    type: Literal["users", "groups", "excludedLearners"]
    ids: list[str]


class Audience(TypedDict):
    filters: list[AudienceFilter]
    mode: AudienceMode


class Enrollment(TypedDict):
    """One user in one session: `published`, or `archived` once unenrolled."""

    _id: str
    userId: str
    sessionId: str
    createdAt: str
    isSelfEnrolled: bool
    status: Literal["published", "archived"]
    archivedAt: NotRequired[str]
    modifiedAt: NotRequired[str]


# --- end of who is enrolled ---


class _Unset(enum.Enum):
    UNSET = enum.auto()


# An edit leaves out every field left UNSET; None clears a field that can be cleared.
UNSET: Final = _Unset.UNSET

# A token is fetched again this long before it expires, so that it does not expire on the way.
TOKEN_MARGIN_SECONDS = 30.0


def _v2_date(value: Date) -> str:
    """A date-time in the form v2 answers with, YYYY-MM-DDThh:mm:ss.sssZ."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("datetimes sent to the API must carry a time zone")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{value.microsecond // 1000:03d}Z"
    )


def _filter_value(value: Day) -> str:
    if isinstance(value, dt.datetime):
        return _v2_date(value)
    if isinstance(value, dt.date):
        return value.isoformat()  # a bare day: midnight UTC
    return value


def _filters(**fields: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Query parameters `field[operator]=value` for the filters given (the keyword names are the
    API's field names)."""
    params: list[tuple[str, str]] = []
    for field, operators in fields.items():
        for operator, value in (operators or {}).items():
            if operator in ("in", "nin"):
                if isinstance(value, str):
                    raise TypeError(f"{field}[{operator}] takes a list of values")
                if operator == "in" and not value:
                    # Sent as no parameter at all, it would match everything.
                    raise ValueError(f"{field}[in] needs at least one value")
                params.extend((f"{field}[{operator}]", str(v)) for v in value)
            else:
                params.append((f"{field}[{operator}]", _filter_value(value)))
    return params


def _v2_error(response: httpx.Response) -> PathSessionsError:
    try:
        data = response.json()
    except ValueError:
        data = None
    code, message = "unknown_error", ""
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            code = str(error.get("code") or code)
            message = str(error.get("message") or "")
        elif isinstance(error, str) and error:
            code = error
        elif isinstance(data.get("message"), str):
            code = data["message"]  # an unknown route: {"message": "Not Found", ...}
    return PathSessionsError(response.status_code, code, message)


def _is_invalid_token(response: httpx.Response) -> bool:
    return response.status_code == 401 and _v2_error(response).code == "invalid_token"


class ClientV2(_Connection):
    """The v2 API with a v2 API credential (client id and secret). A bearer token is fetched on
    the first call and again when it is about to expire, or when the server refuses it once
    (401 `invalid_token`: revoked, or the server restarted with another signing key).

    List methods return iterators over every item of every page: the first page is fetched at
    the call (so a bad path id or filter raises there), the next ones as the iteration reaches
    them, following the `Link: <…>; rel="next"` header. The next page is asked of the same
    endpoint on this client's base URL with the query of that link: the token is never sent
    to another host, and a server behind a proxy that rewrites its host pages the same.
    """

    API_VERSION = "v2.0"

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        company_id: str | None = None,
        user_id: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self._company_id = company_id
        self._user_id = user_id
        self._token: str | None = None
        self._token_expires = 0.0  # time.monotonic() value
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    # --- plumbing -----------------------------------------------------------------------

    def fetch_token(self) -> Token:
        """Fetch a new bearer token now (the other calls do it when they need one)."""
        body = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        if self._company_id is not None:
            body["company_id"] = self._company_id
        if self._user_id is not None:
            body["user_id"] = self._user_id
        asked_at = time.monotonic()
        response = self._http.post("/api/v2/oauth2/token", json=body)
        if response.status_code != 200:
            raise _v2_error(response)
        data = response.json()
        self._token = str(data["access_token"])
        # Our server answers "3600", as v1 does; the published document says a number.
        self._token_expires = asked_at + float(data["expires_in"]) - TOKEN_MARGIN_SECONDS
        return cast(Token, data)

    def _send(
        self,
        method: str,
        url: str,
        *,
        body: dict[str, Any] | None = None,
        params: Any = None,
    ) -> httpx.Response:
        fresh = self._token is None or time.monotonic() >= self._token_expires
        if fresh:
            self.fetch_token()
        response = self._attempt(method, url, body, params)
        # A token refused before its time is fetched again, once; a fresh one refused is
        # refused for good.
        if not fresh and _is_invalid_token(response):
            self.fetch_token()
            response = self._attempt(method, url, body, params)
        if response.status_code >= 400:
            raise _v2_error(response)
        return response

    def _attempt(
        self, method: str, url: str, body: dict[str, Any] | None, params: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}", "360-api-version": self.API_VERSION}
        return self._http.request(method, url, json=body, params=params, headers=headers)

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        response = self._send(method, url, body=body)
        return response.json() if response.content else None

    def _list(self, url: str, params: list[tuple[str, str]] | None = None) -> Iterator[Any]:
        first = self._send("GET", url, params=params)

        def items(response: httpx.Response) -> Iterator[Any]:
            while True:
                yield from response.json()
                link = response.links.get("next", {}).get("url")
                if not link:
                    return
                response = self._send("GET", url, params=httpx.URL(link).params)

        return items(first)

    # --- path sessions ------------------------------------------------------------------

    def create_path_session(
        self,
        path_id: str,
        *,
        name: str,
        start_date: Date,
        main_instructor_id: str,
        registration_request_validation: RegistrationRequestValidation,
        end_date: Date | None = None,
        instructor_ids: Sequence[str] | None = None,
        user_limit: int | None = None,
        automatic_reenrollment: AutomaticReenrollment | None = None,
        ip_filtering: IpFiltering | None = None,
        additional_information: str | None = None,
    ) -> PathSession:
        body: dict[str, Any] = {
            "name": name,
            "startDate": _v2_date(start_date),
            "mainInstructorId": main_instructor_id,
            "registrationRequestValidation": registration_request_validation,
        }
        optional: dict[str, Any] = {
            "endDate": None if end_date is None else _v2_date(end_date),
            "instructorIds": None if instructor_ids is None else list(instructor_ids),
            "userLimit": user_limit,
            "automaticReenrollment": automatic_reenrollment,
            "ipFiltering": ip_filtering,
            "additionalInformation": additional_information,
        }
        body.update((k, v) for k, v in optional.items() if v is not None)
        url = f"/api/v2/paths/{_seg(path_id)}/sessions"
        return cast(PathSession, self._call("POST", url, body))

    def list_path_sessions(
        self,
        path_id: str,
        *,
        created_at: DateFilter | None = None,
        modified_at: DateFilter | None = None,
        start_date: DateFilter | None = None,
        end_date: DateFilter | None = None,
    ) -> Iterator[PathSession]:
        params = _filters(
            createdAt=created_at, modifiedAt=modified_at, startDate=start_date, endDate=end_date
        )
        return self._list(f"/api/v2/paths/{_seg(path_id)}/sessions", params)

    def list_all_path_sessions(
        self,
        *,
        path_id: ValueFilter | None = None,
        session_id: ValueFilter | None = None,
        created_at: DateFilter | None = None,
        modified_at: DateFilter | None = None,
        start_date: DateFilter | None = None,
        end_date: DateFilter | None = None,
    ) -> Iterator[PathSessionWithoutTranslations]:
        """The sessions of every path of the company (without their translations)."""
        params = _filters(
            pathId=path_id,
            sessionId=session_id,
            createdAt=created_at,
            modifiedAt=modified_at,
            startDate=start_date,
            endDate=end_date,
        )
        return self._list("/api/v2/paths/sessions", params)

    def get_path_session(self, path_id: str, session_id: str) -> PathSession:
        url = f"/api/v2/paths/{_seg(path_id)}/sessions/{_seg(session_id)}"
        return cast(PathSession, self._call("GET", url))

    def edit_path_session(
        self,
        path_id: str,
        session_id: str,
        *,
        name: str | _Unset = UNSET,
        start_date: Date | _Unset = UNSET,
        end_date: Date | _Unset | None = UNSET,
        main_instructor_id: str | _Unset = UNSET,
        instructor_ids: Sequence[str] | _Unset = UNSET,
        group_id: str | _Unset = UNSET,
        registration_request_validation: RegistrationRequestValidation | _Unset = UNSET,
        user_limit: int | _Unset | None = UNSET,
        automatic_reenrollment: AutomaticReenrollment | _Unset | None = UNSET,
        ip_filtering: IpFiltering | _Unset | None = UNSET,
        additional_information: str | _Unset | None = UNSET,
    ) -> PathSession:
        """Change the fields given; None clears an optional one."""
        fields: dict[str, Any] = {
            "name": name,
            "startDate": start_date if isinstance(start_date, _Unset) else _v2_date(start_date),
            "endDate": end_date if end_date is None or end_date is UNSET else _v2_date(end_date),
            "mainInstructorId": main_instructor_id,
            "instructorIds": (
                instructor_ids if isinstance(instructor_ids, _Unset) else list(instructor_ids)
            ),
            "groupId": group_id,
            "registrationRequestValidation": registration_request_validation,
            "userLimit": user_limit,
            "automaticReenrollment": automatic_reenrollment,
            "ipFiltering": ip_filtering,
            "additionalInformation": additional_information,
        }
        body = {k: v for k, v in fields.items() if v is not UNSET}
        url = f"/api/v2/paths/{_seg(path_id)}/sessions/{_seg(session_id)}"
        return cast(PathSession, self._call("PATCH", url, body))

    def delete_path_session(self, path_id: str, session_id: str) -> None:
        self._call("DELETE", f"/api/v2/paths/{_seg(path_id)}/sessions/{_seg(session_id)}")

    def edit_child_session(
        self,
        path_id: str,
        child_session_id: str,
        *,
        main_instructor_id: str | _Unset = UNSET,
        instructor_ids: Sequence[str] | _Unset = UNSET,
        additional_information: str | _Unset | None = UNSET,
    ) -> PathSession:
        fields: dict[str, Any] = {
            "mainInstructorId": main_instructor_id,
            "instructorIds": (
                instructor_ids if isinstance(instructor_ids, _Unset) else list(instructor_ids)
            ),
            "additionalInformation": additional_information,
        }
        body = {k: v for k, v in fields.items() if v is not UNSET}
        url = f"/api/v2/paths/{_seg(path_id)}/child-sessions/{_seg(child_session_id)}"
        return cast(PathSession, self._call("PATCH", url, body))

    # --- paths, groups, users -----------------------------------------------------------

    def list_paths(
        self,
        *,
        created_at: DateFilter | None = None,
        modified_at: DateFilter | None = None,
        status: EqFilter | None = None,
    ) -> Iterator[PathV2]:
        params = _filters(createdAt=created_at, modifiedAt=modified_at, status=status)
        return self._list("/api/v2/paths", params)

    def get_path(self, path_id: str) -> PathV2:
        return cast(PathV2, self._call("GET", f"/api/v2/paths/{_seg(path_id)}"))

    def list_groups(self) -> Iterator[GroupV2]:
        return self._list("/api/v2/groups")

    def get_group(self, group_id: str) -> GroupV2:
        return cast(GroupV2, self._call("GET", f"/api/v2/groups/{_seg(group_id)}"))

    def list_group_roles(self, group_id: str) -> Iterator[UserRole]:
        """The members of the group, one item per role held."""
        return self._list(f"/api/v2/groups/{_seg(group_id)}/roles")

    def list_users(
        self,
        *,
        mail: ValueFilter | None = None,
        username: ValueFilter | None = None,
        status: StatusFilter | None = None,
    ) -> Iterator[UserV2]:
        """Every user, deleted ones included unless `status={"ne": "deleted"}`; find one by
        e-mail with `mail={"eq": address}`."""
        return self._list("/api/v2/users", _filters(mail=mail, username=username, status=status))

    def get_user(self, user_id: str) -> UserV2:
        return cast(UserV2, self._call("GET", f"/api/v2/users/{_seg(user_id)}"))

    def list_user_roles(self, user_id: str) -> Iterator[Membership]:
        """The groups of the user, one item per role held."""
        return self._list(f"/api/v2/users/{_seg(user_id)}/roles")

    # --- who is enrolled: audiences, enrollments, self-enrollments ---------------------

    def get_audience(self, path_id: str, session_id: str) -> Audience:
        url = f"/api/v2/paths/{_seg(path_id)}/sessions/{_seg(session_id)}/audiences"
        return cast(Audience, self._call("GET", url))

    def put_audience(
        self,
        path_id: str,
        session_id: str,
        *,
        mode: AudienceMode,
        users: Sequence[str] | None = None,
        groups: Sequence[str] | None = None,
        excluded_learners: Sequence[str] | None = None,
    ) -> Audience:
        """Replace the session's audience (a filter left None is not sent) and apply it."""
        given = {"users": users, "groups": groups, "excludedLearners": excluded_learners}
        filters = [{"type": t, "ids": list(ids)} for t, ids in given.items() if ids is not None]
        url = f"/api/v2/paths/{_seg(path_id)}/sessions/{_seg(session_id)}/audiences"
        return cast(Audience, self._call("PUT", url, {"filters": filters, "mode": mode}))

    def list_enrollments(
        self,
        path_id: str,
        *,
        status: EqFilter | None = None,
        session_id: ValueFilter | None = None,
        created_at: DateFilter | None = None,
        modified_at: DateFilter | None = None,
    ) -> Iterator[Enrollment]:
        """Every enrollment of the path's sessions, published and archived."""
        params = _filters(
            status=status, sessionId=session_id, createdAt=created_at, modifiedAt=modified_at
        )
        return self._list(f"/api/v2/paths/{_seg(path_id)}/enrollments", params)

    def archive_self_enrollment(self, path_id: str, session_id: str, user_id: str) -> None:
        url = (
            f"/api/v2/paths/{_seg(path_id)}/sessions/{_seg(session_id)}"
            f"/self-enrollments/{_seg(user_id)}"
        )
        self._call("DELETE", url)

    # --- learners' statistics -----------------------------------------------------------

    def get_session_stats(self, path_id: str, session_id: str) -> SessionStats:
        """The session's enrolled learners counted by status, and their certificates."""
        url = f"/api/v2/paths/{_seg(path_id)}/sessions/{_seg(session_id)}/user-statuses"
        return cast(SessionStats, self._call("GET", url))

    def list_user_stats(
        self,
        path_id: str,
        session_id: str,
        *,
        user_id: ValueFilter | None = None,
        completed_at: DateFilter | None = None,
    ) -> Iterator[UserStat]:
        """The session's learners with their statistics, unenrolled ones included."""
        url = f"/api/v2/paths/{_seg(path_id)}/sessions/{_seg(session_id)}/user-stats"
        return self._list(url, _filters(userId=user_id, completedAt=completed_at))

    def list_path_stats(
        self,
        *,
        status: EqFilter | None = None,
        path_id: ValueFilter | None = None,
        user_id: ValueFilter | None = None,
        completed_at: DateFilter | None = None,
    ) -> Iterator[PathUserStat]:
        """Every learner of every session of the company with their statistics; `status`
        is the enrollment's (`{"eq": "published"}` leaves the unenrolled out)."""
        params = _filters(status=status, pathId=path_id, userId=user_id, completedAt=completed_at)
        return self._list("/api/v2/paths/stats", params)

    # --- webhooks (§8) --------------------------------------------------------------------

    def create_webhook_subscription(
        self, *, event_type: str, name: str, url: str
    ) -> WebhookSubscription:
        body = {"eventType": event_type, "name": name, "url": url}
        return cast(WebhookSubscription, self._call("POST", _SUBSCRIPTIONS, body))

    def list_webhook_subscriptions(
        self, *, event_type: StatusFilter | None = None
    ) -> Iterator[WebhookSubscription]:
        return self._list(_SUBSCRIPTIONS, _filters(eventType=event_type))

    def get_webhook_subscription(self, subscription_id: str) -> WebhookSubscription:
        url = f"{_SUBSCRIPTIONS}/{_seg(subscription_id)}"
        return cast(WebhookSubscription, self._call("GET", url))

    def edit_webhook_subscription(
        self,
        subscription_id: str,
        *,
        name: str | _Unset = UNSET,
        status: Literal["active", "inactive"] | _Unset = UNSET,
        url: str | _Unset = UNSET,
    ) -> WebhookSubscription:
        fields: dict[str, Any] = {"name": name, "status": status, "url": url}
        body = {k: v for k, v in fields.items() if v is not UNSET}
        path = f"{_SUBSCRIPTIONS}/{_seg(subscription_id)}"
        return cast(WebhookSubscription, self._call("PATCH", path, body))

    def delete_webhook_subscription(self, subscription_id: str) -> None:
        self._call("DELETE", f"{_SUBSCRIPTIONS}/{_seg(subscription_id)}")

    def get_webhook_secret(self, subscription_id: str) -> str:
        answer = self._call("GET", f"{_SUBSCRIPTIONS}/{_seg(subscription_id)}/secrets")
        return cast(str, answer["secret"])

    def rotate_webhook_secret(self, subscription_id: str) -> str:
        """A new secret; the previous one still signs deliveries for 24 hours."""
        answer = self._call("POST", f"{_SUBSCRIPTIONS}/{_seg(subscription_id)}/secrets/rotate")
        return cast(str, answer["secret"])

    def list_webhook_events(
        self,
        subscription_id: str,
        *,
        created_at: DateFilter | None = None,
        status: EqFilter | None = None,
    ) -> Iterator[WebhookEvent]:
        url = f"{_SUBSCRIPTIONS}/{_seg(subscription_id)}/events"
        return self._list(url, _filters(createdAt=created_at, status=status))

    def retry_webhook_events(
        self,
        subscription_id: str,
        *,
        start_date: Date,
        end_date: Date,
        delivered: bool = False,
    ) -> None:
        """Send again the failed events (the delivered ones with `delivered`) created in the
        timeframe, at most 3 days long."""
        which = "retry-success" if delivered else "retry-failure"
        body = {"startDate": _v2_date(start_date), "endDate": _v2_date(end_date)}
        self._call("POST", f"{_SUBSCRIPTIONS}/{_seg(subscription_id)}/events/{which}", body)


_SUBSCRIPTIONS = "/api/v2/webhooks/subscriptions"


class WebhookSubscription(TypedDict):
    _id: str
    eventType: str
    name: str
    url: str
    status: Literal["active", "inactive"]


class WebhookEvent(TypedDict):
    _id: str  # the webhook-id header of its deliveries
    createdAt: str
    status: Literal["delivered", "failed", "pending", "sending"]
    payload: dict[str, Any]
