"""The SQLite files we create are private to their owner (docs/configuration.md): the database
and its `-wal` and `-shm` files 0600, a directory made for it 0700, whatever the umask. An
existing file or directory keeps its mode.

Each case runs in a process of its own, under the umask it names.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

# Opens the database, writes to it, and prints the mode of each path while it is still open
# (SQLite removes the -wal and -shm files when the last connection closes).
SCRIPT = """
import asyncio, json, os, stat, sys
from pathsessions.storage import open_database

async def main(url, paths):
    db = await open_database(url)
    try:
        await db.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        await db.execute("INSERT INTO t VALUES (1)")
        modes = {p: stat.S_IMODE(os.stat(p).st_mode) for p in paths}
    finally:
        await db.close()
    print(json.dumps(modes))

asyncio.run(main(sys.argv[1], sys.argv[2:]))
"""


def modes_after_a_write(url: str, paths: list[Path], umask: int) -> dict[Path, int]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, url, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        umask=umask,
    )
    assert done.returncode == 0, done.stderr
    return {Path(p): mode for p, mode in json.loads(done.stdout).items()}


@pytest.mark.parametrize("umask", [0o022, 0o000, 0o002], ids=["022", "000", "002"])
def test_created_files_and_directories_are_private(tmp_path: Path, umask: int) -> None:
    tmp_path.chmod(0o755)
    data = tmp_path / "data"
    db = data / "nested" / "pathsessions.db"
    wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
    modes = modes_after_a_write(f"sqlite:///{db}", [data, db.parent, db, wal, shm], umask)
    assert modes == {data: 0o700, db.parent: 0o700, db: 0o600, wal: 0o600, shm: 0o600}
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755  # it existed: left as it was


def test_existing_files_and_directories_keep_their_mode(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o750)
    db = data / "pathsessions.db"
    modes_after_a_write(f"sqlite:///{db}", [db], 0o022)  # created 0600
    db.chmod(0o640)
    wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
    modes = modes_after_a_write(f"sqlite:///{db}", [data, db, wal, shm], 0o022)
    # SQLite gives the -wal and -shm files the database file's mode.
    assert modes == {data: 0o750, db: 0o640, wal: 0o640, shm: 0o640}
