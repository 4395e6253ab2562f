"""The ceiling: the least an ASGI app can do per request, on the server stack we ship.

It reads the whole body and answers a JSON object shaped like a create answer, with the same
headers our app sends, so the only difference from a `pathsessions serve` run is our own work
(routing, auth, validation, SQL). It answers every method and path alike, GET included, so
read scenarios compare with it too; their answers are larger than these 34 bytes (a session
with its path is ≈ 27 kB), so for them the gap also prices the bytes. The benchmark runs it
(bench/servers.py) as:

    .venv/bin/python bench/raw_app.py --host 127.0.0.1 --port 8001 --workers 1

The ceiling is stock uvicorn with httptools and uvloop; `--http edge` serves it on our
protocol instead (`EdgeProtocol`, with the limits of docs/performance.md): what those limits
cost.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from pathsessions.settings import Settings
from pathsessions.web.server import EdgeConfig, EdgeLimits

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Same length as a real answer (`{"_id": "<24 hex digits>"}`), so both runs move the same bytes.
BODY = b'{"_id":"000000000000000000000000"}'
HEADERS = [
    (b"content-type", b"application/json; charset=utf-8"),
    (b"content-length", str(len(BODY)).encode()),
]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return  # lifespan is off; nothing else reaches a plain HTTP server
    # Drain the body as our app does: a ceiling that skipped it would not be the same load.
    while True:
        message = await receive()
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--http", choices=["edge", "httptools"], default="httptools")
    args = parser.parse_args()
    # The same uvicorn options as `pathsessions serve` (src/pathsessions/cli/serve.py), with
    # the default limits.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    defaults = Settings()
    config = EdgeConfig(
        EdgeLimits(defaults.header_timeout, defaults.max_header_bytes, defaults.max_connections),
        "raw_app:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="pathsessions.web.server:EdgeProtocol" if args.http == "edge" else "httptools",
        timeout_keep_alive=defaults.keep_alive_timeout,
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
    )
    server = uvicorn.Server(config)
    if args.workers > 1:
        sock = config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run()


if __name__ == "__main__":
    main()
