"""One company's lists do not starve the others (docs/api.md, decision 72): a real
`pathsessions serve` process, a large company running ten full lists at once, and another
company's reads timed meanwhile and without them: their p99 during the lists stays within 2x
of their idle p99 (`pytest -n0 -s` prints both).

Over its cap of concurrent streamed answers (`PATHSESSIONS_MAX_LISTS_PER_COMPANY`) a company
is answered 429 `tooManyRequests` with `Retry-After` at once, before any of its list is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from pathsessions.core.ids import ObjectIdFactory
from pathsessions.core.keys import hash_key
from pathsessions.storage import open_database
from pathsessions.web.ratelimit import LocalStreamSlots, RedisStreamSlots
from support.realserver import HEADERS, SESSIONS, Server, Servers, body, created_id, load_example

new_id = ObjectIdFactory()
LARGE_SESSIONS = 28_000
LARGE_KEY = "large-company-key-0123456789abcdefghijklmnop"
LISTERS = 10
SAMPLES = 1_000
ROUNDS = 10
ATTEMPTS = 3
# Below this an idle p99 is the machine's noise, not the server's (see its use).
P99_FLOOR = 0.0025


async def seed_large_company(database_url: str) -> str:
    """A company of its own with LARGE_SESSIONS sessions, written straight to the tables."""
    db = await open_database(database_url, pg_pool_size=1)
    company, owner, group, path = new_id(), new_id(), new_id(), new_id()
    now = int(time.time() * 1000)
    start = 1_893_456_000_000  # 2030-01-01
    try:
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO companies (id, name, owner_user_id, created_at) VALUES (?, ?, ?, ?)",
                [(company, "Large company", owner, now)],
            )
            await tx.executemany(
                "INSERT INTO api_keys (id, company_id, key_hash, label, created_at, revoked_at)"
                " VALUES (?, ?, ?, ?, ?, NULL)",
                [(new_id(), company, hash_key(LARGE_KEY), "large", now)],
            )
            await tx.executemany(
                "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
                " VALUES (?, ?, ?, ?, NULL, ?)",
                [(group, company, "Everyone", True, now)],
            )
            await tx.executemany(
                "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name,"
                " status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?)",
                [(owner, company, "owner@large.test", "owner@large.test", "O", "Wner", now)],
            )
            await tx.executemany(
                "INSERT INTO paths (id, company_id, name, group_id, status, created_at,"
                " modified_at) VALUES (?, ?, ?, ?, 'published', ?, ?)",
                [(path, company, "Onboarding", group, now, now)],
            )
            ids = [new_id() for _ in range(LARGE_SESSIONS)]
            await tx.executemany(
                "INSERT INTO path_sessions (id, company_id, path_id, name, start_date, end_date,"
                " owner_group_id, additional_information, created_at, modified_at)"
                " VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
                [
                    (i, company, path, f"Session {n}", start + n, group, "Room 4", now, now)
                    for n, i in enumerate(ids)
                ],
            )
            await tx.executemany(
                "INSERT INTO session_instructors (session_id, position, user_id) VALUES (?, ?, ?)",
                [(i, 0, owner) for i in ids],
            )
    finally:
        await db.close()
    return company


def listers(server: Server, company: str, log: Path) -> subprocess.Popen[bytes]:
    """LISTERS clients of the large company, each listing its sessions again and again, and
    waiting as told when refused: in processes of their own (curl), so that reading tens of
    MB does not slow the client whose times are measured."""
    url = f"{server.base_url}/api/v1/paths/sessions"
    # Each answer's status is logged as soon as its head arrives (awk reads the head curl
    # prints), so a list still in progress when the clients are killed is counted.
    one = (
        f"while :; do nice -n 19 curl -s -D - -o /dev/null -H 'X-company-id: {company}'"
        f" -H 'X-apiKey: {LARGE_KEY}' {url}"
        " | awk 'NR == 1 { print $2; fflush(); if ($2 == 429) exit 1 }' >> \"$LOG\""
        " || sleep 1; done"
    )
    script = " & ".join([one] * LISTERS) + " & wait"
    return subprocess.Popen(
        [shutil.which("bash") or "/bin/bash", "-c", script],
        env={**os.environ, "LOG": str(log)},
        start_new_session=True,
    )


def stop(lists: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(lists.pid, signal.SIGKILL)
    lists.wait()


def get_times(server: Server, path: str, count: int) -> list[float]:
    """`count` GETs of one session on one kept-alive connection, each timed, in seconds."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: x\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
        + "\r\n"
    ).encode()
    times = []
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        for _ in range(count):
            started = time.perf_counter()
            s.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 "), head
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            while len(rest) < length:
                rest += s.recv(65536)
            times.append(time.perf_counter() - started)
            time.sleep(0.002)
    return times


