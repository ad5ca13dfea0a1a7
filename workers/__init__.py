"""Celery tasks. They take ids, call platform services and smgeo, and are enqueued by name.

Start a worker from the repository root with `PYTHONPATH=platform celery --app workers.app worker --queues gpu,cpu`.
"""
