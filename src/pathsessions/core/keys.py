"""API keys: generated from the OS's secure random source, stored only as SHA-256 hashes.

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
import secrets
from collections.abc import Iterable

MAX_ACTIVE_KEYS = 25
# Compared with when there is no active key: the digest of a random key no one is given.
DUMMY_HASH = hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def generate_key() -> str:
    return secrets.token_urlsafe(32)


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
