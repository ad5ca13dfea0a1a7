"""Reads of missions, basemaps and drone images, always scoped to the user's teams."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet

from accounts.selectors import team_ids_for
from localization.models import TargetStatus
from missions.models import Basemap, DroneImage, Mission


def missions_for(user: AbstractBaseUser) -> QuerySet[Mission]:
    return Mission.objects.filter(team_id__in=team_ids_for(user))


def missions_with_counts(user: AbstractBaseUser) -> QuerySet[Mission]:
    """Missions with the number of targets in each status (one query)."""
    counts = {f"count_{status}": Count("targets", filter=Q(targets__status=status)) for status in TargetStatus.values}
    return missions_for(user).annotate(count_targets=Count("targets"), **counts)


def basemaps_for(user: AbstractBaseUser) -> QuerySet[Basemap]:
    return Basemap.objects.filter(mission__team_id__in=team_ids_for(user)).select_related("mission")


def drone_images_for(user: AbstractBaseUser) -> QuerySet[DroneImage]:
    return DroneImage.objects.filter(mission__team_id__in=team_ids_for(user)).select_related("mission")
