"""The web console over HTTP (docs/sandbox.md, "Console"): signing in, its cookie, forms
refused from elsewhere, and each page reading and writing through the control API's rules.
The browser tests (test_console_browser.py) click through the same pages."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from pathsessions.app import create_app
from pathsessions.loader import load_document
from pathsessions.settings import Settings
from pathsessions.storage import Database
from support import TOKEN_SECRET, World, count_rows, valid_body
from support.console import (
    COMPANY,
    CONSOLE,
    ONBOARDING,
    PATH,
    SAFETY,
    SESSION,
    console_document,
    csrf_of,
    sign_in,
)
from support.sandbox import ADMIN, ADMIN_TOKEN, admin, sandbox_settings
from support.sessions_v2 import create
from support.v2 import v2_headers
from support.webhooks import Receiver

ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return dataclasses.replace(sandbox_settings(database_url), webhook_poll_interval=0.05)


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, db: Database) -> httpx.AsyncClient:
    await load_document(db, console_document())
    r = await sign_in(client)
    assert r.status_code == 303, r.text
    return client


async def form(
    client: httpx.AsyncClient, page: str, target: str, /, **fields: str
) -> httpx.Response:
    """Send the form of `page` that posts to `target`, as the console's own page would."""
    text = (await client.get(CONSOLE + page)).text
    data = {"csrf": csrf_of(text, target), **fields}
    return await client.post(CONSOLE + target, data=data, headers=ORIGIN)


def rows(page: str, pattern: str) -> list[str]:
    return re.findall(pattern, page)


# --- Existence ----------------------------------------------------------------------------------


@pytest.mark.backend_independent
async def test_without_the_admin_token_there_is_no_console(database_url: str) -> None:
    plain = Settings(
        database_url=database_url, access_log=False, rate_limits=False, token_secret=TOKEN_SECRET
    )
    application = create_app(plain)
    await application.startup()
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            unknown = await c.get("/no/such/route")
            for method, path in [
                ("GET", CONSOLE),
                ("GET", CONSOLE + "/"),
                ("GET", CONSOLE + "/static/console.css"),
                ("POST", CONSOLE + "/sign-in"),
                ("GET", CONSOLE + "/journal"),
            ]:
                r = await c.request(method, path)
                assert (r.status_code, r.content) == (404, unknown.content)
    finally:
        await application.shutdown()


# --- Signing in ---------------------------------------------------------------------------------


