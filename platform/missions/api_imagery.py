"""/api/v1/basemaps/ and /api/v1/drone-images/: uploads, listings, ingest retry, permission-checked files.

Thin views: validate the form → one service → serialize. Files are never served from public media URLs: drone
images and thumbnails come from the `file/` and `thumbnail/` actions, basemaps as tiles (missions.tiles).
"""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from core.errors import InvalidInput
from core.filters import IdFilter, IdFilterSet
from core.models import JobStatus
from core.parsers import JSONParser
from core.stored_files import stored_file_response
from missions import basemap_services, drone_services
from missions.gps_check import FAR_KM, off_basemaps_km
from missions.models import Basemap, DroneImage
from missions.renderers import ImageRenderer
from missions.selectors import basemaps_for, drone_images_for
from missions.tiles import tile_url_template
from missions.uploads import check_request_size


class BasemapSerializer(serializers.ModelSerializer):
    ready = serializers.SerializerMethodField(help_text="the ingest succeeded: tiles and georeferencing are there")
    tile_url_template = serializers.SerializerMethodField(help_text="Leaflet XYZ template; null until ready")

    class Meta:
        model = Basemap
        fields = [
            "id", "mission", "name", "original_name", "source_kind", "source_bounds",
            "status", "ready", "progress", "message", "error", "task_id", "created_by", "created_at", "started_at",
            "finished_at", "crs", "transform", "width", "height", "bounds", "gsd_m", "min_zoom", "max_zoom",
            "cog_sha256", "tile_url_template",
        ]  # fmt: skip
        read_only_fields = fields

    def get_ready(self, basemap: Basemap) -> bool:
        return basemap.status == JobStatus.SUCCEEDED

    def get_tile_url_template(self, basemap: Basemap) -> str | None:
        return tile_url_template(basemap)


class BasemapUploadSerializer(serializers.Serializer):
    mission = serializers.IntegerField(help_text="id of one of your team's missions")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="default: file name")
    file = serializers.FileField(help_text="a georeferenced GeoTIFF (any CRS), or a PNG/JPEG with bounds")
    bounds = serializers.CharField(
        required=False, allow_blank=True, help_text='PNG/JPEG only: "west,south,east,north" in degrees (lon/lat)'
    )


class MissionFilter(IdFilterSet):
    """Filter by mission id without revealing whether another team's mission exists (it just matches nothing)."""

    mission = IdFilter(field_name="mission_id")


class BasemapFilter(MissionFilter):
    class Meta:
        model = Basemap
        fields = ["mission", "status"]


class BasemapViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Basemaps of your teams' missions. Upload: team members; the ingest runs in the background (poll `status`,
    `progress`). Retry a failed ingest: team members. Delete: team admins, only while no target uses it."""

    serializer_class = BasemapSerializer
    filterset_class = BasemapFilter
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    ordering_fields = ["created_at", "name"]

    def get_queryset(self):  # noqa: ANN201
        return basemaps_for(self.request.user).order_by("-created_at", "-id")

    @extend_schema(request={"multipart/form-data": BasemapUploadSerializer}, responses={201: BasemapSerializer})
    def create(self, request: Request) -> Response:
        check_request_size(request.META.get("CONTENT_LENGTH"))
        form = BasemapUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        basemap = basemap_services.basemap_create(
            mission_id=data["mission"], upload=data["file"], name=data.get("name", ""),
            bounds=data.get("bounds"), by=request.user,
        )  # fmt: skip
        return Response(self.get_serializer(basemap).data, status=201)

    @extend_schema(request=None, responses={200: BasemapSerializer, 409: OpenApiResponse(description="not failed")})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        """Queue a failed ingest again."""
        basemap = basemap_services.basemap_retry(basemap=self.get_object(), by=request.user)
        return Response(self.get_serializer(basemap).data)

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="targets use the basemap")})
    def destroy(self, request: Request, pk: str) -> Response:
        basemap_services.basemap_delete(basemap=self.get_object(), by=request.user)
        return Response(status=204)


class DroneImageSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField(help_text="the full image, permission-checked")
    gps_off_basemaps_km = serializers.SerializerMethodField(
        help_text="how far the photo's GPS lies outside every basemap of its mission, km (0: on one; null: no GPS "
        f"or no basemap yet); past {FAR_KM:g} km a click searches the whole basemap"
    )
    thumbnail_url = serializers.SerializerMethodField(help_text="a JPEG, longest side 320 px")

    class Meta:
        model = DroneImage
        fields = [
            "id", "mission", "original_name", "width", "height", "sha256", "gps_lat", "gps_lon", "gps_alt_m",
            "rel_alt_m", "heading_deg", "pitch_deg", "captured_at", "has_gps", "gps_off_basemaps_km", "file_url",
            "thumbnail_url", "created_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_file_url(self, image: DroneImage) -> str:
        return reverse("drone-image-file", args=[image.pk])

    def get_gps_off_basemaps_km(self, image: DroneImage) -> float | None:
        if not image.has_gps:
            return None
        cache = self.context.setdefault("basemap_bounds", {})  # one query per mission in a list
        if image.mission_id not in cache:
            cache[image.mission_id] = list(
                Basemap.objects.filter(mission_id=image.mission_id).values_list("bounds", flat=True)
            )
        return off_basemaps_km(image.gps_lon, image.gps_lat, cache[image.mission_id])

    def get_thumbnail_url(self, image: DroneImage) -> str | None:
        return reverse("drone-image-thumbnail", args=[image.pk]) if image.thumbnail else None


class DroneImageUploadSerializer(serializers.Serializer):
    mission = serializers.IntegerField(help_text="id of one of your team's missions")
    file = serializers.FileField(help_text="one JPEG or PNG drone photo (send several requests for several)")


class DroneImageFilter(MissionFilter):
    class Meta:
        model = DroneImage
        fields = ["mission"]


class DroneImageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Drone photos of your teams' missions with their EXIF position, heading, pitch and capture time.
    Upload (one file per request): team members. An identical file already in the mission answers 200 with it."""

    serializer_class = DroneImageSerializer
    filterset_class = DroneImageFilter
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    ordering_fields = ["created_at", "captured_at", "original_name"]

    def get_queryset(self):  # noqa: ANN201
        return drone_images_for(self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        request={"multipart/form-data": DroneImageUploadSerializer},
        responses={201: DroneImageSerializer, 200: DroneImageSerializer},
    )
    def create(self, request: Request) -> Response:
        check_request_size(request.META.get("CONTENT_LENGTH"))
        if len(request.FILES.getlist("file")) > 1:
            raise InvalidInput("send one file per request (several requests may run in parallel)", field="file")
        form = DroneImageUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        image, created = drone_services.drone_image_create(
            mission_id=form.validated_data["mission"], upload=form.validated_data["file"], by=request.user
        )
        return Response(self.get_serializer(image).data, status=201 if created else 200)

    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, ImageRenderer])
    def file(self, request: Request, pk: str) -> FileResponse:
        """The uploaded image, as uploaded."""
        image = self.get_object()
        return stored_file_response(image.file, "drone photo's file", filename=image.original_name)

    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, ImageRenderer])
    def thumbnail(self, request: Request, pk: str) -> FileResponse:
        """A JPEG thumbnail, longest side 320 px."""
        image = self.get_object()
        name = f"thumbnail-{image.original_name.rsplit('.', 1)[0]}.jpg"
        return stored_file_response(image.thumbnail, "drone photo's thumbnail", filename=name)


def register(router: DefaultRouter) -> None:
    """Register this module's viewsets."""
    router.register("basemaps", BasemapViewSet, basename="basemap")
    router.register("drone-images", DroneImageViewSet, basename="drone-image")


extra_urlpatterns: list = []
