from django.conf import settings
from django.db import models

from core.models import BackgroundJob


class TargetStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    PREDICTED = "predicted", "predicted"
    APPROVED = "approved", "approved"
    CORRECTED = "corrected", "corrected"
    REJECTED = "rejected", "rejected"
    FAILED = "failed", "failed"


REVIEWED = {TargetStatus.APPROVED, TargetStatus.CORRECTED, TargetStatus.REJECTED}


class Target(models.Model):
    """A click on an object in a drone image, to be localized on a basemap."""

    mission = models.ForeignKey("missions.Mission", on_delete=models.CASCADE, related_name="targets")
    drone_image = models.ForeignKey("missions.DroneImage", on_delete=models.CASCADE, related_name="targets")
    basemap = models.ForeignKey("missions.Basemap", on_delete=models.CASCADE, related_name="targets")
    click_x = models.FloatField(help_text="drone-image pixels, from the left")
    click_y = models.FloatField(help_text="drone-image pixels, from the top")
    label = models.CharField(max_length=120, blank=True)
    search_window = models.JSONField(null=True, blank=True, help_text="[x1, y1, x2, y2] basemap pixels to search")
    model_version = models.ForeignKey(
        "registry.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the version asked for; empty: the team's active version",
    )
    status = models.CharField(max_length=16, choices=TargetStatus.choices, default=TargetStatus.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # NULL (not "") when absent, so the unique constraint below only binds targets that carry a key.
    idempotency_key = models.CharField(max_length=80, null=True, blank=True)  # noqa: DJ001
    task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    prediction = models.ForeignKey(
        "localization.Prediction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the latest prediction that set this target's status (batch re-predictions never replace it)",
    )
    last_review = models.ForeignKey(
        "localization.Review",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the latest review; when approved or corrected, its final_box is the target's label",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["mission", "status", "created_at"]),
            models.Index(fields=["status", "updated_at"]),
            # a mission's target list, newest first: a page reads 50 index entries, not every target of the mission
            models.Index(fields=["mission", "-created_at", "-id"], name="target_mission_newest"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                name="one_target_per_idempotency_key",
                condition=models.Q(idempotency_key__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"target {self.pk} ({self.status})"


class Prediction(models.Model):
    """A model's answer for a target: box in basemap pixels and in lon/lat, candidates, heatmap."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="predictions")
    box = models.JSONField(help_text="[x1, y1, x2, y2] basemap pixels")
    box_geojson = models.JSONField(help_text="GeoJSON Polygon in EPSG:4326 (lon, lat)")
    score = models.FloatField()
    candidates = models.JSONField(default=list, help_text='[{"box": [...], "box_geojson": {...}, "score": s}]')
    margin = models.FloatField(
        null=True, blank=True, help_text="top score minus the runner-up's: small when the model hesitates"
    )
    heatmap = models.ImageField(upload_to="heatmaps/", max_length=300, blank=True)
    heatmap_window = models.JSONField(null=True, blank=True, help_text="[x1, y1, x2, y2] basemap px the heatmap covers")
    heatmap_bounds = models.JSONField(null=True, blank=True, help_text="[west, south, east, north] of the heatmap")
    search_window = models.JSONField(null=True, blank=True, help_text="[x1, y1, x2, y2] basemap px searched")
    search_mode = models.CharField(max_length=16, blank=True, help_text="gps, drawn or sliding")
    latency_ms = models.FloatField()
    batch = models.ForeignKey(
        "localization.PredictionBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="predictions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target", "-created_at"])]

    def __str__(self) -> str:
        return f"prediction {self.pk} of target {self.target_id}"


class Review(models.Model):
    """One reviewer decision; append-only. The latest review of a target gives its label."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "approve"
        CORRECT = "correct", "correct"
        REJECT = "reject", "reject"
        REOPEN = "reopen", "reopen (undo the last decision)"

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="reviews")
    prediction = models.ForeignKey(Prediction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    final_box = models.JSONField(null=True, blank=True, help_text="[x1, y1, x2, y2] basemap pixels")
    final_box_geojson = models.JSONField(null=True, blank=True, help_text="GeoJSON Polygon in EPSG:4326 (lon, lat)")
    candidate = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="for a correction that picked a candidate: its index in the prediction"
    )
    comment = models.TextField(blank=True)
    status_before = models.CharField(max_length=16, choices=TargetStatus.choices)
    status_after = models.CharField(max_length=16, choices=TargetStatus.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.decision} of target {self.target_id} ({self.status_before} -> {self.status_after})"


class PredictionBatch(BackgroundJob):
    """Re-predict a mission's targets (or some of them) with one model version, to compare versions."""

    mission = models.ForeignKey("missions.Mission", on_delete=models.CASCADE, related_name="prediction_batches")
    model_version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="+")
    target_ids = models.JSONField(default=list, help_text="the targets to re-predict; empty: all of the mission")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
