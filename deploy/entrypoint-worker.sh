#!/usr/bin/env bash
# The workers' and beat's containers: wait for the database, then run the command given (celery ...).
set -euo pipefail
cd "$(dirname "$0")/.."

python deploy/wait_for_db.py
exec "$@"
