"""Django admin for targets, predictions and reviews. Reviews are append-only history: read-only here too."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from localization.models import Prediction, PredictionBatch, Review, Target


class ReadOnlyAdmin(admin.ModelAdmin):
    """Look, never touch: rows written only by the services (status changes go through the state machine)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "mission",
        "drone_image",
        "basemap",
        "label",
        "status",
        "attempts",
        "created_by",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["label", "error"]
    raw_id_fields = ["mission", "drone_image", "basemap", "model_version", "created_by", "prediction", "last_review"]
    # The status only moves through the services (localization.transitions); the admin may fix labels.
    readonly_fields = ["status", "error", "attempts", "task_id", "idempotency_key", "started_at", "prediction",
                       "last_review", "created_at", "updated_at"]  # fmt: skip


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    list_display = ["id", "target", "model_version", "score", "search_mode", "latency_ms", "batch", "created_at"]
    list_filter = ["search_mode"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "target", "reviewer", "decision", "status_before", "status_after", "created_at"]
    list_filter = ["decision"]
    search_fields = ["comment"]


@admin.register(PredictionBatch)
class PredictionBatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "mission", "model_version", "status", "progress", "created_at"]
    list_filter = ["status"]
