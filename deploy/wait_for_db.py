"""Wait until the database in DATABASE_URL accepts connections (the containers' entrypoints run this first).

Exits 0 once a connection succeeds, 1 after WAIT_FOR_DB_S seconds (default 60) with the last error.
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wait_for_db(timeout_s: float) -> str | None:
    """None once the default database answers; the last error when it did not within timeout_s."""
    from django.db import connection
    from django.db.utils import OperationalError

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            connection.ensure_connection()
            return None
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                return str(exc).strip()
            connection.close()
            time.sleep(1.0)


def main() -> int:
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    import django

    django.setup()
    timeout_s = float(os.environ.get("WAIT_FOR_DB_S", "60"))
    error = wait_for_db(timeout_s)
    if error is not None:
        print(f"ERROR: the database did not answer within {timeout_s:g} s: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
