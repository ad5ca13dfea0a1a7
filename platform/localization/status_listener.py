"""Target status changes for long polls, without a thread or a database connection per waiting request.

On PostgreSQL a trigger sends `NOTIFY target_status, '<id> <status>'` when a status change commits (migration 0005).
One thread per web process holds one connection that LISTENs on that channel while anybody waits, and hands each
change to the waiters of that target, in whichever event loop they wait; it closes its connection once nobody waits.
A waiter is an `asyncio.Queue` of statuses: a waiting long poll is a suspended coroutine, not a blocked thread.

Each user may have at most `LONG_POLLS_PER_USER` waits open at once in a process (`TooManyWaits` past that), so one
client's loop of long polls cannot take the process's file descriptors or memory from everybody else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)

CHANNEL = "target_status"
IDLE_CHECK_S = 1.0  # how often the listening thread looks whether anybody still waits


class TooManyWaits(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} long polls may wait at once for one user; wait for one to answer")
        self.limit = limit


@dataclass(eq=False)
class Waiter:
    """One waiting long poll: the statuses its target takes arrive in `changes` (None: the listener restarted, so a
    change may have been missed and the waiter should read the status itself)."""

    target_id: int
    user_id: int
    loop: asyncio.AbstractEventLoop
    changes: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)

    def deliver(self, status: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # RuntimeError: its event loop has closed, the request is over
            self.loop.call_soon_threadsafe(self.changes.put_nowait, status)


class StatusListener:
    """The process's listening thread and its waiters (see the module's docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[int, set[Waiter]] = defaultdict(set)
        self._per_user: Counter[int] = Counter()
        self._thread: threading.Thread | None = None

    def add(self, waiter: Waiter, *, limit: int, listen: bool = True) -> None:
        """Register a waiter (with `listen`, starting the listening thread if none runs; without, it only counts
        towards the user's limit). Once the thread LISTENs it delivers None to every waiter, so a waiter that read
        the status before that reads it again and misses nothing."""
        with self._lock:
            if self._per_user[waiter.user_id] >= limit:
                raise TooManyWaits(limit)
            self._per_user[waiter.user_id] += 1
            self._waiters[waiter.target_id].add(waiter)
            if listen and self._thread is None:
                self._thread = threading.Thread(target=self._listen, name="target-status-listener", daemon=True)
                self._thread.start()

    def remove(self, waiter: Waiter) -> None:
        with self._lock:
            waiters = self._waiters.get(waiter.target_id)
            if waiters is None or waiter not in waiters:
                return
            waiters.discard(waiter)
            if not waiters:
                del self._waiters[waiter.target_id]
            self._per_user[waiter.user_id] -= 1
            if not self._per_user[waiter.user_id]:
                del self._per_user[waiter.user_id]

    def waiting(self) -> int:
        with self._lock:
            return sum(len(waiters) for waiters in self._waiters.values())

    def _listen(self) -> None:
        try:
            with psycopg.connect(**_connection_params(), autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                self._deliver_to_all(None)
                while self._anybody_waits():
                    for notify in conn.notifies(timeout=IDLE_CHECK_S):
                        self._dispatch(notify.payload)
        except Exception:  # the waiters fall back to reading the status now and then
            log.exception("the target status listener stopped")
            with self._lock:
                self._thread = None
            self._deliver_to_all(None)

    def _anybody_waits(self) -> bool:
        """False (and the thread is forgotten, so the next waiter starts a new one) once nobody waits."""
        with self._lock:
            if self._waiters:
                return True
            self._thread = None
            return False

    def _dispatch(self, payload: str) -> None:
        target_id, _, status = payload.partition(" ")
        with self._lock:
            waiters = list(self._waiters.get(int(target_id), ()))
        for waiter in waiters:
            waiter.deliver(status)

    def _deliver_to_all(self, status: str | None) -> None:
        with self._lock:
            waiters = [waiter for group in self._waiters.values() for waiter in group]
        for waiter in waiters:
            waiter.deliver(status)


def _connection_params() -> dict:
    """The default database's connection parameters, as Django's backend passes them to psycopg."""
    params = connections["default"].get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    return params


def per_user_limit() -> int:
    return settings.LONG_POLLS_PER_USER


LISTENER = StatusListener()
