from django.conf import settings
from django.db import models

from core.models import BackgroundJob


class ModelVersion(models.Model):
    """A registered checkpoint. Team-owned (fine-tuned on the team's labels) or shared (no team: base models)."""

    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="model_versions"
    )
    name = models.CharField(max_length=120)
    checkpoint = models.FileField(upload_to="checkpoints/", max_length=300)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    config = models.JSONField(help_text="the model config saved in the checkpoint")
    metrics = models.JSONField(default=dict, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    training_run = models.OneToOneField(
        "registry.TrainingRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="result_version"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="model_version_name_per_team"),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(team__isnull=True), name="shared_model_version_name"
            ),
            models.UniqueConstraint(fields=["team", "sha256"], name="model_version_file_per_team"),
            models.UniqueConstraint(
                fields=["sha256"], condition=models.Q(team__isnull=True), name="shared_model_version_file"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ModelActivation(models.Model):
    """Append-only history of which version a team ran on; rolling back re-activates an earlier entry."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="activations")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="activations")
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=32, default="activate")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.team} -> {self.model_version} ({self.reason})"


class TrainingRun(BackgroundJob):
    """Fine-tuning a version on a team's reviewed labels: a frozen snapshot, progress, metrics, the result."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="training_runs")
    base_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    params = models.JSONField(default=dict, help_text="epochs, batch size, learning rate, ...")
    dataset_label_ids = models.JSONField(default=list, help_text="the reviews frozen into the dataset")
    dataset_hash = models.CharField(max_length=64, blank=True)
    epoch = models.PositiveIntegerField(default=0)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    loss = models.FloatField(null=True, blank=True)
    eta_s = models.FloatField(null=True, blank=True)
    history = models.JSONField(default=list, help_text="train and val entries as the trainer logged them")
    base_metrics = models.JSONField(default=dict, blank=True)
    new_metrics = models.JSONField(default=dict, blank=True)
    comparison = models.JSONField(
        default=dict, blank=True, help_text="base vs new, label by label, on the team's held-out labels"
    )
    forgetting = models.JSONField(
        default=dict, blank=True, help_text="base vs new on a fixed slice of the base model's own val data"
    )
    log = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_training_run_per_team",
            ),
        ]

    @property
    def label_count(self) -> int:
        """How many reviewed labels the run froze (and trains on)."""
        return len(self.dataset_label_ids)
