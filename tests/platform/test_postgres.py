"""What we rely on PostgreSQL for: row locks that other connections skip (work claiming)."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_suite_runs_on_postgresql() -> None:
    assert connection.vendor == "postgresql"


def test_select_for_update_skip_locked_hands_each_row_to_one_connection() -> None:
    users = get_user_model().objects
    first = users.create(username="first")
    second = users.create(username="second")
    seen_by_other: list[str] = []

    def other_connection() -> None:
        try:
            with transaction.atomic():
                seen_by_other.extend(
                    users.select_for_update(skip_locked=True).order_by("id").values_list("username", flat=True)
                )
        finally:
            connection.close()

    with transaction.atomic():
        locked = users.select_for_update().get(pk=first.pk)
        thread = threading.Thread(target=other_connection)
        thread.start()
        thread.join(timeout=10)
    assert locked.username == "first"
    assert seen_by_other == [second.username]
