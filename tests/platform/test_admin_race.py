"""A team keeps an admin under concurrency: two admins demoting (or removing) each other at the same moment, on two
real PostgreSQL connections, leave exactly one of them admin; the other's request is refused."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts import services
from accounts.models import Membership, Role
from core.errors import Conflict, NotFound, PermissionDenied
from tests.platform.factories import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.both_backends]
ROUNDS = 8


def race(*calls) -> list[Exception | None]:  # noqa: ANN002
    """Run each call on its own connection, released together; what each raised (None: it went through)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Exception | None] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            calls[index]()
        except Exception as error:  # noqa: BLE001 - the outcome is what the test looks at
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def act(action: str, team, by, on, mine: dict):  # noqa: ANN001, ANN201
    """`by` demotes `on` to reviewer, or removes them, as a call to run."""
    if action == "demote":
        return lambda: services.membership_set(team=team, username=on.username, role=Role.REVIEWER, by=by)
    return lambda: services.membership_remove(team=team, membership_id=mine[on.pk].id, by=by)


@pytest.mark.parametrize("action", ["demote", "remove"])
def test_two_admins_acting_on_each_other_at_once_leave_one_admin(action: str) -> None:
    for round_ in range(ROUNDS):
        first, second = make_user(f"{action}-a{round_}"), make_user(f"{action}-b{round_}")
        first.is_staff = True  # site staff create teams
        first.save()
        team = services.team_create(name=f"Race {action} {round_}", creator=first)
        services.membership_set(team=team, username=second.username, role=Role.ADMIN, by=first)
        mine = {user.pk: Membership.objects.get(team=team, user=user) for user in (first, second)}

        outcomes = race(act(action, team, first, second, mine), act(action, team, second, first, mine))
        admins = Membership.objects.filter(team=team, role=Role.ADMIN).count()
        assert admins == 1, f"round {round_}: {admins} admins left, outcomes {outcomes}"
        assert sum(outcome is None for outcome in outcomes) == 1, outcomes
        refused = next(outcome for outcome in outcomes if outcome is not None)
        assert isinstance(refused, Conflict | PermissionDenied | NotFound), repr(refused)
