"""Fixtures shared by every test: a real Celery worker subprocess on the test database and broker."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class WorkerProcess:
    """A real `celery worker` subprocess consuming our queues, on the same database and broker as the tests."""

    def __init__(
        self, queues: str = "gpu,cpu", extra_env: dict[str, str] | None = None, extra_args: tuple[str, ...] = ()
    ) -> None:
        from django.conf import settings
        from django.db import connection

        db = connection.settings_dict
        if connection.vendor == "sqlite":
            database_url = f"sqlite:///{db['NAME']}"
        else:
            database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        self.hostname = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = Path(os.environ.get("PYTEST_WORKER_LOG_DIR", "/tmp")) / f"{self.hostname}.log"
        # The same database and media folder as the tests (the test settings pick a fresh media folder per process).
        env = dict(
            os.environ,
            DATABASE_URL=database_url,
            MEDIA_ROOT=str(settings.MEDIA_ROOT),
            PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'platform'}",
        )
        env.update(extra_env or {})
        command = [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "workers.app",
            "worker",
            "--queues",
            queues,
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--hostname",
            self.hostname,
            "--loglevel",
            "INFO",
            *extra_args,
        ]
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout_s: float = 90.0, by_ping: bool = True) -> None:
        """Until the worker answers a ping through the broker (or, by_ping=False, says it is ready in its log)."""
        from config.celery_app import app

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}:\n{self.log()}")
            if by_ping and app.control.ping(destination=[self.hostname], timeout=0.5):
                return
            if not by_ping and " ready." in self.log():
                return
            time.sleep(0 if by_ping else 0.2)
        raise RuntimeError(f"the worker did not answer within {timeout_s}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def celery_worker(django_db_setup: None, django_db_blocker) -> Iterator[WorkerProcess]:
    """A worker for the tests of one module; stopped when the module's tests are done."""
    worker = WorkerProcess()
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def drain_queue(queue: str, timeout_s: float = 2.0) -> list[tuple[str, list]]:
    """Take every message waiting in a broker queue: [(task name, args)]. Proves what was really enqueued."""
    from config.celery_app import app

    taken: list[tuple[str, list]] = []
    with app.connection_for_write() as connection:
        simple = connection.SimpleQueue(queue)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                message = simple.get(block=True, timeout=0.2)
            except simple.Empty:
                if taken:
                    break
                continue
            taken.append((message.headers["task"], list(message.payload[0])))
            message.ack()
        simple.close()
    return taken


@pytest.fixture
def broker_queues() -> Iterator[None]:
    """Empty the gpu and cpu queues before and after a test that inspects them."""
    for queue in ("gpu", "cpu"):
        drain_queue(queue, timeout_s=0.3)
    yield
    for queue in ("gpu", "cpu"):
        drain_queue(queue, timeout_s=0.3)


def wait_until(check, timeout_s: float = 60.0, every_s: float = 0.2, what: str = "the condition"):  # noqa: ANN001, ANN201
    """Poll `check()` until it returns something truthy (returned), or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"{what} did not happen within {timeout_s:g} s")


class RedisServer:
    """A private redis-server on a free port, which a test may stop and start again (the shared one stays up)."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _answers(client), timeout_s=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _answers(client) -> bool:  # noqa: ANN001
    try:
        return bool(client.ping())
    except Exception:
        return False


@contextmanager
def use_broker(url: str) -> Iterator[None]:
    """Send this process's Celery messages to `url` (connection pools rebuilt on the way in and out)."""
    from config.celery_app import app

    previous = app.conf.broker_url
    app.conf.broker_url = url
    app._after_fork()  # drops the cached connection and producer pools
    try:
        yield
    finally:
        app.conf.broker_url = previous
        app._after_fork()
