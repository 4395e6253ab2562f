"""`pathsessions.client.ClientV2`: what it sends and how it reads the answers.

First against a scripted server (httpx.MockTransport), for what the real one cannot be made to
do on demand: a token refused before its time, a Link to another host, a 429. Then through
the real app.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from pathsessions.app import App
from pathsessions.client import (
    TOKEN_MARGIN_SECONDS,
    ClientV2,
    PathSessionsError,
)
from pathsessions.core.clock import SettableClock
from pathsessions.loader import load_document
from support import WORLD, World, realserver, world_document
from support.realserver import Servers, stop_cleanly
from support.world import ACME_FULL, ACME_PATHS_READ, EXAMPLE, Credential
from test_v2_groups import add_groups

CLIENT_ID = "0123456789abcdef0123456789abcdef"
SECRET = "s3cret"
PATH = "6c0000000000000000000001"
SESSION = "6d0000000000000000000001"

Handler = Callable[[httpx.Request], httpx.Response]


class Scripted:
    """A server that issues numbered tokens, accepts the ones in `valid`, and otherwise
    answers with `handler`; it keeps every request it was sent."""

    def __init__(self, handler: Handler, *, expires_in: Any = "3600") -> None:
        self.handler = handler
        self.expires_in = expires_in
        self.requests: list[httpx.Request] = []
        self.issued = 0
        self.valid: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/api/v2/oauth2/token":
            self.issued += 1
            token = f"token-{self.issued}"
            self.valid.add(token)
            return httpx.Response(
                200,
                json={"token_type": "Bearer", "access_token": token, "expires_in": self.expires_in},
            )
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.valid:
            return httpx.Response(401, json={"error": "invalid_token"})
        return self.handler(request)

    def client(self, **options: Any) -> ClientV2:
        return ClientV2(
            "http://api.test", CLIENT_ID, SECRET, transport=httpx.MockTransport(self), **options
        )

    def calls(self) -> list[str]:
        """The requests sent, as `METHOD path?query`, tokens marked T."""
        return [
            "T" if r.url.path == "/api/v2/oauth2/token" else f"{r.method} {r.url.raw_path.decode()}"
            for r in self.requests
        ]


def answer(body: Any, status: int = 200, **headers: str) -> Handler:
    return lambda request: httpx.Response(status, json=body, headers=headers)


def test_a_token_is_fetched_with_the_credential_and_every_call_carries_it_and_the_version() -> None:
    server = Scripted(answer({"_id": PATH}))
    with server.client(company_id="5f1b2c3d4e5f60718293a4b5") as api:
        api.get_path(PATH)
        api.get_path(PATH)
    token_request, *calls = server.requests
    assert token_request.method == "POST"
    assert token_request.headers["content-type"] == "application/json"
    assert "360-api-version" not in token_request.headers
    assert json.loads(token_request.content) == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "company_id": "5f1b2c3d4e5f60718293a4b5",
    }
    assert len(calls) == 2  # one token for both
    for call in calls:
        assert call.headers["authorization"] == "Bearer token-1"
        assert call.headers["360-api-version"] == "v2.0"


@pytest.mark.parametrize("expires_in", [str(int(TOKEN_MARGIN_SECONDS)), TOKEN_MARGIN_SECONDS])
def test_a_token_about_to_expire_is_fetched_again_before_the_call(expires_in: Any) -> None:
    server = Scripted(answer({"_id": PATH}), expires_in=expires_in)
    with server.client() as api:
        api.get_path(PATH)
        api.get_path(PATH)
    assert server.calls() == ["T", f"GET /api/v2/paths/{PATH}", "T", f"GET /api/v2/paths/{PATH}"]
    assert server.requests[-1].headers["authorization"] == "Bearer token-2"


def test_a_token_refused_before_its_time_is_fetched_again_once() -> None:
    server = Scripted(answer({"_id": PATH}))
    with server.client() as api:
        api.get_path(PATH)
        server.valid.clear()  # revoked, say
        assert api.get_path(PATH)["_id"] == PATH
        assert server.calls()[2:] == ["GET /api/v2/paths/" + PATH, "T", "GET /api/v2/paths/" + PATH]

        # Refused again with the new token: raised, with no third token.
        server.handler = answer({"error": "invalid_token"}, 401)
        with pytest.raises(PathSessionsError) as refused:
            api.get_path(PATH)
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        401,
        "invalid_token",
        "",
    )
    assert server.issued == 3


def test_a_fresh_token_refused_is_not_fetched_again() -> None:
    server = Scripted(answer({"error": "invalid_token"}, 401))
    with server.client() as api, pytest.raises(PathSessionsError) as refused:
        api.get_path(PATH)
    assert refused.value.code == "invalid_token"
    assert server.calls() == ["T", f"GET /api/v2/paths/{PATH}"]


def test_a_refused_credential_raises_the_token_endpoints_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client"})

    with (
        ClientV2(
            "http://api.test", CLIENT_ID, "wrong", transport=httpx.MockTransport(refuse)
        ) as api,
        pytest.raises(PathSessionsError) as refused,
    ):
        api.list_groups()
    assert (refused.value.status, refused.value.code) == (401, "invalid_client")


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        (
            404,
            {"error": {"code": "sessionNotFound", "message": "no such session"}},
            "sessionNotFound",
            "no such session",
        ),
        (429, {"error": "tooManyRequests"}, "tooManyRequests", ""),
        (
            404,
            {"message": "Not Found", "documentation_url": "https://docs.test"},
            "Not Found",
            "",
        ),
        (500, "not json", "unknown_error", ""),
    ],
)
def test_errors_carry_the_status_the_code_and_the_message(
    status: int, body: Any, code: str, message: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    with Scripted(fail).client() as api, pytest.raises(PathSessionsError) as failed:
        api.get_path_session(PATH, SESSION)
    assert (failed.value.status, failed.value.code, failed.value.message) == (
        status,
        code,
        message,
    )
    assert str(failed.value) == f"{status} {code}" + (f": {message}" if message else "")


def test_filters_are_sent_as_field_operator_value() -> None:
    server = Scripted(answer([]))
    paris = dt.timezone(dt.timedelta(hours=1))
    with server.client() as api:
        list(
            api.list_all_path_sessions(
                path_id={"in": [PATH, "6c0000000000000000000002"]},
                session_id={"ne": SESSION},
                created_at={"gte": dt.date(2030, 1, 1)},
                start_date={"lt": dt.datetime(2030, 1, 15, 9, 30, 0, 250_000, tzinfo=paris)},
                end_date={"gte": "2030-02-01T00:00:00.000Z"},
            )
        )
        list(api.list_users(mail={"eq": "a+b@acme.test"}, status={"ne": "deleted"}))
        list(api.list_paths(status={"eq": "published"}))
        list(api.list_path_sessions(PATH))
    _, *calls = server.calls()
    assert calls == [
        "GET /api/v2/paths/sessions?pathId%5Bin%5D=6c0000000000000000000001"
        "&pathId%5Bin%5D=6c0000000000000000000002&sessionId%5Bne%5D=6d0000000000000000000001"
        "&createdAt%5Bgte%5D=2030-01-01&startDate%5Blt%5D=2030-01-15T08%3A30%3A00.250Z"
        "&endDate%5Bgte%5D=2030-02-01T00%3A00%3A00.000Z",
        "GET /api/v2/users?mail%5Beq%5D=a%2Bb%40acme.test&status%5Bne%5D=deleted",
        "GET /api/v2/paths?status%5Beq%5D=published",
        f"GET /api/v2/paths/{PATH}/sessions",
    ]


def test_a_filter_that_cannot_be_sent_is_refused_before_sending() -> None:
    server = Scripted(answer([]))
    with server.client() as api:
        with pytest.raises(ValueError, match=r"pathId\[in\] needs at least one value"):
            api.list_all_path_sessions(path_id={"in": []})
        with pytest.raises(TypeError, match="takes a list"):
            api.list_all_path_sessions(path_id={"nin": PATH})
        with pytest.raises(ValueError, match="time zone"):
            api.list_path_sessions(PATH, created_at={"lt": dt.datetime(2030, 1, 1)})
    assert server.requests == []


def pages(*contents: list[int], host: str = "api.test") -> Handler:
    """Page n answers contents[n], with a Link to page n + 1 while there is one."""

    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("next", "0"))
        headers = {}
        if n + 1 < len(contents):
            # As our server writes it: the same path, one `next` parameter.
            headers["Link"] = f'<https://{host}{request.url.path}?next={n + 1}>; rel="next"'
        return httpx.Response(200, json=contents[n], headers=headers)

    return handler


def test_a_list_follows_the_next_links_as_it_is_iterated() -> None:
    server = Scripted(pages([1, 2], [3], [4, 5]))
    with server.client() as api:
        groups: Iterator[Any] = api.list_groups()
        assert server.calls() == ["T", "GET /api/v2/groups"]  # the first page at the call
        assert next(groups) == 1
        assert list(groups) == [2, 3, 4, 5]
    assert server.calls()[1:] == [
        "GET /api/v2/groups",
        "GET /api/v2/groups?next=1",
        "GET /api/v2/groups?next=2",
    ]


def test_the_next_pages_are_asked_of_this_clients_server_whatever_host_the_link_names() -> None:
    server = Scripted(pages([1], [2], host="elsewhere.test"))
    with server.client() as api:
        roles: Iterator[Any] = api.list_group_roles("6a0000000000000000000001")
        assert list(roles) == [1, 2]
    assert {r.url.host for r in server.requests} == {"api.test"}
    assert all(r.url.scheme == "http" for r in server.requests)


def test_a_list_raises_at_the_call_and_a_later_page_raises_as_it_is_reached() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "next" in request.url.params:
            return httpx.Response(400, json={"error": {"code": "badRequest", "message": "next"}})
        if request.url.path.endswith("/roles"):
            return httpx.Response(
                404, json={"error": {"code": "userNotFound", "message": "no such user"}}
            )
        return httpx.Response(200, json=[1], headers={"Link": '</api/v2/users?next=x>; rel="next"'})

    with Scripted(handler).client() as api:
        with pytest.raises(PathSessionsError) as missing:
            api.list_user_roles("6b0000000000000000000009")
        assert missing.value.code == "userNotFound"
        users: Iterator[Any] = api.list_users()
        assert next(users) == 1
        with pytest.raises(PathSessionsError) as refused:
            next(users)
        assert (refused.value.code, refused.value.message) == ("badRequest", "next")


def test_an_edit_sends_only_the_fields_given_and_none_clears() -> None:
    server = Scripted(answer({"_id": SESSION}))
    with server.client() as api:
        api.edit_path_session(PATH, SESSION)
        api.edit_path_session(
            PATH,
            SESSION,
            name="Renamed",
            start_date=dt.datetime(2030, 1, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            end_date=None,
            instructor_ids=("6b0000000000000000000002",),
            user_limit=None,
            ip_filtering={"active": True, "authorizedAddresses": ["10.0.0.*"]},
            additional_information=None,
        )
        api.edit_child_session(PATH, SESSION, additional_information=None)
        api.delete_path_session(PATH, SESSION)
    bodies = [json.loads(r.content) if r.content else None for r in server.requests[1:]]
    assert bodies == [
        {},
        {
            "name": "Renamed",
            "startDate": "2030-01-01T09:00:00.000Z",
            "endDate": None,
            "instructorIds": ["6b0000000000000000000002"],
            "userLimit": None,
            "ipFiltering": {"active": True, "authorizedAddresses": ["10.0.0.*"]},
            "additionalInformation": None,
        },
        {"additionalInformation": None},
        None,
    ]
    assert server.calls()[1:] == [
        f"PATCH /api/v2/paths/{PATH}/sessions/{SESSION}",
        f"PATCH /api/v2/paths/{PATH}/sessions/{SESSION}",
        f"PATCH /api/v2/paths/{PATH}/child-sessions/{SESSION}",
        f"DELETE /api/v2/paths/{PATH}/sessions/{SESSION}",
    ]


def test_a_create_sends_the_required_fields_and_the_optional_ones_given() -> None:
    server = Scripted(answer({"_id": SESSION}))
    with server.client() as api:
        api.create_path_session(
            PATH,
            name="Cohort",
            start_date="2030-01-01T09:00:00.000Z",
            main_instructor_id="6b0000000000000000000002",
            registration_request_validation="disabled",
            user_limit=12,
            automatic_reenrollment={
                "type": "pathCompletionDate",
                "delayDays": 30,
                "recurrenceMonths": 12,
            },
        )
    assert server.calls()[1] == f"POST /api/v2/paths/{PATH}/sessions"
    assert json.loads(server.requests[1].content) == {
        "name": "Cohort",
        "startDate": "2030-01-01T09:00:00.000Z",
        "mainInstructorId": "6b0000000000000000000002",
        "registrationRequestValidation": "disabled",
        "userLimit": 12,
        "automaticReenrollment": {
            "type": "pathCompletionDate",
            "delayDays": 30,
            "recurrenceMonths": 12,
        },
    }


# --- Through the real app ------------------------------------------------------------------

T = TypeVar("T")


class InApp(httpx.BaseTransport):
    """The real app behind the (synchronous) client: the client runs in a worker thread, and
    each of its requests is answered on the test's event loop, where the app and its database
    connections live. Keeps the path and query of every request."""

    def __init__(self, app: App) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = asyncio.get_running_loop()
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.raw_path.decode()}")

        async def answer() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run_coroutine_threadsafe(answer(), self._loop).result(timeout=30)


async def with_client(
    app: App, scenario: Callable[[ClientV2, InApp], T], credential: Credential = ACME_FULL
) -> T:
    transport = InApp(app)

    def run() -> T:
        with ClientV2(
            "http://testserver",
            credential.client_id,
            credential.client_secret,
            transport=transport,
        ) as api:
            return scenario(api, transport)

    return await asyncio.to_thread(run)


async def test_groups_are_read_and_paged_through_the_app(app: App, world: World) -> None:
    more = await add_groups(app.db, world.company, 500)

    def scenario(api: ClientV2, sent: InApp) -> None:
        groups = list(api.list_groups())
        assert [g["_id"] for g in groups] == [world.root_group, world.sales_group, *more]
        pages = [call for call in sent.sent if call.startswith("GET /api/v2/groups")]
        assert len(pages) == 2, pages
        assert pages[1].startswith("GET /api/v2/groups?next=")
        assert api.get_group(world.sales_group) == {
            "_id": world.sales_group,
            "name": "Sales",
            "public": False,
            "parentId": world.root_group,
        }
        with pytest.raises(PathSessionsError) as missing:
            api.get_group(world.other_group)
        assert (missing.value.status, missing.value.code) == (404, "groupNotFound")
        assert missing.value.message

    await with_client(app, scenario)


async def test_a_token_the_server_no_longer_takes_is_fetched_again(
    app: App, world: World, settable_clock: SettableClock
) -> None:
    def scenario(api: ClientV2, sent: InApp) -> None:
        api.get_group(world.root_group)
        settable_clock.advance(2 * 3600 * 1000)  # the server's clock: the token has expired
        api.get_group(world.root_group)
        tokens = [call for call in sent.sent if call.startswith("POST /api/v2/oauth2/token")]
        assert len(tokens) == 2, sent.sent

    await with_client(app, scenario)


async def test_a_scope_the_credential_lacks_is_an_error_with_its_code(
    app: App, world: World
) -> None:
    def scenario(api: ClientV2, sent: InApp) -> None:
        with pytest.raises(PathSessionsError) as refused:
            api.list_groups()
        assert (refused.value.status, refused.value.code) == (403, "invalid_scope")
        assert refused.value.message

    await with_client(app, scenario, ACME_PATHS_READ)


async def test_a_wrong_secret_is_the_token_endpoints_invalid_client(app: App, world: World) -> None:
    def scenario(api: ClientV2, sent: InApp) -> None:
        with pytest.raises(PathSessionsError) as refused:
            api.get_group(world.root_group)
        assert (refused.value.status, refused.value.code) == (401, "invalid_client")

    wrong = Credential(ACME_FULL.client_id, "not-the-secret", "wrong", ())
    await with_client(app, scenario, wrong)


async def test_sessions_and_the_reads_around_them_through_the_app(app: App) -> None:
    document = world_document()
    acme = document["companies"][0]
    fixture_ids = [f"6d00000000000000000001{n:02x}" for n in range(101)]
    child = "6d0000000000000000000300"
    acme["sessions"] = [
        {
            "id": session_id,
            "path": WORLD.path,
            "sessionName": f"Cohort {n}",
            "startDate": "2030-01-01T09:00:00.000Z",
            "sessionOwnerGroup": WORLD.root_group,
            "instructorsMails": [WORLD.instructor_mail],
        }
        for n, session_id in enumerate(fixture_ids)
    ]
    acme["sessions"].append(
        {**acme["sessions"][0], "id": child, "rootSession": fixture_ids[0], "sessionName": "Child"}
    )
    await load_document(app.db, document)

    def scenario(api: ClientV2, sent: InApp) -> None:
        listed = [item["_id"] for item in api.list_path_sessions(WORLD.path)]
        assert listed == [*fixture_ids, child]
        pages = [c for c in sent.sent if c.startswith(f"GET /api/v2/paths/{WORLD.path}/sessions")]
        assert len(pages) == 2, pages
        picked = api.list_all_path_sessions(session_id={"in": [child, fixture_ids[5]]})
        assert [(item["_id"], item.get("rootSessionId")) for item in picked] == [
            (fixture_ids[5], None),
            (child, fixture_ids[0]),
        ]

        created = api.create_path_session(
            WORLD.path,
            name="Through the client",
            start_date="2031-01-01T09:00:00.000Z",
            main_instructor_id=WORLD.instructor,
            registration_request_validation="disabled",
        )
        assert created["groupId"] == WORLD.sales_group  # where Ines is an author (editor)
        assert api.get_path_session(WORLD.path, created["_id"]) == created
        edited = api.edit_path_session(WORLD.path, created["_id"], name="Renamed", user_limit=5)
        assert (edited["name"], edited["userLimit"]) == ("Renamed", 5)
        moved = api.edit_child_session(
            WORLD.path, child, main_instructor_id=WORLD.second_instructor, instructor_ids=[]
        )
        assert (moved["mainInstructorId"], moved["instructorIds"]) == (WORLD.second_instructor, [])
        with pytest.raises(PathSessionsError) as root:
            api.edit_child_session(WORLD.path, fixture_ids[0], additional_information=None)
        assert (root.value.status, root.value.code) == (400, "rootPathSession")
        api.delete_path_session(WORLD.path, created["_id"])
        with pytest.raises(PathSessionsError) as gone:
            api.delete_path_session(WORLD.path, created["_id"])
        assert (gone.value.status, gone.value.code) == (404, "sessionNotFound")

        assert [p["_id"] for p in api.list_paths(status={"eq": "published"})] == [WORLD.path]
        assert api.get_path(WORLD.archived_path)["status"] == "archived"
        (ines,) = api.list_users(mail={"eq": "INES@acme.test"})
        assert ines["_id"] == WORLD.instructor
        assert api.get_user(WORLD.instructor)["mail"] == WORLD.instructor_mail
        assert list(api.list_user_roles(WORLD.instructor)) == [
            {"groupId": WORLD.sales_group, "role": "editor"}
        ]
        assert {"userId": WORLD.instructor, "role": "editor"} in list(
            api.list_group_roles(WORLD.sales_group)
        )
        with pytest.raises(PathSessionsError) as missing:
            api.get_user(WORLD.other_group)
        assert (missing.value.status, missing.value.code) == (404, "userNotFound")

    await with_client(app, scenario)


# --- A real server ----------------------------------------------------------------------------


@pytest.mark.e2e
def test_the_client_drives_the_v2_sessions_of_a_real_server(
    database_url: str, servers: Servers, tmp_path: Path
) -> None:
    # The example data, as an operator would load it, with a v2 credential.
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["companies"][0]["apiCredentials"] = [ACME_FULL.fixture()]
    fixture = tmp_path / "example-v2.json"
    fixture.write_text(json.dumps(document), encoding="utf-8")
    loaded = realserver.cli(database_url, "load", str(fixture))
    assert loaded.returncode == 0, loaded.stderr
    server = servers.start()
    paris = dt.timezone(dt.timedelta(hours=1))
    with ClientV2(server.base_url, ACME_FULL.client_id, ACME_FULL.client_secret) as api:
        ines = next(api.list_users(mail={"eq": "INES@acme.test"}))
        created = api.create_path_session(
            WORLD.path,
            name="Client cohort",
            start_date=dt.datetime(2031, 3, 1, 10, 0, tzinfo=paris),
            end_date="2031-03-02T17:00:00.000Z",
            main_instructor_id=ines["_id"],
            instructor_ids=[WORLD.owner],
            registration_request_validation="disabled",
            additional_information="REG-7",
        )
        session_id = created["_id"]
        assert created["startDate"] == "2031-03-01T09:00:00.000Z"
        assert (created["mainInstructorId"], created["instructorIds"]) == (
            ines["_id"],
            [WORLD.owner],
        )

        # The example's session, this one and 100 more: two pages of the path's sessions.
        for n in range(100):
            api.create_path_session(
                WORLD.path,
                name=f"Filler {n}",
                start_date="2031-04-01T09:00:00.000Z",
                main_instructor_id=WORLD.owner,
                registration_request_validation="disabled",
            )
        listed = list(api.list_path_sessions(WORLD.path))
        assert len(listed) == 102
        ids = [item["_id"] for item in listed]
        assert ids == sorted(ids)
        assert listed[ids.index(session_id)] == created
        early = api.list_all_path_sessions(
            path_id={"eq": WORLD.path}, start_date={"lt": dt.date(2031, 4, 1)}
        )
        (example,) = [item["_id"] for item in listed if item["name"] == "Cohort 1"]
        assert [item["_id"] for item in early] == sorted([example, session_id])

        assert api.get_path_session(WORLD.path, session_id) == created
        edited = api.edit_path_session(
            WORLD.path, session_id, name="Renamed", end_date=None, additional_information=None
        )
        assert edited["name"] == "Renamed"
        assert "endDate" not in edited
        assert "additionalInformation" not in edited

        api.delete_path_session(WORLD.path, session_id)
        with pytest.raises(PathSessionsError) as gone:
            api.get_path_session(WORLD.path, session_id)
        assert (gone.value.status, gone.value.code) == (404, "sessionNotFound")
        assert gone.value.message
        with pytest.raises(PathSessionsError) as invalid:
            api.edit_path_session(WORLD.path, example, start_date="tomorrow")
        assert (invalid.value.status, invalid.value.code) == (400, "badRequest")
        assert invalid.value.message.startswith("startDate: ")
    stop_cleanly(server)
    logs = server.stdout + server.stderr
    assert ACME_FULL.client_secret not in logs
