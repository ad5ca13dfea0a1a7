"""workers.ingest_basemap (cpu queue): turn an uploaded basemap into a Cloud-Optimized GeoTIFF with tiles.

Celery imports this module before Django is set up: the platform is imported when the task runs.
"""

from config.celery_app import app


@app.task(name="workers.ingest_basemap", bind=True, acks_late=True, reject_on_worker_lost=True)
def ingest_basemap(self, basemap_id: int) -> str:  # noqa: ANN001
    """Run the ingest of one basemap; returns its final status ('succeeded', 'failed') or 'skipped' when the row
    is gone or not queued. acks_late + reject_on_worker_lost: a worker killed mid-ingest gives the message back,
    and the redelivered task (same id) may take over its own running row."""
    from missions.ingest import basemap_ingest

    return basemap_ingest(basemap_id=basemap_id, task_id=self.request.id or "")
