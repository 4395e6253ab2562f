"""API keys: generated from the OS's secure random source, stored only as SHA-256 hashes.

A generated key carries 256 random bits, so a fast hash is enough: no one can search that
space, and hashing stays cheap on every request (a slow KDF would cap throughput).

A presented key is checked against each active key of the company in constant time, rather
than looked up by its hash in an index, whose timing depends on the bytes compared.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

MAX_ACTIVE_KEYS = 25


def generate_key() -> str:
    return secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def matching_key(key: str, active: Iterable[tuple[str, str]]) -> str | None:
    """The id of the active key (id, hash) that `key` is, or None. Every candidate is
    compared in full, so the time taken says nothing about which bytes matched."""
    presented = hash_key(key).encode()
    found = None
    for key_id, key_hash in active:
        if hmac.compare_digest(presented, key_hash.encode()):
            found = key_id
    return found
