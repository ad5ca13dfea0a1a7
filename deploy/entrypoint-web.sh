#!/usr/bin/env bash
# The web container: wait for the database, apply migrations, collect static files, then serve with gunicorn.
# Migrations run here, once per start of the web service; the workers and beat wait for it to be healthy.
set -euo pipefail
cd "$(dirname "$0")/.."

python deploy/wait_for_db.py
python manage.py migrate --noinput
python manage.py collectstatic --noinput --verbosity 0
exec gunicorn --config deploy/gunicorn.conf.py config.asgi:application
