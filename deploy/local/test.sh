#!/usr/bin/env bash
# The test command: .venv/ up to date, real PostgreSQL and Redis up, then the whole suite on PostgreSQL.
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
exec .venv/bin/python -m pytest "$@"
