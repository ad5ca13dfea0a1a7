#!/usr/bin/env bash
# The test command: .venv/ up to date, real PostgreSQL and Redis up, then the whole suite on PostgreSQL and its
# concurrency tests also on SQLite. With arguments, pytest runs just those (on TEST_DATABASE_URL, else PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/venv.sh

# One database and one Redis key prefix per checkout, so two checkouts can test side by side.
checkout=${TEST_NAME:-$(pwd | sha256sum | cut -c1-8)}
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/smgeo_$checkout}
export REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
export CELERY_BROKER_URL=$REDIS_URL
export CELERY_RESULT_BACKEND=$REDIS_URL
export CELERY_BROKER_TRANSPORT_OPTIONS="{\"global_keyprefix\": \"smgeo-test-$checkout:\"}"
export DJANGO_SETTINGS_MODULE=config.settings.test

.venv/bin/python deploy/local/services.py

# The browser tests drive Debian's Chromium (never a downloaded one); install it when it is missing.
if ! command -v chromium >/dev/null; then
    echo "Installing Debian's chromium for the browser tests (tests/frontend)"
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null; } \
        || { echo "ERROR: could not install chromium; the browser tests need it" >&2; exit 2; }
fi
# tests/deploy validates docker-compose.yml with Debian's docker-compose (`config` needs no Docker engine).
if ! command -v docker-compose >/dev/null; then
    echo "Installing Debian's docker-compose for the compose file's validation (tests/deploy)"
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq docker-compose >/dev/null; } \
        || { echo "ERROR: could not install docker-compose; tests/deploy needs it" >&2; exit 2; }
fi
if [ $# -gt 0 ]; then
    exec .venv/bin/python -m pytest "$@"
fi
# The whole suite on PostgreSQL, then the concurrency tests (bursts, races, double-submits) again on the embedded
# default, a SQLite file, as `make run` uses it. One SQLite file: TEST_DATABASE_URL=sqlite:////tmp/x/db.sqlite3.
.venv/bin/python -m pytest
echo "The concurrency tests on the embedded SQLite default (-m both_backends)"
DATABASE_URL="sqlite:///$(mktemp -d /tmp/smgeo-sqlite-test.XXXXXX)/db.sqlite3" \
    exec .venv/bin/python -m pytest -m both_backends -p no:cacheprovider
