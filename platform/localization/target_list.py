"""A page of the target list as plain dicts, read with one `.values()` query: the shape of TargetSerializer (which
still documents it in the schema), built without a model instance or a serializer field per value, which were most
of a page's cost (docs/reliability.md, Load). tests/platform/test_target_list.py checks every item against the
target's detail, so the two cannot drift apart."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from rest_framework.fields import DateTimeField

from localization.serializers import PredictionSummarySerializer, ReviewSerializer, TargetSerializer

NESTED = ("created_by", "prediction", "last_review")
TARGET_FIELDS = [name for name in TargetSerializer.Meta.fields if name not in NESTED]
PREDICTION_FIELDS = [name for name in PredictionSummarySerializer.Meta.fields if name not in ("model_version_name",
                     "heatmap_url")] + ["heatmap"]  # fmt: skip
REVIEW_FIELDS = [name for name in ReviewSerializer.Meta.fields if name != "reviewer"]
TIMES = {"created_at", "updated_at", "started_at"}


def list_columns() -> list[str]:
    """The `.values()` columns of one list item."""
    return [
        *TARGET_FIELDS, *NESTED, "created_by__username", "prediction__model_version__name", "last_review__reviewer_id",
        "last_review__reviewer__username", *(f"prediction__{name}" for name in PREDICTION_FIELDS),
        *(f"last_review__{name}" for name in REVIEW_FIELDS),
    ]  # fmt: skip


def list_rows(queryset: QuerySet) -> QuerySet:
    return queryset.values(*list_columns())


class PagedRows:
    """What the paginator slices: `list_rows(queryset)`, counted on `queryset` itself. A count of the `.values()`
    query would join every table a column comes from (creator, prediction, model version, review, reviewer) for
    each of a mission's targets, on every page."""

    def __init__(self, queryset: QuerySet) -> None:
        self.queryset, self.rows = queryset, list_rows(queryset)
        self.ordered = queryset.ordered

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, index: slice) -> QuerySet:
        return self.rows[index]


def list_items(rows: Any) -> list[dict[str, Any]]:
    """Rows of `list_rows` as TargetSerializer writes the targets. The time zone is looked up once a page: DRF's
    DateTimeField looks it up for every value, in a context-local read that was a sixth of a page's time under ASGI."""
    times = DateTimeField(default_timezone=timezone.get_current_timezone())
    return [list_item(row, times) for row in rows]


def list_item(row: dict[str, Any], times: DateTimeField) -> dict[str, Any]:
    """One row of `list_rows` as TargetSerializer writes the target."""
    item = {name: _value(name, row[name], times) for name in TARGET_FIELDS}
    item["created_by"] = _user(row["created_by"], row["created_by__username"])
    item["prediction"] = _prediction(row, times) if row["prediction"] is not None else None
    item["last_review"] = _review(row, times) if row["last_review"] is not None else None
    return {name: item[name] for name in TargetSerializer.Meta.fields}


def _prediction(row: dict[str, Any], times: DateTimeField) -> dict[str, Any]:
    prediction = {name: _value(name, row[f"prediction__{name}"], times) for name in PREDICTION_FIELDS}
    heatmap = prediction.pop("heatmap")
    prediction["model_version_name"] = row["prediction__model_version__name"]
    prediction["heatmap_url"] = reverse("prediction-heatmap", args=[prediction["id"]]) if heatmap else None
    return {name: prediction[name] for name in PredictionSummarySerializer.Meta.fields}


def _review(row: dict[str, Any], times: DateTimeField) -> dict[str, Any]:
    review = {name: _value(name, row[f"last_review__{name}"], times) for name in REVIEW_FIELDS}
    review["reviewer"] = _user(row["last_review__reviewer_id"], row["last_review__reviewer__username"])
    return {name: review[name] for name in ReviewSerializer.Meta.fields}


def _user(user_id: int | None, username: str | None) -> dict[str, Any] | None:
    return {"id": user_id, "username": username} if user_id is not None else None


def _value(name: str, value: Any, times: DateTimeField) -> Any:
    return times.to_representation(value) if name in TIMES and value is not None else value
