import pytest

from config.celery_app import enqueue
from tests.conftest import drain_queue

pytestmark = pytest.mark.django_db(transaction=True)


def test_enqueued_tasks_wait_in_their_queue_until_a_worker_takes_them(broker_queues) -> None:
    enqueue("workers.ping", "queued-only")
    assert drain_queue("cpu") == [("workers.ping", ["queued-only"])]
    assert drain_queue("gpu", timeout_s=0.5) == []
