"""Screenshots of the sandbox console's main pages, for the documentation.

    .venv/bin/python scripts/console_screenshots.py [FOLDER]    (default: docs/images)

Starts a server with the console tests' company (tests/support/console.py), gives it some
traffic, a fault, a frozen clock and webhook deliveries, and saves one PNG a page at 1280 px
wide (and the journal at 390 px) with Debian's chromium, as the browser tests drive it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

import httpx  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from pathsessions.testing import serve  # noqa: E402
from support.console import (  # noqa: E402
    COMPANY,
    CONSOLE,
    PATH,
    SESSION,
    api_headers,
    console_document,
    receivers,
    seed,
)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def shoot(page: Page, path: str, name: str, folder: Path) -> None:
    page.goto(CONSOLE + path)
    page.wait_for_load_state("load")
    page.screenshot(path=str(folder / f"console-{name}.png"), full_page=True)
    print(folder / f"console-{name}.png")


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images"
    folder.mkdir(parents=True, exist_ok=True)
    environ = {"PATHSESSIONS_WEBHOOK_POLL_INTERVAL": "0.05"}
    with receivers() as (good, failing), serve(console_document(), environ=environ) as server:
        hooks = seed(server, good, failing)
        server.admin.add_fault(
            operation="createPathSession", action="respond", status=503, times=3, company=COMPANY
        )
        server.admin.add_fault(path="/api/v2", action="delay", delayMs=1500, probability=0.25)
        with httpx.Client(base_url=server.url, headers=api_headers()) as api:
            api.post(f"/api/v1/paths/{PATH}/sessions/", json={})
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800}, base_url=server.url)
            page.goto(CONSOLE)
            page.get_by_label("Admin token").fill(server.admin_token)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state("load")
            shoot(page, "/", "companies", folder)
            shoot(
                page,
                f"/companies/{COMPANY}/sessions?name=onboarding&from=2030-01-01",
                "sessions",
                folder,
            )
            shoot(page, f"/companies/{COMPANY}/sessions/{SESSION}", "session", folder)
            page.goto(CONSOLE + "/journal")
            page.locator("article.entry details").first.evaluate("(d) => { d.open = true; }")
            page.screenshot(path=str(folder / "console-journal.png"), full_page=True)
            shoot(page, "/faults", "faults", folder)
            server.admin.freeze_clock("2031-05-01T08:00:00.000Z")
            server.admin.advance_clock(86_400_000, company=COMPANY)
            shoot(page, "/clock", "clock", folder)
            server.admin.real_clock(COMPANY)
            server.admin.real_clock()
            shoot(
                page, f"/companies/{COMPANY}/webhooks/{hooks['Failing hook']}", "webhooks", folder
            )
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.context.add_cookies(page.context.cookies())
            phone.goto(server.url + CONSOLE + "/journal")
            phone.screenshot(path=str(folder / "console-journal-phone.png"), full_page=False)
            browser.close()


if __name__ == "__main__":
    main()
