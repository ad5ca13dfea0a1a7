"""Long polls of a target under the production web server: gunicorn with deploy/gunicorn.conf.py (uvicorn workers,
production settings) against the test database. A hundred waiting polls must hold no thread and no database
connection, so another user's page still answers at once; the change then reaches every one of them."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string
from rest_framework.authtoken.models import Token

from localization.models import Target
from tests.platform.factories import add_member, team_setup
from tests.platform.gunicorn_server import serving
from tests.platform.localization_fixtures import make_target

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

POLLS_PER_USER = 50  # the server's LONG_POLLS_PER_USER here: two users fill it with 100 polls


async def get(port: int, path: str, token: str) -> tuple[int, dict]:
    """One GET on its own connection: (status, JSON body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        head, _, body = (await reader.read(-1)).partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body or b"{}")
    finally:
        writer.close()


def worker_memory_mb(master_pid: int) -> float:
    """Resident memory of gunicorn's (single) worker process."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    assert len(children) == 1, children
    status = Path(f"/proc/{children[0]}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024


def database_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


async def in_a_thread(work, *args: object) -> object:  # noqa: ANN001
    """Database work from the event loop, on a thread that closes its connection after."""

    def run() -> object:
        try:
            return work(*args)
        finally:
            connection.close()

    return await asyncio.to_thread(run)


@pytest.fixture
def server(tmp_path: Path):  # noqa: ANN201
    with serving(tmp_path, LONG_POLLS_PER_USER=str(POLLS_PER_USER)) as (port, pid):
        yield port, pid


def test_a_hundred_waiting_long_polls_leave_the_site_responsive_and_all_get_the_change(server) -> None:  # noqa: ANN001
    port, master_pid = server
    setup = team_setup()
    second_operator = add_member(setup.team, "operator")
    target = make_target(setup.mission, by=setup.operator)
    tokens = [Token.objects.create(user=user).key for user in (setup.operator, second_operator)]
    other_user = Token.objects.create(user=setup.outsider).key  # another team's admin, on its own pages
    poll = f"/api/v1/targets/{target.id}/?changed_from=queued&wait=20"
    for _ in range(3):  # warm: the first requests import the views, open the pool
        asyncio.run(get(port, f"/api/v1/targets/{target.id}/", tokens[0]))
    idle_mb = worker_memory_mb(master_pid)
    connections_before = database_connections()

    async def scenario() -> dict:
        polls = [asyncio.create_task(get(port, poll, tokens[i % 2])) for i in range(2 * POLLS_PER_USER)]
        deadline = time.monotonic() + 60
        while (await get(port, "/healthz", tokens[0]))[1]["web"]["long_polls_waiting"] < len(polls):
            assert time.monotonic() < deadline and not any(task.done() for task in polls), "the polls do not wait"
            await asyncio.sleep(0.2)
        over_cap = await get(port, poll, tokens[0])  # the operator's 51st
        me_ms = []
        for _ in range(5):
            started = time.perf_counter()
            status, body = await get(port, "/api/v1/me/", other_user)
            me_ms.append((time.perf_counter() - started) * 1000)
            assert status == 200 and body["username"] == setup.outsider.username
        waiting = {"memory_mb": worker_memory_mb(master_pid), "connections": await in_a_thread(database_connections)}
        await in_a_thread(lambda: Target.objects.filter(id=target.id).update(status="predicted"))
        started = time.perf_counter()
        answers = await asyncio.gather(*polls)
        return {"me_ms": me_ms, "over_cap": over_cap, "waiting": waiting, "answers": answers,
                "answered_s": time.perf_counter() - started}  # fmt: skip

    result = asyncio.run(scenario())
    assert statistics.median(result["me_ms"]) < 200, result["me_ms"]  # was 9.1 s behind four polls on gthread
    status, body = result["over_cap"]
    assert status == 429 and str(POLLS_PER_USER) in body["detail"], body
    # 100 waits cost little memory and no database connection each: the process's pool (DATABASE_POOL_MAX, 20) and
    # its listener are all it holds
    assert result["waiting"]["memory_mb"] < idle_mb + 64, (idle_mb, result["waiting"])
    assert result["waiting"]["connections"] <= connections_before + 20 + 1, (connections_before, result["waiting"])
    assert [status for status, _ in result["answers"]] == [200] * 2 * POLLS_PER_USER
    assert {body["status"] for _, body in result["answers"]} == {"predicted"}
    assert result["answered_s"] < 10, result["answered_s"]  # as soon as it changed, not after the 20 s wait


def test_every_middleware_of_the_production_stack_runs_async() -> None:
    """A sync-only middleware would run the stack below it in a thread: each waiting poll would hold one again."""
    production = [*settings.MIDDLEWARE, "core.async_middleware.StaticFilesMiddleware"]
    sync_only = [path for path in production if not getattr(import_string(path), "async_capable", False)]
    assert sync_only == []
