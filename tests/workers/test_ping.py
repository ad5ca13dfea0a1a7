import pytest

from config.celery_app import app, enqueue

pytestmark = pytest.mark.django_db(transaction=True)


def test_ping_is_routed_to_the_cpu_queue() -> None:
    assert app.amqp.router.route({}, "workers.ping")["queue"].name == "cpu"


def test_ping_round_trip_through_a_real_worker_on_redis(celery_worker) -> None:
    assert app.conf.broker_url.startswith("redis://")
    task_id = enqueue("workers.ping", "hello")
    result = app.AsyncResult(task_id).get(timeout=30)
    assert result["payload"] == "hello"
    assert "ping" in celery_worker.log()  # the worker process itself ran it
