"""The console in a real browser: Debian's chromium (/usr/bin/chromium) driven by Playwright,
never a browser Playwright downloads, against a real server (pathsessions.testing.serve) on
SQLite (the pages do not depend on the backend; test_console.py runs them over HTTP on both).

Every page is clicked through at a desktop width (1280 px) and a phone's (390 px). A test fails
when a page logs a console error or throws, when a form field has no label, or when a page is
wider than the window (tables scroll inside their frame instead).
"""

from __future__ import annotations

import http.client
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from pathsessions.testing import RunningServer, serve
from support.console import (
    COMPANY,
    CONSOLE,
    api_headers,
    console_document,
    receivers,
    seed,
)

CHROMIUM = Path("/usr/bin/chromium")
# As root in a container: no sandbox. The rest keeps it from calling out (the machine may
# have no network) and from doing anything a test does not ask for.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

pytestmark = pytest.mark.e2e

# Run in every page the browser loads (as the browser's own script, not the page's: the
# console's Content-Security-Policy does not apply to it): what it finds is logged as a
# console error, which fails the test.
CHECKS = """window.addEventListener("load", () => {
  const unlabelled = Array.from(document.querySelectorAll("input, select, textarea"))
    .filter((el) => el.type !== "hidden")
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
      && !el.getAttribute("aria-labelledby"))
    .map((el) => el.outerHTML);
  if (unlabelled.length) console.error("fields without a label: " + unlabelled.join(" "));
  const over = document.documentElement.scrollWidth - window.innerWidth;
  if (over > 0) console.error("the page is " + over + " px wider than the window");
});"""


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[RunningServer, dict[str, str]]]:
    environ = {"PATHSESSIONS_WEBHOOK_POLL_INTERVAL": "0.05"}
    with receivers() as (good, failing), serve(console_document(), environ=environ) as running:
        yield running, seed(running, good, failing)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"the console's browser tests need Debian's chromium at {CHROMIUM}: install it with"
            " scripts/install_chromium.sh (apt-get install chromium, as root); ./dev test runs"
            " that script when apt-get can be used"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def refused(status: int) -> str:
    """What the browser logs on loading a page answered with a 4xx `status`."""
    return f"console error: Failed to load resource: the server responded with a status of {status}"


@pytest.fixture
def expected_errors() -> list[str]:
    """The console errors a test causes on purpose (a form sent wrong answers 400 or 401),
    each expected exactly once; any other fails the test."""
    return []


@pytest.fixture(params=list(WIDTHS))
def page(
    request: pytest.FixtureRequest,
    browser: Browser,
    server: tuple[RunningServer, dict[str, str]],
    expected_errors: list[str],
) -> Iterator[Page]:
    context = browser.new_context(viewport=WIDTHS[request.param], base_url=server[0].url)  # type: ignore[arg-type]
    context.add_init_script(CHECKS)
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    problems: list[str] = []
    opened.on(
        "console",
        lambda m: (
            problems.append(f"console error: {m.text} ({m.location['url']})")
            if m.type == "error"
            else None
        ),
    )
    opened.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    yield opened
    context.close()
    for expected in expected_errors:
        found = [p for p in problems if p.startswith(expected)]
        assert len(found) == 1, (expected, problems)
        problems.remove(found[0])
    assert not problems, problems


@pytest.fixture(scope="module")
def session_cookie(server: tuple[RunningServer, dict[str, str]]) -> str:
    """A signed-in session, made once (signing in through the browser is its own test)."""
    running = server[0]
    with httpx.Client(base_url=running.url) as client:
        form = client.get(CONSOLE).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        r = client.post(
            CONSOLE + "/sign-in",
            data={"csrf": csrf.group(1), "token": running.admin_token},
            headers={"Origin": running.url},
        )
        assert r.status_code == 303, r.text
        return client.cookies["pathsessions_console"]


