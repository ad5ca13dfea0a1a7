"""Reads of export jobs, and of a mission's targets with their prediction and latest review (one query)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from accounts.selectors import team_ids_for
from exports.models import ExportJob
from localization.models import Target

GEOJSON_FIELDS = (
    "id", "label", "status", "click_x", "click_y", "drone_image_id", "drone_image__original_name", "basemap_id",
    "basemap__name", "basemap__crs", "basemap__transform", "prediction__box", "prediction__box_geojson",
    "prediction__score", "prediction__model_version__name", "last_review__decision", "last_review__final_box",
    "last_review__final_box_geojson", "last_review__prediction__box", "last_review__prediction__box_geojson",
    "last_review__reviewer__username", "last_review__created_at",
)  # fmt: skip


def exports_for(user: AbstractBaseUser) -> QuerySet[ExportJob]:
    return ExportJob.objects.filter(mission__team_id__in=team_ids_for(user)).select_related("mission", "created_by")


def mission_targets_for_geojson(mission_id: int) -> QuerySet:
    """Every target of the mission that has a prediction (Target.prediction: the latest one that set its status;
    comparison re-predictions do not count), as dicts ordered by id, with that prediction's and the latest
    review's fields joined (GEOJSON_FIELDS): one query however many targets."""
    targets = Target.objects.filter(mission_id=mission_id, prediction__isnull=False)
    return targets.order_by("id").values(*GEOJSON_FIELDS)
