"""The Celery app. The platform enqueues work by task name through it and never imports `workers`.

Queues: `gpu` (localization, fine-tuning) and `cpu` (basemap ingest, exports). Task names are routed
to queues in settings (CELERY_TASK_ROUTES), so one table says where each job runs.
"""

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

QUEUES = ("gpu", "cpu")

app = Celery("smgeo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = tuple(Queue(name, Exchange(name), routing_key=name) for name in QUEUES)


def enqueue(task_name: str, *args: object, task_id: str | None = None, **kwargs: object) -> str:
    """Send a task by name to the queue its route names (with `task_id` when given); returns the Celery task id."""
    return app.send_task(task_name, args=args, kwargs=kwargs, task_id=task_id).id