@pytest.fixture
def console(page: Page, server: tuple[RunningServer, dict[str, str]], session_cookie: str) -> Page:
    """The page, signed in, on the console's first page."""
    cookie = {
        "name": "pathsessions_console",
        "value": session_cookie,
        "url": server[0].url + CONSOLE,
    }
    page.context.add_cookies([cookie])  # type: ignore[list-item]
    page.goto(CONSOLE)
    expect(page.get_by_role("heading", name="Companies")).to_be_visible()
    return page


def sign_in(page: Page, token: str) -> None:
    page.goto(CONSOLE)
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Companies")).to_be_visible()


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Console").get_by_role("link", name=name).click()


def test_sign_in_cookie_and_sign_out(
    page: Page, server: tuple[RunningServer, dict[str, str]], expected_errors: list[str]
) -> None:
    running = server[0]
    expected_errors.append(refused(401))  # the wrong token, first
    page.goto(CONSOLE)
    page.get_by_label("Admin token").fill("not the token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile("That is not the admin token."))
    sign_in(page, running.admin_token)
    assert running.admin_token not in page.url
    [cookie] = [c for c in page.context.cookies() if c["name"] == "pathsessions_console"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # plain http here; Secure over https (test_console.py)
    assert cookie["path"] == CONSOLE
    for name in ("Companies", "Journal", "Faults", "Clock", "Webhooks"):
        expect(
            page.get_by_role("navigation", name="Console").get_by_role("link", name=name)
        ).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin token")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "pathsessions_console"]
    page.goto(CONSOLE + "/faults")
    expect(page.get_by_label("Admin token")).to_be_visible()


def test_companies_paths_sessions_and_progress(
    console: Page, server: tuple[RunningServer, dict[str, str]]
) -> None:
    page = console
    page.get_by_role("link", name="Northwind Academy").click()
    expect(page.get_by_role("heading", name="Paths")).to_be_visible()
    expect(page.get_by_role("cell", name="Safety", exact=True)).to_be_visible()
    page.get_by_role("link", name="Sessions of Safety").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(12)
    page.get_by_role("link", name="Clear").click()

    expect(rows).to_have_count(20)
    first = rows.first.inner_text()
    page.get_by_role("link", name="Next page →").click()
    expect(rows).to_have_count(20)
    assert rows.first.inner_text() != first
    page.get_by_role("link", name="Next page →").click()
    expect(rows).to_have_count(4)  # 44 sessions in all
    page.get_by_role("link", name="← First page").click()
    expect(rows.first).to_have_text(first)

    page.get_by_label("Name contains").fill("refresher")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(12)
    page.get_by_label("Start date from").fill("2031-03-01")
    page.get_by_label("Start date to").fill("2031-04-15")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Safety refresher 03")

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Name contains").fill("january")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Onboarding — January intake").click()
    expect(page.get_by_role("heading", name="Enrollments and progress")).to_be_visible()
    ada = page.get_by_role("row").filter(has_text="ada@acme.test")
    expect(ada).to_contain_text("successful")
    expect(ada).to_contain_text("100 %")
    expect(page.get_by_role("row").filter(has_text="cyd@acme.test")).to_contain_text("unsuccessful")
    expect(page.get_by_role("row").filter(has_text="fay@acme.test")).to_contain_text("archived")
    page.get_by_label("Learner").select_option(label="eli@acme.test")
    page.get_by_label("Progress (0 to 100 %)").fill("35")
    page.get_by_role("button", name="Set progress").click()
    expect(page.get_by_role("status")).to_contain_text("The learner's progress was recorded.")
    expect(page.get_by_role("row").filter(has_text="eli@acme.test")).to_contain_text("35 %")


def test_journal_filtered_and_live(
    console: Page, server: tuple[RunningServer, dict[str, str]]
) -> None:
    running = server[0]
    page = console
    nav(page, "Journal")
    page.get_by_label("Method").select_option("GET")
    page.get_by_label("Path starts with").fill("/api/v1/paths/sessions")
    page.get_by_role("button", name="Filter").click()
    entries = page.locator("article.entry")
    expect(entries.last).to_contain_text("apiKey=REDACTED")  # the first such request
    before = entries.count()
    assert not page.get_by_text("/api/v1/paths?").count()

    # A request made now appears on its own, and one the filters leave out does not.
    marker = uuid.uuid4().hex
    with httpx.Client(base_url=running.url, headers=api_headers()) as api:
        assert api.get("/api/v1/paths").status_code == 200
        assert api.get("/api/v1/paths/sessions", params={"live": marker}).status_code == 200
    expect(entries).to_have_count(before + 1)
    expect(entries.first).to_contain_text(f"live={marker}")
    entries.first.get_by_text("Request and answer").click()
    expect(entries.first.get_by_role("heading", name="Request")).to_be_visible()
    expect(entries.first.get_by_role("heading", name="Answer")).to_be_visible()
    expect(entries.first).to_contain_text("x-apikey: REDACTED")
    entries.first.get_by_role("link", name=re.compile(r"Entry \d+")).click()
    expect(page.get_by_role("heading", name="Answer")).to_be_visible()
    assert "/journal/" in page.url


def test_faults_added_and_removed(
    console: Page, server: tuple[RunningServer, dict[str, str]], expected_errors: list[str]
) -> None:
    expected_errors.append(refused(400))
    page = console
    nav(page, "Faults")
    expect(page.get_by_text("No faults")).to_be_visible()
    page.get_by_label("Operation").fill("createPathSession")
    page.get_by_label("Action").select_option("respond")
    page.get_by_role("button", name="Add the fault").click()
    expect(page.get_by_role("alert")).to_contain_text("status: required with respond")
    page.get_by_label("Status (respond)").fill("503")
    page.get_by_label("Answer body, JSON (respond)").fill('{"error": "down"}')
    page.get_by_label("Company").select_option(COMPANY)
    page.get_by_role("button", name="Add the fault").click()
    expect(page.get_by_role("status")).to_contain_text("The fault was added.")
    row = page.get_by_role("row").filter(has_text="createPathSession")
    expect(row).to_contain_text("503")
    row.get_by_role("button", name=re.compile("Remove fault")).click()
    expect(page.get_by_role("status")).to_contain_text("The fault was removed.")
    expect(page.get_by_text("No faults")).to_be_visible()


def test_clock_frozen_advanced_and_real(
    console: Page, server: tuple[RunningServer, dict[str, str]]
) -> None:
    page = console
    nav(page, "Clock")
    page.locator("#freeze-at").fill("2031-05-01T08:00:00")
    page.get_by_role("button", name="Freeze").click()
    server_row = page.get_by_role("row").filter(has_text="Server-wide")
    expect(server_row).to_contain_text("2031-05-01 08:00:00 UTC")
    expect(server_row).to_contain_text("frozen")
    page.locator("#advance-amount").fill("2")
    page.locator("#advance-unit").select_option("hours")
    page.get_by_role("button", name="Advance").click()
    expect(server_row).to_contain_text("2031-05-01 10:00:00 UTC")
    # A company's own clock, a day ahead of the server's.
    page.locator("#advance-company").select_option(COMPANY)
    page.locator("#advance-amount").fill("1")
    page.locator("#advance-unit").select_option("days")
    page.get_by_role("button", name="Advance").click()
    company_row = page.get_by_role("row").filter(has_text="Northwind Academy")
    expect(company_row).to_contain_text("2031-05-02 10:00:00 UTC")
    page.locator("#real-company").select_option(COMPANY)
    page.get_by_role("button", name="Back to real time").click()
    expect(company_row).to_have_count(0)
    page.get_by_role("button", name="Back to real time").click()
    expect(server_row).to_contain_text("real time")
    expect(server_row).not_to_contain_text("frozen")


def test_webhook_deliveries_and_attempts(
    console: Page, server: tuple[RunningServer, dict[str, str]]
) -> None:
    page = console
    nav(page, "Webhooks")
    expect(page.get_by_role("row").filter(has_text="Good hook")).to_contain_text("active")
    page.get_by_role("link", name="Deliveries of Good hook").click()
    delivery = page.locator("article.delivery").first
    expect(delivery).to_contain_text("delivered")
    expect(delivery.get_by_role("row").filter(has_text="204")).to_have_count(1)
    page.go_back()
    page.get_by_role("link", name="Deliveries of Failing hook").click()
    delivery = page.locator("article.delivery").first
    expect(delivery).to_contain_text("pending")
    # One attempt or more: moving the clock (test_clock_…) may have made retries due.
    expect(delivery.get_by_role("row").filter(has_text="500").first).to_be_visible()
    delivery.get_by_text("Payload").click()
    expect(delivery).to_contain_text("path.session.added")


def test_the_checks_catch_an_unlabelled_field_and_a_page_too_wide(browser: Browser) -> None:
    """The checks every page above passes fail where they should."""
    context = browser.new_context(viewport=WIDTHS["phone"])  # type: ignore[arg-type]
    context.add_init_script(CHECKS)
    page = context.new_page()
    logged: list[str] = []
    page.on("console", lambda m: logged.append(m.text) if m.type == "error" else None)
    html = (
        '<label for="a">A</label><input id="a"><input type="hidden" name="h">'
        '<input aria-label="B"><select name="s"></select><div style="width:900px">wide</div>'
    )
    page.route(
        "http://checks.test/", lambda route: route.fulfill(body=html, content_type="text/html")
    )
    page.goto("http://checks.test/")
    expect(page.locator("select")).to_have_count(1)
    page.wait_for_function("document.readyState === 'complete'")
    context.close()
    assert logged == [
        'fields without a label: <select name="s"></select>',
        "the page is 518 px wider than the window",  # 900 px and the 8 px margin, at 390
    ]


def test_the_server_answers_without_waiting_for_delayed_acks(
    server: tuple[RunningServer, dict[str, str]],
) -> None:
    """A page is several requests: each answered at once, not ~40 ms later (a listening socket
    asyncio did not know for TCP got no TCP_NODELAY, and every answer waited for the client's
    delayed ACK: 25 requests took over a second)."""
    host, port = server[0].url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    started = time.perf_counter()
    for _ in range(25):
        connection.request("GET", CONSOLE + "/static/console.css")
        assert connection.getresponse().read()
    connection.close()
    assert time.perf_counter() - started < 0.6


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_api_reference_works_offline(
    browser: Browser, server: tuple[RunningServer, dict[str, str]], width: str
) -> None:
    """/docs is Swagger UI served by us: with every request to another host refused, it draws
    each API's document, switches between them, and logs no error. (Its fields are Swagger
    UI's own, so the console's label check does not apply here.)"""
    running = server[0]
    context = browser.new_context(viewport=WIDTHS[width], base_url=running.url)  # type: ignore[arg-type]
    elsewhere: list[str] = []

    def local_only(route: Route) -> None:
        if route.request.url.startswith(running.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto("/docs")
        # v2 first: its token route and a sessions operation are drawn.
        expect(
            page.locator(".opblock-summary-path", has_text="/api/v2/oauth2/token")
        ).to_be_visible()
        expect(page.locator(".opblock").first).to_be_visible()
        v2_count = page.locator(".opblock").count()
        page.locator("select").first.select_option(label="v1")
        expect(
            page.locator(".opblock-summary-path", has_text="/api/v1/paths/sessions").first
        ).to_be_visible()
        assert page.locator(".opblock").count() != v2_count
        # An operation opens onto its answers, errors included, each with an example.
        page.locator(".opblock-summary", has_text="/api/v1/paths/sessions").first.click()
        expect(page.locator(".responses-table").first).to_be_visible()
        expect(page.locator(".response-col_status", has_text="401").first).to_be_visible()
    finally:
        context.close()
    assert not elsewhere, elsewhere
    assert not problems, problems
