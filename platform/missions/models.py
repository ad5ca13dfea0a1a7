from django.conf import settings
from django.db import models

from core.models import BackgroundJob


class Mission(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "active"
        ARCHIVED = "archived", "archived"

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="missions")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"])]

    def __str__(self) -> str:
        return self.name


class Basemap(BackgroundJob):
    """A georeferenced satellite image. Its ingest (a background job) turns the upload into a Cloud-Optimized
    GeoTIFF with overviews and records its georeferencing; `status` is the ingest's status."""

    class SourceKind(models.TextChoices):
        GEOTIFF = "geotiff", "GeoTIFF"
        IMAGE = "image", "PNG/JPEG with lon/lat bounds"

    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="basemaps")
    name = models.CharField(max_length=200)
    source_kind = models.CharField(max_length=16, choices=SourceKind.choices)
    source_file = models.FileField(upload_to="basemaps/source/", max_length=300)
    original_name = models.CharField(max_length=255, blank=True, help_text="the uploaded file's name (sanitised)")
    source_bounds = models.JSONField(null=True, blank=True, help_text="[west, south, east, north] for images")
    cog_file = models.FileField(upload_to="basemaps/cog/", max_length=300, blank=True)
    cog_sha256 = models.CharField(max_length=64, blank=True)
    crs = models.TextField(blank=True, help_text="the COG's CRS (EPSG code when it has one, else WKT)")
    transform = models.JSONField(null=True, blank=True, help_text="affine [a, b, c, d, e, f]: pixel -> CRS")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    bounds = models.JSONField(null=True, blank=True, help_text="[west, south, east, north] in lon/lat (EPSG:4326)")
    gsd_m = models.FloatField(null=True, blank=True, help_text="ground sample distance, metres per pixel")
    min_zoom = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Web-Mercator zoom of the whole map")
    max_zoom = models.PositiveSmallIntegerField(null=True, blank=True, help_text="native Web-Mercator zoom")
    render_range = models.JSONField(
        null=True, blank=True, help_text="[[min, max], ...] per rendered band, for tiles of non-8-bit data"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class DroneImage(models.Model):
    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="drone_images")
    file = models.ImageField(upload_to="drone/", max_length=300, width_field="width", height_field="height")
    thumbnail = models.ImageField(upload_to="drone/thumbs/", max_length=300, blank=True)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    gps_lat = models.FloatField(null=True, blank=True)
    gps_lon = models.FloatField(null=True, blank=True)
    gps_alt_m = models.FloatField(null=True, blank=True, help_text="GPS altitude, metres above sea level")
    rel_alt_m = models.FloatField(null=True, blank=True, help_text="altitude above the take-off point, metres (DJI)")
    heading_deg = models.FloatField(null=True, blank=True, help_text="camera heading, degrees clockwise from north")
    pitch_deg = models.FloatField(null=True, blank=True, help_text="gimbal pitch, degrees (-90 = straight down)")
    captured_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["mission", "sha256"])]

    def __str__(self) -> str:
        return self.original_name

    @property
    def has_gps(self) -> bool:
        return self.gps_lat is not None and self.gps_lon is not None
