"""Secrets handed out once (API tokens, invitation links): a random key for the holder, only its hash for us."""

from __future__ import annotations

import hashlib
import secrets


def new_key(mark: str = "") -> str:
    """A fresh random key (256 bits, URL-safe), after `mark`."""
    return mark + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    """What is stored: the sha256 of the key, hex."""
    return hashlib.sha256(key.encode()).hexdigest()
