"""Make sure the local PostgreSQL and Redis answer; start them when they are local and down.

Used by the test command. Fails loudly (exit 2 with the reason) rather than letting tests skip.
"""

import glob
import os
import subprocess
import sys
import time
from urllib.parse import urlparse

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
POSTGRES_START = "pg_ctlcluster --skip-systemctl-redirect {version} main start"
REDIS_START = 'redis-server --daemonize yes --bind 127.0.0.1 --port {port} --save "" --appendonly no'


def postgres_ready(url: str) -> bool:
    import psycopg

    parts = urlparse(url)
    try:
        with psycopg.connect(
            host=parts.hostname,
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password,
            dbname="postgres",
            connect_timeout=2,
        ) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def redis_ready(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def wait_for(check, url: str, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check(url):
            return True
        time.sleep(0.5)
    return False


def start_postgres() -> str:
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions:
        return "no local PostgreSQL cluster under /etc/postgresql"
    return POSTGRES_START.format(version=versions[-1])


def ensure(name: str, url: str, check, start_command) -> str | None:
    """Return None when the service answers (starting it if local and down), else the reason it does not."""
    if check(url):
        return None
    host = urlparse(url).hostname or "127.0.0.1"
    if host not in LOCAL_HOSTS:
        return f"{name} at {url} does not answer (not local, so not started here)"
    command = start_command(url)
    if command.startswith("no "):
        return f"{name} is down and cannot be started: {command}"
    print(f"{name} is down; starting it: {command}", flush=True)
    result = subprocess.run(command, shell=True, capture_output=True, text=True)
    if result.returncode != 0:
        return f"{name} failed to start ({command}): {result.stderr.strip() or result.stdout.strip()}"
    if not wait_for(check, url):
        return f"{name} was started but does not answer at {url}"
    return None


def main() -> int:
    database_url = os.environ["DATABASE_URL"]
    redis_url = os.environ["REDIS_URL"]
    problems = [
        ensure("PostgreSQL", database_url, postgres_ready, lambda url: start_postgres()),
        ensure("Redis", redis_url, redis_ready, lambda url: REDIS_START.format(port=urlparse(url).port or 6379)),
    ]
    problems = [p for p in problems if p]
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    if problems:
        print(
            "The test suite needs real PostgreSQL and Redis; it does not skip. Fix the above and re-run.",
            file=sys.stderr,
        )
        return 2
    print(f"PostgreSQL and Redis answer ({urlparse(database_url).netloc}, {urlparse(redis_url).netloc})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
