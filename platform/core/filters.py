"""List filters by id that never tell whether an object exists: `?mission=<id>` of an unknown mission and of another
team's both match nothing (200, an empty page), and a value that is not an id (`²`, `1e23`, beyond 64 bits) is a 400
naming the parameter. Every foreign key of an API filter set is an IdFilter (the default backend's base sets it)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db import models
from django_filters import filterset
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.ids import parse_id


class IdField(forms.Field):
    def to_python(self, value: object) -> int | None:
        if value in self.empty_values:
            return None
        parsed = parse_id(str(value))
        if parsed is None:
            raise forms.ValidationError(f"{value!r} is not an id (a positive whole number)", code="invalid")
        return parsed


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.Filter):
    field_class = IdField


class IdFilterSet(django_filters.FilterSet):
    FILTER_DEFAULTS = {
        **filterset.FILTER_FOR_DBFIELD_DEFAULTS,
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
    }


class FilterBackend(DjangoFilterBackend):
    filterset_base = IdFilterSet
