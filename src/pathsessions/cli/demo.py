"""`pathsessions demo`: load the demo company, print how to call it, then serve."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
from dataclasses import replace
from importlib import resources
from typing import Any

from ..core import operators
from ..core.clock import SYSTEM_CLOCK
from ..core.keys import SCOPES
from ..core.model import NewCredential, NewKey
from ..loader import load_document
from ..settings import PREFIX, Settings
from ..storage import Database, redact_url
from ..storage import companies as company_store
from . import serve
from .common import add_command, run

DEMO_LABEL = "demo"


def register(commands: Any) -> None:
    parser = add_command(
        commands, "demo", "load a demo company, print a new API key and how to call it, serve"
    )
    serve.add_server_arguments(parser)
    parser.set_defaults(run=main)


def demo_document() -> dict[str, Any]:
    text = resources.files("pathsessions").joinpath("demo.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def main(args: argparse.Namespace, settings: Settings) -> int:
    settings = serve.server_settings(args, settings)
    # The port first: when it is busy (a demo already running), nothing is loaded or revoked.
    with serve.listen(settings) as sock:
        settings = replace(settings, port=sock.getsockname()[1])
        # The sandbox's control API is on in a demo: with the token given, else a new one.
        admin_token = settings.admin_token or secrets.token_urlsafe(32)
        settings = replace(settings, admin_token=admin_token)
        os.environ[PREFIX + "ADMIN_TOKEN"] = admin_token  # the worker processes read it there
        settings = replace(settings, token_secret=prepare(settings))
        return serve.serve(settings, sock)


def prepare(settings: Settings) -> str:
    """Load the demo company, make its new key, print how to call it; answer the token secret."""
    document = demo_document()
    company = document["companies"][0]

    async def work(db: Database) -> tuple[NewKey, NewCredential, str]:
        await load_document(db, document, generate_keys=False)
        # A fresh key and v2 credential each run; the previous demo ones are revoked so the
        # limits never bite.
        await operators.revoke_keys_labelled(db, SYSTEM_CLOCK, company["id"], DEMO_LABEL)
        key = await operators.create_key(db, SYSTEM_CLOCK, company["id"], DEMO_LABEL)
        for old in await operators.list_credentials(db, company["id"]):
            if old.name == DEMO_LABEL and old.revoked_at is None:
                await operators.revoke_credential(db, SYSTEM_CLOCK, company["id"], old.client_id)
        credential = await operators.create_credential(
            db, SYSTEM_CLOCK, company["id"], DEMO_LABEL, list(SCOPES)
        )
        # A sandbox needs no secret store: the demo keeps its token secret in its database,
        # so that tokens outlive a restart of the demo.
        secret = settings.token_secret or await company_store.server_secret(
            db, "token", secrets.token_hex(32)
        )
        return key, credential, secret

    key, credential, secret = run(settings, work)
    path_id = company["paths"][0]["id"]
    group_id = company["groups"][0]["id"]
    base = serve.base_url(settings)
    instructor = company["users"][1]
    body = json.dumps(
        {
            "sessionName": "Demo cohort",
            "startDate": "2030-01-15T09:00:00+01:00",
            "sessionOwnerGroup": group_id,
            "instructorsMails": [instructor["mail"]],
        },
        separators=(",", ":"),
    )
    variables = {
        "C": company["id"],
        "K": key.key,
        "P": path_id,
        "G": group_id,
        "I": instructor["id"],
        "CLIENT_ID": credential.client_id,
        "CLIENT_SECRET": credential.client_secret,
        "BASE": base,
        "ADMIN": settings.admin_token,
    }
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items())
    print(
        f"""
Demo company loaded into {redact_url(settings.database_url)}
  company id : {company["id"]}
  API key    : {key.key}
  path id    : {path_id}
  group id   : {group_id}
  v2 client  : {credential.client_id} (secret {credential.client_secret}, every scope)
  admin token: {settings.admin_token} (the sandbox's control API under {base}/__admin/)

For your shell (the README's examples use these variables):

export {exports}

Create a session:

curl -s -X POST '{base}/api/v1/paths/{path_id}/sessions/' \\
  -H 'X-company-id: {company["id"]}' -H 'X-apiKey: {key.key}' \\
  -H 'Content-Type: application/json' \\
  -d '{body}'

What the server received (the sandbox's request journal, newest first):

curl -s '{base}/__admin/requests?limit=1' -H 'Authorization: Bearer {settings.admin_token}'

The same, live, with the companies, sessions, faults and clock, in the sandbox's web console
(sign in with the admin token above): {base}/__admin/console

API description: {base}/docs  (OpenAPI: {base}/openapi.json)
Serving on {base} until Ctrl-C; running the demo again keeps the data and prints a new key
and a new v2 credential.
""",
        flush=True,
    )
    return secret
