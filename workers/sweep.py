"""workers.sweep (cpu queue, every SWEEP_EVERY_S from Celery beat): nothing waits forever.

Targets still queued after SWEEP_QUEUED_AFTER_S are sent again (the broker was down at click time, or the message
was lost); targets running past the localization's hard time limit are requeued, or failed with the reason once
claimed SWEEP_MAX_ATTEMPTS times. Celery imports this module before Django is set up.
"""

from __future__ import annotations

import logging

from django.conf import settings

from config.celery_app import app

log = logging.getLogger(__name__)


@app.task(name="workers.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    from localization.services import targets_sweep

    counts = targets_sweep(
        queued_after_s=settings.SWEEP_QUEUED_AFTER_S,
        running_after_s=settings.LOCALIZE_SOFT_TIME_LIMIT_S + 60,
        max_attempts=settings.SWEEP_MAX_ATTEMPTS,
    )
    if any(counts.values()):
        log.info("sweep: %s", counts)
    return counts