async def test_the_sign_in_page_asks_for_the_token_in_a_post_form(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(CONSOLE)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert '<label for="token">Admin token</label>' in r.text
    assert re.search(r'<form method="post" action="/__admin/console/sign-in">', r.text)
    assert "default-src 'none'" in r.headers["content-security-policy"]
    [cookie] = r.headers.get_list("set-cookie")
    assert cookie.startswith("pathsessions_console_sign_in=")
    assert "; HttpOnly" in cookie
    assert "; SameSite=Strict" in cookie
    assert "Secure" not in cookie


async def test_signing_in_sets_an_httponly_strict_cookie(client: httpx.AsyncClient) -> None:
    r = await sign_in(client)
    assert r.status_code == 303
    assert r.headers["location"] == CONSOLE + "/"
    session = next(c for c in r.headers.get_list("set-cookie") if "console=" in c)
    assert re.fullmatch(
        r"pathsessions_console=[^;]+; Path=/__admin/console; Max-Age=28800; HttpOnly;"
        r" SameSite=Strict",
        session,
    )
    assert ADMIN_TOKEN not in session
    assert ADMIN_TOKEN not in r.headers["location"]
    page = await client.get(CONSOLE + "/")
    assert page.status_code == 200
    assert '<a href="/__admin/console/journal">Journal</a>' in page.text


async def test_over_https_the_cookie_is_secure(app: object) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        r = await sign_in(c)
        assert r.status_code == 303, r.text
        session = next(c for c in r.headers.get_list("set-cookie") if "console=" in c)
        assert session.endswith("; HttpOnly; SameSite=Strict; Secure")


async def test_a_token_in_the_url_signs_nobody_in(client: httpx.AsyncClient) -> None:
    for path in ("", "/", "/sign-in"):
        r = await client.get(CONSOLE + path, params={"token": ADMIN_TOKEN})
        assert not [
            c for c in r.headers.get_list("set-cookie") if c.startswith("pathsessions_console=")
        ]
    assert (await client.get(CONSOLE + "/faults", params={"token": ADMIN_TOKEN})).status_code == 303


async def test_a_wrong_token_signs_nobody_in(client: httpx.AsyncClient) -> None:
    r = await sign_in(client, "not-the-token-" * 3)
    assert r.status_code == 401
    assert "That is not the admin token." in r.text
    assert not [
        c for c in r.headers.get_list("set-cookie") if c.startswith("pathsessions_console=")
    ]
    assert (await client.get(CONSOLE + "/faults")).status_code == 303


async def test_sign_in_from_another_site_is_refused(client: httpx.AsyncClient) -> None:
    page = await client.get(CONSOLE)
    data = {"csrf": csrf_of(page.text, "/sign-in"), "token": ADMIN_TOKEN}
    r = await client.post(CONSOLE + "/sign-in", data=data, headers={"Origin": "https://evil.test"})
    assert r.status_code == 403
    assert "set-cookie" not in r.headers
    r = await client.post(CONSOLE + "/sign-in", data={"token": ADMIN_TOKEN}, headers=ORIGIN)
    assert r.status_code == 403


async def test_pages_need_the_cookie_not_the_bearer_token(client: httpx.AsyncClient) -> None:
    for path in ("/faults", "/journal", "/clock", "/webhooks", f"/companies/{COMPANY}"):
        r = await client.get(CONSOLE + path, headers=ADMIN)
        assert (r.status_code, r.headers["location"]) == (303, CONSOLE + "/")
    # And the cookie opens no JSON API.
    await sign_in(client)
    assert (await client.get("/__admin/faults")).status_code == 401


async def test_sign_out_ends_the_session(signed_in: httpx.AsyncClient) -> None:
    r = await form(signed_in, "/", "/sign-out")
    assert r.status_code == 303
    assert any(
        c.startswith("pathsessions_console=;") and "Max-Age=0" in c
        for c in r.headers.get_list("set-cookie")
    )
    assert (await signed_in.get(CONSOLE + "/faults")).status_code == 303


async def test_a_forged_or_expired_cookie_is_no_session(
    client: httpx.AsyncClient, settable_clock: object
) -> None:
    await sign_in(client)
    value = client.cookies["pathsessions_console"]
    expires, nonce, mac = value.split(".")
    client.cookies.clear()
    client.cookies.set("pathsessions_console", f"{int(expires) + 1}.{nonce}.{mac}")
    assert (await client.get(CONSOLE + "/faults")).status_code == 303
    client.cookies.clear()
    forged = f"pathsessions_console={expires}.{nonce}.{'é' * 64}".encode("latin-1")
    assert (await client.get(CONSOLE + "/faults", headers={b"cookie": forged})).status_code == 303
    client.cookies.clear()
    client.cookies.set("pathsessions_console", value)
    assert (await client.get(CONSOLE + "/faults")).status_code == 200
    settable_clock.set(int(expires) + 1)  # type: ignore[attr-defined]
    assert (await client.get(CONSOLE + "/faults")).status_code == 303


# --- Cross-site requests ------------------------------------------------------------------------


async def test_a_form_without_its_token_or_from_elsewhere_changes_nothing(
    signed_in: httpx.AsyncClient, db: Database
) -> None:
    fault = {"action": "respond", "status": "503"}
    page = (await signed_in.get(CONSOLE + "/faults")).text
    token = csrf_of(page, "/faults")
    attempts = [
        ({**fault}, ORIGIN),  # no token
        ({**fault, "csrf": "0" * 64}, ORIGIN),  # a wrong one
        ({**fault, "csrf": "é" * 64}, ORIGIN),  # not even ASCII
        ({**fault, "csrf": csrf_of(page, "/sign-out")}, ORIGIN),  # another form's
        ({**fault, "csrf": token}, {"Origin": "https://evil.test"}),
        ({**fault, "csrf": token}, {"Referer": "https://evil.test/page"}),
        ({**fault, "csrf": token}, {}),  # neither Origin nor Referer
    ]
    for data, headers in attempts:
        r = await signed_in.post(CONSOLE + "/faults", data=data, headers=headers)
        assert r.status_code == 403, (data, headers)
        assert "nothing was changed" in r.text
    assert await count_rows(db, "sandbox_faults") == 0
    ok = await signed_in.post(CONSOLE + "/faults", data={**fault, "csrf": token}, headers=ORIGIN)
    assert ok.status_code == 303
    assert await count_rows(db, "sandbox_faults") == 1


async def test_a_form_posted_without_a_session_goes_to_sign_in(
    client: httpx.AsyncClient, db: Database
) -> None:
    r = await client.post(CONSOLE + "/faults", data={"action": "reset"}, headers=ORIGIN)
    assert (r.status_code, r.headers["location"]) == (303, CONSOLE + "/")
    assert await count_rows(db, "sandbox_faults") == 0


# --- Companies, paths, sessions -----------------------------------------------------------------


async def test_companies_with_their_counts(signed_in: httpx.AsyncClient) -> None:
    page = (await signed_in.get(CONSOLE + "/")).text
    assert f'<a href="/__admin/console/companies/{COMPANY}">Northwind Academy</a>' in page
    counts = re.search(r"Northwind Academy</a></td>(.*?)</tr>", page, re.DOTALL)
    assert counts is not None
    cells = re.findall(r'<td class="num">(?:<a [^>]*>)?(\d+)', counts.group(1))
    assert cells == ["1", "8", "2", str(1 + ONBOARDING + SAFETY), "6"]


async def test_a_company_and_its_paths(signed_in: httpx.AsyncClient) -> None:
    page = (await signed_in.get(f"{CONSOLE}/companies/{COMPANY}")).text
    assert "<td>Onboarding</td>" in page
    assert "<td>Safety</td>" in page
    assert f"sessions?path={PATH}" in page
    missing = await signed_in.get(f"{CONSOLE}/companies/{'0' * 24}")
    assert missing.status_code == 404


def session_names(page: str) -> list[str]:
    return rows(page, r'/sessions/[0-9a-f]{24}">([^<]+)</a>')


async def test_sessions_searched_by_name_filtered_by_date_and_paged(
    signed_in: httpx.AsyncClient,
) -> None:
    base = f"{CONSOLE}/companies/{COMPANY}/sessions"
    first = (await signed_in.get(base)).text
    assert len(session_names(first)) == 20
    after = re.search(r'after=([0-9a-f]{24})[^"]*">Next page', first)
    assert after is not None
    seen = set(session_names(first))
    page = first
    while after is not None:
        page = (await signed_in.get(base, params={"after": after.group(1)})).text
        seen |= set(session_names(page))
        after = re.search(r'after=([0-9a-f]{24})[^"]*">Next page', page)
    assert len(seen) == 1 + ONBOARDING + SAFETY
    assert "First page" in page

    found = (await signed_in.get(base, params={"name": "SAFETY refr"})).text
    assert sorted(session_names(found)) == [f"Safety refresher {n:02d}" for n in range(1, 13)]
    assert "Next page" not in found
    # Wildcards are text: nothing is named with a % in it.
    assert session_names((await signed_in.get(base, params={"name": "%"})).text) == []

    dated = (await signed_in.get(base, params={"from": "2031-03-01", "to": "2031-04-15"})).text
    assert sorted(session_names(dated)) == [
        "Onboarding cohort 15",
        "Safety refresher 03",
        "Safety refresher 04",
    ]
    both = {"name": "onboarding", "from": "2031-03-01", "to": "2031-04-15"}
    assert session_names((await signed_in.get(base, params=both)).text) == ["Onboarding cohort 15"]

    of_path = (await signed_in.get(base, params={"path": PATH, "name": "January"})).text
    assert session_names(of_path) == ["Onboarding — January intake"]

    bad = await signed_in.get(base, params={"from": "31/12/2030"})
    assert bad.status_code == 400
    assert "Start date from: must be a date such as 2026-01-31" in bad.text


async def test_a_session_with_its_enrollments_and_progress(signed_in: httpx.AsyncClient) -> None:
    page = (await signed_in.get(f"{CONSOLE}/companies/{COMPANY}/sessions/{SESSION}")).text
    assert "<h1>Onboarding — January intake</h1>" in page
    for mail in ("ada@acme.test", "bo@acme.test", "fay@acme.test"):
        assert mail in page
    learners = re.findall(r"<tr>\s*<td>([a-z]+)@acme.test.*?</tr>", page, re.DOTALL)
    assert learners == ["ada", "bo", "cyd", "dee", "eli", "fay"]
    ada = re.search(r"<td>ada@acme.test.*?</tr>", page, re.DOTALL)
    assert ada is not None
    assert "successful</span>" in ada.group(0)
    assert "100 %" in ada.group(0)
    assert "92" in ada.group(0)
    fay = re.search(r"<td>fay@acme.test.*?</tr>", page, re.DOTALL)
    assert fay is not None
    assert "archived</span>" in fay.group(0)
    assert (
        await signed_in.get(f"{CONSOLE}/companies/{COMPANY}/sessions/{'0' * 24}")
    ).status_code == 404


async def test_a_learners_progress_set_through_the_control_api_rules(
    signed_in: httpx.AsyncClient,
) -> None:
    page = f"/companies/{COMPANY}/sessions/{SESSION}"
    text = (await signed_in.get(CONSOLE + page)).text
    dee = re.search(r'<option value="([0-9a-f]{24})">dee@acme.test</option>', text)
    assert dee is not None
    target = page + "/progress"
    r = await form(signed_in, page, target, enrollment=dee.group(1), progress="60", score="75")
    assert (r.status_code, r.headers["location"]) == (303, CONSOLE + page + "?done=progress")
    shown = (await signed_in.get(r.headers["location"])).text
    assert "The learner&#39;s progress was recorded." in shown
    row = re.search(r"<td>dee@acme.test.*?</tr>", shown, re.DOTALL)
    assert row is not None
    assert "60 %" in row.group(0)
    assert "75.0" in row.group(0)

    for fields, status, message in [
        ({"progress": "101"}, 400, "progress: required, an integer from 0 to 100"),
        ({"progress": "ten"}, 400, "Progress: a whole number from 0 to 100"),
        ({"progress": "5", "status": "asleep"}, 400, "status.type: must be one of"),
        ({"progress": "5", "enrollment": "f" * 24}, 404, f"no enrollment {'f' * 24}"),
    ]:
        refused = await form(signed_in, page, target, **{"enrollment": dee.group(1), **fields})
        assert refused.status_code == status, fields
        assert message in refused.text
    row = re.search(
        r"<td>dee@acme.test.*?</tr>", (await signed_in.get(CONSOLE + page)).text, re.DOTALL
    )
    assert row is not None
    assert "60 %" in row.group(0)


# --- The journal ------------------------------------------------------------------------------


async def test_the_journal_filtered_live_and_redacted(
    signed_in: httpx.AsyncClient, world: World
) -> None:
    await signed_in.get("/api/v1/paths", params=world.query)
    await signed_in.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    page = (await signed_in.get(CONSOLE + "/journal", params={"method": "POST"})).text
    ids = rows(page, r'<article class="entry" data-id="(\d+)"')
    assert len(ids) == 1
    assert "createPathSession" in page
    assert world.key not in page
    assert "x-apikey: REDACTED" in page
    everything = (await signed_in.get(CONSOLE + "/journal")).text
    newest = rows(everything, r'data-id="(\d+)"')[0]
    live = await signed_in.get(CONSOLE + "/journal/rows", params={"since": newest})
    assert (live.status_code, live.text.strip()) == (200, "")
    await signed_in.get("/api/v1/paths", headers=world.headers)
    live = await signed_in.get(CONSOLE + "/journal/rows", params={"since": newest})
    assert rows(live.text, r'data-id="(\d+)"') == [str(int(newest) + 1)]
    entry = (await signed_in.get(f"{CONSOLE}/journal/{ids[0]}")).text
    assert "<h3>Request</h3>" in entry
    assert "<h3>Answer</h3>" in entry
    assert "Cohort 1" in entry
    assert "&#34;_id&#34;" in entry  # the answer, beside the request
    bad = await signed_in.get(CONSOLE + "/journal", params={"status": "abc"})
    assert bad.status_code == 400
    assert "status: must be an integer from 100 to 599" in bad.text
    assert (await signed_in.get(CONSOLE + "/journal/999999")).status_code == 404


# --- Faults -----------------------------------------------------------------------------------


async def test_faults_added_refused_and_removed(signed_in: httpx.AsyncClient, world: World) -> None:
    r = await form(
        signed_in,
        "/faults",
        "/faults",
        operation="createPathSession",
        method="post",
        action="respond",
        status="503",
        body='{"error": "down"}',
        headers='{"Retry-After": "7"}',
        times="2",
    )
    assert (r.status_code, r.headers["location"]) == (303, CONSOLE + "/faults?done=added")
    [fault] = (await admin(signed_in, "GET", "/faults")).json()
    assert fault == {
        "id": fault["id"],
        "operation": "createPathSession",
        "method": "POST",
        "action": "respond",
        "when": "before",
        "times": 2,
        "probability": 1,
        "status": 503,
        "body": {"error": "down"},
        "headers": {"Retry-After": "7"},
        "fired": 0,
    }
    answer = await signed_in.post(world.sessions_url(), json=valid_body(), headers=world.headers)
    assert answer.status_code == 503
    listed = (await signed_in.get(CONSOLE + "/faults?done=added")).text
    assert "The fault was added." in listed
    assert fault["id"] in listed

    for fields, message in [
        ({"action": "explode"}, "action: must be one of respond, delay, reset, hang"),
        ({"action": "respond"}, "status: required with respond"),
        ({"action": "respond", "status": "5xx"}, "Status: must be a whole number"),
        ({"action": "respond", "status": "503", "body": "{"}, "Answer body: not valid JSON"),
        ({"action": "delay"}, "delayMs: required with delay"),
    ]:
        refused = await form(signed_in, "/faults", "/faults", **fields)
        assert refused.status_code == 400, fields
        assert message in refused.text
    assert len((await admin(signed_in, "GET", "/faults")).json()) == 1

    r = await form(signed_in, "/faults", f"/faults/{fault['id']}/remove")
    assert (r.status_code, r.headers["location"]) == (303, CONSOLE + "/faults?done=removed")
    assert (await admin(signed_in, "GET", "/faults")).json() == []


# --- The clock ----------------------------------------------------------------------------------


async def test_the_clock_frozen_advanced_and_back_to_real_time(
    signed_in: httpx.AsyncClient,
) -> None:
    r = await form(signed_in, "/clock", "/clock/freeze", company="", at="2031-05-01T08:00")
    assert (r.status_code, r.headers["location"]) == (303, CONSOLE + "/clock?done=freeze")
    clock = (await admin(signed_in, "GET", "/clock")).json()
    assert clock["now"] == "2031-05-01T08:00:00.000Z"
    assert clock["frozen"]
    await form(signed_in, "/clock", "/clock/advance", company="", amount="90", unit="minutes")
    assert (await admin(signed_in, "GET", "/clock")).json()["now"] == "2031-05-01T09:30:00.000Z"
    page = (await signed_in.get(CONSOLE + "/clock")).text
    assert "2031-05-01 09:30:00 UTC" in page
    assert "frozen</span>" in page

    # A company's own clock: advanced from the server's time, the server's left alone.
    await form(signed_in, "/clock", "/clock/advance", company=COMPANY, amount="1", unit="days")
    own = (await admin(signed_in, "GET", "/clock", params={"company": COMPANY})).json()
    assert own["now"] == "2031-05-02T09:30:00.000Z"
    page = (await signed_in.get(CONSOLE + "/clock")).text
    assert "Northwind Academy" in page
    assert "2031-05-02 09:30:00 UTC" in page

    refused = await form(signed_in, "/clock", "/clock/advance", company="", amount="x", unit="days")
    assert refused.status_code == 400
    assert "Advance by: must be a number" in refused.text
    for at in ("yesterday", "1969-12-31T23:00"):
        refused = await form(signed_in, "/clock", "/clock/freeze", company="", at=at)
        assert refused.status_code == 400
        assert "Freeze at:" in refused.text
    assert (await admin(signed_in, "GET", "/clock")).json()["now"] == "2031-05-01T09:30:00.000Z"
    unknown = await form(signed_in, "/clock", "/clock/freeze", company="f" * 24, at="")
    assert unknown.status_code == 404
    assert f"no company {'f' * 24}" in unknown.text

    await form(signed_in, "/clock", "/clock/real", company=COMPANY)
    await form(signed_in, "/clock", "/clock/real", company="")
    assert not (await admin(signed_in, "GET", "/clock")).json()["frozen"]
    assert (await admin(signed_in, "GET", "/clock")).json()["offsetMs"] == 0


# --- Webhooks ---------------------------------------------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.close()


async def test_webhook_deliveries_and_their_attempts(
    signed_in: httpx.AsyncClient, world: World, receiver: Receiver, db: Database
) -> None:
    headers = await v2_headers(signed_in)
    body = {"eventType": "path.session.added", "name": "our hook", "url": receiver.url()}
    r = await signed_in.post("/api/v2/webhooks/subscriptions", json=body, headers=headers)
    assert r.status_code == 201, r.text
    subscription = r.json()["_id"]
    receiver.statuses = [500]
    await create(signed_in, headers)
    await receiver.wait_for(1)
    for _ in range(400):
        row = await db.fetchone("SELECT COUNT(*) FROM webhook_attempts")
        if row is not None and row[0] == 1:
            break
        await asyncio.sleep(0.01)

    listing = (await signed_in.get(CONSOLE + "/webhooks", params={"company": world.company})).text
    assert "our hook" in listing
    assert "path.session.added" in listing
    page = (
        await signed_in.get(f"{CONSOLE}/companies/{world.company}/webhooks/{subscription}")
    ).text
    assert "pending</span>" in page
    assert "1 attempt" in page
    assert re.search(r'<td class="num">1</td>.*?500</span>', page, re.DOTALL)
    missing = await signed_in.get(f"{CONSOLE}/companies/{world.company}/webhooks/{'0' * 24}")
    assert missing.status_code == 404


# --- Odds and ends ------------------------------------------------------------------------------


async def test_static_files_and_unknown_pages(client: httpx.AsyncClient) -> None:
    css = await client.get(CONSOLE + "/static/console.css")
    assert (css.status_code, css.headers["content-type"]) == (200, "text/css; charset=utf-8")
    assert (await client.get(CONSOLE + "/static/../admin.py")).status_code == 404
    assert (await client.get(CONSOLE + "/static/nothing.js")).status_code == 404
    await sign_in(client)
    r = await client.get(CONSOLE + "/no/such/page")
    assert r.status_code == 404
    assert "There is no such page in the console." in r.text
