"""Ids read from URLs, query strings and bodies: ASCII digits only (`str.isdigit()` also accepts `²` and other
digits `int()` refuses) within the 64-bit integers PostgreSQL and SQLite store, so a bad id is a 4xx, never a 500."""

from __future__ import annotations

MAX_ID = 2**63 - 1


def parse_id(raw: object) -> int | None:
    """The id `raw` spells, or None when it is not one (empty, not ASCII digits, zero, beyond 64 bits)."""
    if not isinstance(raw, str) or not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None