def p99(times: list[float]) -> float:
    return sorted(times)[len(times) * 99 // 100]


@pytest.mark.e2e
def test_ten_lists_of_one_company_do_not_slow_another(database_url: str, servers: Servers) -> None:
    load_example(database_url)
    company = asyncio.run(seed_large_company(database_url))
    server = servers.start(env={"PATHSESSIONS_ACCESS_LOG": "false"})
    created = httpx.post(f"{server.base_url}{SESSIONS}", headers=HEADERS, json=body())
    session_id = created_id(created)
    path = f"/api/v1/paths/sessions/{session_id}"
    large = {"X-company-id": company, "X-apiKey": LARGE_KEY}
    # A list in progress (its client reads nothing, so it stays in progress): the company's
    # next list is refused at once, in v1's words; another company's is not.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as held:
        held.sendall(
            b"GET /api/v1/paths/sessions HTTP/1.1\r\nHost: x\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in large.items()).encode()
            + b"\r\n"
        )
        assert held.recv(65536).startswith(b"HTTP/1.1 200 ")
        refused = httpx.get(f"{server.base_url}/api/v1/paths/sessions", headers=large)
        assert (refused.status_code, refused.json()) == (429, {"error": "tooManyRequests"})
        assert refused.headers["retry-after"] == "1"
        other = httpx.get(f"{server.base_url}/api/v1/paths/sessions", headers=HEADERS)
        assert other.status_code == 200, other.text
    # The aim (docs/api.md, decision 72): another company's p99 during the lists within 2x of
    # its idle p99. Idle, a read takes about 0.3 ms and its p99 on a quiet machine is under a
    # millisecond, so 2x of it would time the machine rather than the server: on two cores
    # shared with the listers' processes, a read that waits once for the scheduler (a time
    # slice, milliseconds) lands in the p99. Hence the floor. And up to ATTEMPTS measurements:
    # what else runs on the machine only ever adds to the times, and on a loaded one (load
    # average 7 on two cores) it pushed one measurement in ten over the bound; a server whose
    # lists hold its loop fails every one. When lists were read 500 sessions at a time (a
    # batch held the loop for 5 to 10 ms, and their garbage brought full collections of 10 to
    # 20 ms), this p99 was 21 ms against an idle 5 ms, measured here.
    log = server.stdout_path.with_suffix(".lists")
    get_times(server, path, 50)  # warm up
    measured: list[str] = []
    for _ in range(ATTEMPTS):
        idle, loaded = measure(server, path, company, log)
        bound = 2 * max(p99(idle), P99_FLOOR)
        measured.append(
            f"p50/p99: idle {ms(p50(idle))}/{ms(p99(idle))} ms, during {LISTERS} lists"
            f" {ms(p50(loaded))}/{ms(p99(loaded))} ms (bound {ms(bound)})"
        )
        print(f"\n[lists] get-by-id of another company, {measured[-1]}")
        if p99(loaded) <= bound:
            break
    else:
        pytest.fail("another company's p99 during the lists, over 2x idle: " + "; ".join(measured))
    codes = log.read_text().split()
    assert "429" in codes


def measure(server: Server, path: str, company: str, log: Path) -> tuple[list[float], list[float]]:
    """Another company's get-by-id times, without and with ten lists of `company` running.

    In rounds, each timing reads while the listers run, then once they are gone (the server
    stops a list whose client leaves), so that whatever else the machine does meanwhile weighs
    on both sets alike. Stopped listers (SIGSTOP) would not do: the socket buffers take
    megabytes of a list before the server has to wait for its client."""
    idle: list[float] = []
    loaded: list[float] = []
    for _ in range(ROUNDS):
        begun = log.read_text().split().count("200") if log.exists() else 0
        lists = listers(server, company, log)
        try:
            time.sleep(0.3)  # a list is under way: one of them was let in, the others told to wait
            loaded += get_times(server, path, SAMPLES // ROUNDS)
            # A list was in progress in this round (the cap lets one in at a time).
            assert log.read_text().split().count("200") > begun
        finally:
            stop(lists)
        time.sleep(0.1)
        idle += get_times(server, path, SAMPLES // ROUNDS)
    return idle, loaded


def p50(times: list[float]) -> float:
    return sorted(times)[len(times) // 2]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


# --- The slots themselves --------------------------------------------------------------------

REDIS_URL = os.environ.get("PATHSESSIONS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def test_a_process_counts_its_own_lists() -> None:
    slots = LocalStreamSlots(2)
    first, second = await slots.acquire("a"), await slots.acquire("a")
    assert first is not None
    assert second is not None
    assert await slots.acquire("a") is None
    assert await slots.acquire("b") is not None  # another company has its own
    await slots.release("a", first)
    assert await slots.acquire("a") is not None


async def test_redis_shares_the_cap_between_servers() -> None:
    """Two processes (or hosts) with the same Redis: one cap between them."""
    company = ObjectIdFactory()()
    one, two = RedisStreamSlots(2, REDIS_URL), RedisStreamSlots(2, REDIS_URL)
    try:
        first = await one.acquire(company)
        second = await two.acquire(company)
        assert first
        assert second
        assert await one.acquire(company) is None
        assert await two.acquire(company) is None
        await one.release(company, first)
        third = await two.acquire(company)
        assert third
        await two.release(company, second)
        await two.release(company, third)
    finally:
        await one.close()
        await two.close()


async def test_lists_pass_uncounted_while_redis_is_unavailable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slots = RedisStreamSlots(1, "redis://127.0.0.1:1/0")  # nothing listens there
    try:
        assert await slots.acquire("5f1b2c3d4e5f60718293a4b5") == ""
        assert await slots.acquire("5f1b2c3d4e5f60718293a4b5") == ""
        await slots.release("5f1b2c3d4e5f60718293a4b5", "")
    finally:
        await slots.close()
    lost = [r for r in caplog.records if "list limits not applied" in r.getMessage()]
    assert len(lost) == 1
