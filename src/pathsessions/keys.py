"""API keys: generated from the OS's secure random source, stored only as SHA-256 hashes.

A generated key carries 256 random bits, so a fast hash is enough: no one can search that
space, and hashing stays cheap on every request (a slow KDF would cap throughput).
"""

from __future__ import annotations

import hashlib
import secrets

MAX_ACTIVE_KEYS = 25


def generate_key() -> str:
    return secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
