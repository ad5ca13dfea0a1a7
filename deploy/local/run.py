"""The run command (`make run`): migrate, seed the demo (logins, a synthetic mission, the demo model), then serve
the web app on 127.0.0.1:8000 and run one Celery worker on both queues. Ctrl-C stops everything it started; running
it again is safe. Once /healthz answers it prints the logins and the demo mission's address again.

The demo mission's files are written once by `smgeo mission` into var/demo-mission/ (the platform never imports
smgeo); `manage.py seed_demo` uploads them through the platform's services and registers the demo checkpoint.

Broker: CELERY_BROKER_URL when set; else Redis at REDIS_URL when it answers; else an embedded broker
(kombu's filesystem transport under var/broker/) that needs no server.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("VAR_DIR", ROOT / "var"))
PYTHON = sys.executable
HOST, PORT = "127.0.0.1", int(os.environ.get("PORT", "8000"))
DEMO_MISSION = VAR / "demo-mission"
DEMO_CHECKPOINT = ROOT / "checkpoints" / "smgeo-tiny-synthetic.pt"


def redis_answers(url: str) -> bool:
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def broker_environment() -> dict[str, str]:
    """Pick the broker once, here, so the web server and the worker always agree on it."""
    if os.environ.get("CELERY_BROKER_URL"):
        return {}
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_answers(redis_url):
        print(f"Broker: Redis at {redis_url}")
        return {"CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url}
    folder = VAR / "broker"
    for sub in ("queue", "control", "results"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "polling_interval": 0.05,
    }
    print(f"Broker: Redis does not answer at {redis_url}; using the embedded broker in {folder}")
    return {
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_RESULT_BACKEND": f"file://{folder / 'results'}",
        "CELERY_BROKER_TRANSPORT_OPTIONS": json.dumps(options),
    }


def seed_demo(manage: list[str], env: dict[str, str]) -> str:
    """Write the demo mission's files once (a folder with mission.json is complete: it is written last), then seed
    the database; returns what seed_demo printed (the logins and the mission's address)."""
    if not (DEMO_MISSION / "mission.json").is_file():
        command = [PYTHON, "-m", "smgeo.cli", "mission", "--out", str(DEMO_MISSION), "--scenes", "1", "--seed", "0"]
        subprocess.run(command, env=env, cwd=ROOT, check=True)
    options = ["--mission-dir", str(DEMO_MISSION), "--checkpoint", str(DEMO_CHECKPOINT)]
    seeded = subprocess.run(
        [*manage, "seed_demo", *options, "--base-url", f"http://{HOST}:{PORT}"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    print(seeded.stdout, end="")
    seeded.check_returncode()
    return seeded.stdout


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:  # not listening yet, or 503 (HTTPError) while the worker starts
        return False


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


def stop(processes: list[subprocess.Popen], grace_s: float = 10.0) -> None:
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    # Ctrl-C stops everything even when this was started with SIGINT ignored (nohup, a background job): Python
    # installs its KeyboardInterrupt handler only when SIGINT is not ignored at start-up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if not port_free(HOST, PORT):
        print(f"ERROR: {HOST}:{PORT} is already in use — is the platform already running?", file=sys.stderr)
        return 2
    VAR.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "platform")]), PYTHONUNBUFFERED="1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    env.update(broker_environment())
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=ROOT, check=True)
    demo = seed_demo(manage, env)

    commands = {
        # --insecure: the development server serves the static files with DEBUG off too
        "web": [*manage, "runserver", f"{HOST}:{PORT}", "--noreload", "--insecure"],
        "worker": [
            PYTHON,
            "-m",
            "celery",
            "--app",
            "workers.app",
            "worker",
            "--queues",
            "gpu,cpu",
            "--concurrency",
            "1",
            "--hostname",
            "local@%h",
            "--loglevel",
            "INFO",
        ],
        # the periodic sweep (nothing waits forever); one beat per deployment
        "beat": [
            PYTHON,
            "-m",
            "celery",
            "--app",
            "workers.app",
            "beat",
            "--schedule",
            str(VAR / "celerybeat-schedule"),
            "--loglevel",
            "INFO",
        ],  # fmt: skip
    }
    # Children share our process group, so the terminal's Ctrl-C reaches them too; we then wait for them.
    processes = [subprocess.Popen(cmd, env=env, cwd=ROOT) for cmd in commands.values()]
    health = f"http://{HOST}:{PORT}/healthz"
    print(f"SMGeo Platform on http://{HOST}:{PORT}/  (health: {health}). Ctrl-C stops it.")
    print("Starting the web app and the worker; /healthz answers 503 until both are up, then the logins follow.")
    ready, next_check = False, time.monotonic()
    try:
        while all(proc.poll() is None for proc in processes):
            if not ready and time.monotonic() >= next_check:
                ready, next_check = healthy(health), time.monotonic() + 2.0  # each 503 is a log line: not too often
                if ready:  # the logins again, below the servers' start-up logs
                    print(f"\nReady: the web app and the worker answer.\n{demo}", flush=True)
            time.sleep(0.5)
        # A Ctrl-C reaches the children and us together, and a busy machine may run a child's exit first: give our
        # own KeyboardInterrupt a moment to arrive before calling an exit a failure.
        time.sleep(1.0)
        failed = [
            f"{name} (exit code {proc.returncode})"
            for name, proc in zip(commands, processes, strict=True)
            if proc.poll() is not None
        ]
        print(f"ERROR: {', '.join(failed)} exited; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopping…")
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
