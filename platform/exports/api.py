"""/api/v1/missions/{id}/export.geojson and /api/v1/exports/ (CVOGL-layout dataset jobs): thin views."""

from __future__ import annotations

import json

from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from core.errors import Conflict, InvalidInput
from core.ids import parse_id
from core.models import JobStatus
from core.stored_files import stored_file_response
from exports import services
from exports.geojson import feature_collection
from exports.models import ExportJob
from exports.selectors import exports_for, mission_targets_for_geojson
from missions.models import Mission
from missions.selectors import missions_for


class ExportJobSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id", "mission", "kind", "status", "progress", "message", "error", "cancel_requested", "item_count",
            "download_url", "created_by", "created_at", "started_at", "finished_at",
        ]  # fmt: skip

    def get_download_url(self, job: ExportJob) -> str | None:
        """Where to fetch the zip once the export succeeded."""
        return f"/api/v1/exports/{job.id}/download/" if job.status == JobStatus.SUCCEEDED and job.file else None


class ExportJobCreateSerializer(serializers.Serializer):
    mission = serializers.PrimaryKeyRelatedField(queryset=Mission.objects.none())

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")  # absent while the OpenAPI schema is generated
        if request is not None:
            self.fields["mission"].queryset = missions_for(request.user)


class ExportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """CVOGL-layout dataset exports of your missions' approved and corrected targets (any team member)."""

    serializer_class = ExportJobSerializer
    lookup_value_regex = r"\d+"
    ordering_fields = ["created_at"]

    def get_queryset(self) -> QuerySet[ExportJob]:
        jobs = exports_for(self.request.user)
        raw = self.request.query_params.get("mission") if self.action == "list" else None
        if raw:
            mission_id = parse_id(raw)
            if mission_id is None:
                raise InvalidInput(f"mission: {raw!r} is not an id", field="mission")
            jobs = jobs.filter(mission_id=mission_id)  # another team's mission, like an unknown one, matches nothing
        return jobs

    @extend_schema(parameters=[OpenApiParameter("mission", OpenApiTypes.INT, description="one of your missions")])
    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=ExportJobCreateSerializer,
        responses={201: ExportJobSerializer, 409: OpenApiResponse(description="an export of the mission is running")},
    )
    def create(self, request: Request) -> Response:
        """Queue an export (409 while one of the same mission is queued or running)."""
        body = ExportJobCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        job = services.export_job_create(mission=body.validated_data["mission"], by=request.user)
        return Response(ExportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY, 409: OpenApiResponse(description="not ready")}
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> FileResponse:
        """The zip: <name>/<name>_{train,val,test}.pth, query/, satellite/ and manifest.json."""
        job = self.get_object()
        if job.status != JobStatus.SUCCEEDED or not job.file:
            raise Conflict(f"this export is {job.status}; download it once it has succeeded")
        filename = f"mission-{job.mission_id}-cvogl.zip"
        return stored_file_response(
            job.file, "export's zip", filename=filename, content_type="application/zip", as_attachment=True,
            cache_control=None,
        )  # fmt: skip

    @extend_schema(request=None, responses=ExportJobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Queued: cancelled at once; running: the worker stops soon; finished: 409."""
        job = services.export_job_cancel(job=self.get_object(), by=request.user)
        return Response(ExportJobSerializer(job).data)


class MissionGeoJSONView(APIView):
    """A mission's predicted targets as GeoJSON (EPSG:4326) with model version, score and review (team members)."""

    @extend_schema(responses={(200, "application/geo+json"): OpenApiTypes.OBJECT})
    def get(self, request: Request, mission_id: int) -> HttpResponse:
        mission = get_object_or_404(missions_for(request.user).select_related("team"), id=mission_id)
        rows = mission_targets_for_geojson(mission.id)
        body = feature_collection(mission=mission, rows=rows, exporter=request.user)
        response = HttpResponse(json.dumps(body), content_type="application/geo+json")
        name = slugify(mission.name, allow_unicode=True) or f"mission-{mission.id}"
        response["Content-Disposition"] = content_disposition_header(True, f"{name}.geojson")
        return response


def register(router: DefaultRouter) -> None:
    router.register("exports", ExportJobViewSet, basename="export")


extra_urlpatterns: list = [
    path("missions/<int:mission_id>/export.geojson", MissionGeoJSONView.as_view(), name="mission-export-geojson"),
]
