"""gunicorn's configuration for the web container (`gunicorn --config deploy/gunicorn.conf.py config.asgi:application`).

Every value can be changed from the environment. Each process runs the ASGI app on uvicorn's event loop: a target's
long poll (`?wait=`, at most 30 s) waits as a suspended coroutine, holding no thread and no database connection, so
a hundred of them cost the site nothing (tests/platform/test_long_polls.py); Django runs the ordinary (sync) views
in a thread per request, with database connections from a pool per process (DATABASE_POOL, settings/base.py).
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# platform/ is a source root (never a package); the repository root holds workers/ and frontend/.
pythonpath = f"{ROOT},{ROOT / 'platform'}"
bind = os.environ.get("GUNICORN_BIND") or "0.0.0.0:8000"
workers = int(os.environ.get("GUNICORN_WORKERS") or min(2 * (os.cpu_count() or 1) + 1, 8))
worker_class = "uvicorn_worker.UvicornWorker"
raw_env = ["DATABASE_POOL=true"]
# A worker process silent this long is killed and replaced (its event loop keeps the heartbeat while views run).
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 120)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)
keepalive = 5
# Recycle workers now and then, so a slow leak in a C library (GDAL, Pillow) never grows without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 2000)
max_requests_jitter = max_requests // 10
# Logs to stdout/stderr, where `docker compose logs` reads them.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL") or "info"
# The TLS-terminating proxy in front sets X-Forwarded-Proto; trust it from these addresses ("*": any, for a proxy
# on the container network whose address is not fixed; then publish the port only to that proxy).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1"
# Temporary files of the workers' heartbeats in memory, not on the container's overlay file system.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
