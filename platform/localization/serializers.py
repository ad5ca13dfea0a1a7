"""JSON shapes of targets, predictions and reviews (output), and of the bodies that create them (input).

Boxes are [x1, y1, x2, y2] in basemap pixels; `*_geojson` are GeoJSON Polygons in EPSG:4326 (lon, lat).
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.ids import MAX_ID
from localization.models import Prediction, PredictionBatch, Review, Target, TargetStatus

FINITE = {"invalid": "must be a finite number (NaN and infinity are refused)"}


def box_field(**kwargs: object) -> serializers.ListField:
    """[x1, y1, x2, y2] pixels."""
    return serializers.ListField(
        child=serializers.FloatField(error_messages=FINITE), min_length=4, max_length=4, **kwargs
    )


@extend_schema_field({"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4})
class StoredBoxField(serializers.JSONField):
    """An output [x1, y1, x2, y2] exactly as stored (checked when it was written): no per-number conversion, which
    is most of the cost of a page of targets."""


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class CandidateSerializer(serializers.Serializer):
    box = box_field()
    box_geojson = serializers.JSONField(allow_null=True)
    score = serializers.FloatField()


@extend_schema_field(CandidateSerializer(many=True))
class StoredCandidatesField(serializers.JSONField):
    """The output top-K candidates exactly as stored, in CandidateSerializer's shape."""


class PredictionSerializer(serializers.ModelSerializer):
    model_version_name = serializers.CharField(source="model_version.name", read_only=True)
    box = StoredBoxField(read_only=True)
    candidates = StoredCandidatesField(read_only=True)
    heatmap_url = serializers.SerializerMethodField()

    class Meta:
        model = Prediction
        fields = [
            "id", "target", "model_version", "model_version_name", "box", "box_geojson", "score", "margin",
            "candidates", "heatmap_url", "heatmap_window", "heatmap_bounds", "search_window", "search_mode",
            "latency_ms", "batch", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_heatmap_url(self, prediction: Prediction) -> str | None:
        """The permission-checked heatmap endpoint (never a public media URL); null without a heatmap."""
        return reverse("prediction-heatmap", args=[prediction.pk]) if prediction.heatmap else None


class PredictionSummarySerializer(PredictionSerializer):
    """A prediction inside a list of targets: all but the top-K candidates, four fifths of an item's bytes (five
    GeoJSON polygons) and most of a page's cost. A target's detail (and /predictions/) has them."""

    class Meta(PredictionSerializer.Meta):
        fields = [name for name in PredictionSerializer.Meta.fields if name != "candidates"]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = UserRefSerializer(read_only=True, allow_null=True)
    final_box = StoredBoxField(read_only=True, allow_null=True)

    class Meta:
        model = Review
        fields = [
            "id", "target", "prediction", "reviewer", "decision", "final_box", "final_box_geojson", "candidate",
            "comment", "status_before", "status_after", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class TargetSerializer(serializers.ModelSerializer):
    """A target in a list: its current prediction (without candidates) and its latest review (the label when
    approved or corrected)."""

    created_by = UserRefSerializer(read_only=True, allow_null=True)
    search_window = StoredBoxField(read_only=True, allow_null=True)
    prediction = PredictionSummarySerializer(read_only=True, allow_null=True)
    last_review = ReviewSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Target
        fields = [
            "id", "mission", "drone_image", "basemap", "click_x", "click_y", "label", "search_window",
            "model_version", "status", "error", "attempts", "created_by", "created_at", "updated_at", "started_at",
            "prediction", "last_review",
        ]  # fmt: skip
        read_only_fields = fields


class TargetDetailSerializer(TargetSerializer):
    """A target with its prediction's candidates and its whole review history, newest first."""

    prediction = PredictionSerializer(read_only=True, allow_null=True)
    reviews = ReviewSerializer(many=True, read_only=True)

    class Meta(TargetSerializer.Meta):
        fields = [*TargetSerializer.Meta.fields, "reviews"]
        read_only_fields = fields


class TargetCreateSerializer(serializers.Serializer):
    drone_image = serializers.IntegerField(help_text="a drone image of the mission")
    basemap = serializers.IntegerField(help_text="a basemap of the same mission whose ingest has succeeded")
    click_x = serializers.FloatField(error_messages=FINITE, help_text="drone-image pixels from the left")
    click_y = serializers.FloatField(error_messages=FINITE, help_text="drone-image pixels from the top")
    label = serializers.CharField(required=False, allow_blank=True, default="")
    search_window = box_field(required=False, allow_null=True, help_text="[x1, y1, x2, y2] basemap pixels")
    search_window_lonlat = box_field(
        required=False, allow_null=True, help_text="or [west, south, east, north] degrees, as drawn on the map"
    )
    model_version = serializers.IntegerField(required=False, allow_null=True, help_text="empty: the active version")
    idempotency_key = serializers.CharField(
        required=False, allow_blank=True, help_text="or the Idempotency-Key header: a repeat returns the first target"
    )


class ReviewCreateSerializer(serializers.Serializer):
    target = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=Review.Decision.choices)
    final_box = box_field(required=False, allow_null=True, help_text="for correct: [x1, y1, x2, y2] basemap pixels")
    final_box_lonlat = box_field(
        required=False, allow_null=True, help_text="or for correct: [west, south, east, north] degrees, as drawn"
    )
    candidate = serializers.IntegerField(
        required=False, allow_null=True, help_text="for correct: the index of one of the prediction's candidates"
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    expected_status = serializers.ChoiceField(
        choices=TargetStatus.choices, required=False, allow_null=True, help_text="the status the reviewer saw"
    )


class ReviewConflictSerializer(serializers.Serializer):
    """409: another reviewer decided first (or the target moved on); nothing was written."""

    detail = serializers.CharField()
    code = serializers.CharField()
    current_status = serializers.ChoiceField(choices=TargetStatus.choices)
    latest_review = serializers.DictField(allow_null=True, help_text="id, reviewer, decision, status_after, created_at")
    your_request = serializers.DictField(help_text="the request body, unchanged, so the UI can re-apply it")


class PredictionBatchSerializer(serializers.ModelSerializer):
    model_version_name = serializers.CharField(source="model_version.name", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    predictions_url = serializers.SerializerMethodField()

    class Meta:
        model = PredictionBatch
        fields = [
            "id", "mission", "model_version", "model_version_name", "target_ids", "status", "progress", "message",
            "error", "cancel_requested", "predictions_url", "created_by", "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_predictions_url(self, batch: PredictionBatch) -> str:
        """The batch's predictions (GET /api/v1/predictions/?batch=<id>)."""
        return f"{reverse('prediction-list')}?batch={batch.pk}"


class PredictionBatchCreateSerializer(serializers.Serializer):
    mission = serializers.IntegerField(min_value=1)
    model_version = serializers.IntegerField(min_value=1)
    target_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, default=list
    )
