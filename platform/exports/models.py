from django.conf import settings
from django.db import models

from core.models import BackgroundJob


class ExportJob(BackgroundJob):
    """A mission's reviewed labels as a CVOGL-layout dataset (zip), written by a background job."""

    class Kind(models.TextChoices):
        CVOGL = "cvogl", "CVOGL-layout dataset (zip)"

    mission = models.ForeignKey("missions.Mission", on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CVOGL)
    file = models.FileField(upload_to="exports/", max_length=300, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "kind"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_export_per_mission",
            ),
        ]
