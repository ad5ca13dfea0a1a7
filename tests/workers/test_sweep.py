"""The sweep: nothing waits forever (lost messages are sent again, abandoned targets requeued or failed)."""

import pytest
from django.db import connection

from localization.models import Target
from localization.services import targets_sweep
from tests.conftest import drain_queue
from tests.platform.builders import make_basemap, make_drone_image, make_target
from tests.platform.factories import team_setup

pytestmark = pytest.mark.django_db


def test_the_sweep_resends_lost_clicks_and_requeues_or_fails_abandoned_ones(
    broker_queues,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    setup = team_setup()
    image, basemap = make_drone_image(setup.mission), make_basemap(setup.mission)
    lost, abandoned, hopeless, fresh = (make_target(setup.mission, image, basemap, status="queued") for _ in range(4))
    with connection.cursor() as cursor:  # set the clocks back; auto_now would overwrite updated_at on save()
        cursor.execute("UPDATE localization_target SET updated_at = now() - interval '10 minutes' WHERE id = %s",
                       [lost.id])  # fmt: skip
        cursor.execute(
            "UPDATE localization_target SET status='running', attempts=%s, started_at=now() - interval '1 hour', "
            "updated_at=now() - interval '1 hour' WHERE id = ANY(%s)",
            [1, [abandoned.id]],
        )
        cursor.execute(
            "UPDATE localization_target SET status='running', attempts=3, started_at=now() - interval '1 hour', "
            "updated_at=now() - interval '1 hour' WHERE id = %s",
            [hopeless.id],
        )
    with django_capture_on_commit_callbacks(execute=True):
        counts = targets_sweep(queued_after_s=60, running_after_s=300, max_attempts=3)
    assert counts == {"resent": 1, "requeued": 1, "failed": 1}
    assert sorted(args[0] for _, args in drain_queue("gpu")) == sorted([lost.id, abandoned.id])
    statuses = dict(Target.objects.values_list("id", "status"))
    assert statuses[lost.id] == "queued" and statuses[abandoned.id] == "queued" and statuses[fresh.id] == "queued"
    assert statuses[hopeless.id] == "failed" and "gave up after 3 attempts" in Target.objects.get(id=hopeless.id).error
    assert targets_sweep(queued_after_s=60, running_after_s=300, max_attempts=3) == {
        "resent": 0, "requeued": 0, "failed": 0,
    }  # fmt: skip
