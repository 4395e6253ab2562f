"""API keys and v2 API credentials: secrets generated from the OS's secure random source,
stored only as SHA-256 hashes.

A generated key carries 256 random bits, so a fast hash is enough: no one can search that
space, and hashing stays cheap on every request (a slow KDF would cap throughput).

A presented key is checked against each active key of the company in constant time, rather
than looked up by its hash in an index, whose timing depends on the bytes compared. A company
with no active key (or no company at all) costs the same hash and comparison, against a dummy
digest, so the time taken does not tell an unknown company from a wrong key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

MAX_ACTIVE_KEYS = 25
MAX_ACTIVE_CREDENTIALS = 10

# What a v2 credential may be given, in the order they are stored and listed.
SCOPES = (
    "paths:read",
    "paths:write",
    "pathStats:read",
    "groups:read",
    "users:read",
    "webhooks:read",
    "webhooks:write",
    "webhookSecrets:read",
    "webhookSecrets:write",
)
_CLIENT_ID = re.compile(r"[0-9a-f]{32}")
# Compared with when there is no active key: the digest of a random key no one is given.
DUMMY_HASH = hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def generate_key() -> str:
    return secrets.token_urlsafe(32)


def generate_client_id() -> str:
    return secrets.token_hex(16)


def is_client_id(value: object) -> bool:
    """A v2 credential's client id as we write it: 32 lower-case hexadecimal characters."""
    return isinstance(value, str) and _CLIENT_ID.fullmatch(value) is not None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def matching_key(key: str, active: Iterable[tuple[str, str]]) -> str | None:
    """The id of the active key (id, hash) that `key` is, or None. Every candidate is
    compared in full, so the time taken says nothing about which bytes matched; with no active
    key, the presented one is still hashed and compared, with `DUMMY_HASH`."""
    presented = hash_key(key).encode()
    found = None
    compared = False
    for key_id, key_hash in active:
        compared = True
        if hmac.compare_digest(presented, key_hash.encode()):
            found = key_id
    if not compared:
        hmac.compare_digest(presented, DUMMY_HASH.encode())
    return found


def secret_matches(secret: str, secret_hash: str | None) -> bool:
    """Whether `secret` hashes to `secret_hash`, compared in constant time; with no hash (no
    such credential), the secret is still hashed and compared, with `DUMMY_HASH`."""
    presented = hash_key(secret).encode()
    expected = DUMMY_HASH if secret_hash is None else secret_hash
    return hmac.compare_digest(presented, expected.encode()) and secret_hash is not None
