"""Django admin views of model versions, activations and training runs (read-mostly: writes go through services)."""

from django.contrib import admin

from registry.models import ModelActivation, ModelVersion, TrainingRun


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "team", "sha256", "size_bytes", "parent", "training_run", "created_at"]
    list_filter = ["team"]
    search_fields = ["name", "sha256"]
    readonly_fields = ["checkpoint", "sha256", "size_bytes", "config", "metrics", "created_by", "created_at"]
    raw_id_fields = ["parent", "training_run"]


@admin.register(ModelActivation)
class ModelActivationAdmin(admin.ModelAdmin):
    list_display = ["id", "team", "model_version", "activated_by", "reason", "created_at"]
    list_filter = ["team", "reason"]
    readonly_fields = ["team", "model_version", "activated_by", "reason", "created_at"]


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["id", "team", "status", "base_version", "epoch", "step", "total_steps", "loss", "created_at"]
    list_filter = ["status", "team"]
    readonly_fields = ["dataset_label_ids", "dataset_hash", "history", "log", "base_metrics", "new_metrics"]
    raw_id_fields = ["base_version"]
