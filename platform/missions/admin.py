"""Django admin pages for missions, basemaps and drone images (read-mostly: uploads go through the API)."""

from django.contrib import admin

from missions.models import Basemap, DroneImage, Mission


@admin.register(Mission)
class MissionAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "team", "status", "created_by", "created_at"]
    list_filter = ["status", "team"]
    search_fields = ["name", "description"]


@admin.register(Basemap)
class BasemapAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "mission", "source_kind", "status", "progress", "crs", "gsd_m", "created_at"]
    list_filter = ["status", "source_kind"]
    search_fields = ["name", "original_name", "error"]
    readonly_fields = [
        "source_file", "cog_file", "cog_sha256", "crs", "transform", "width", "height", "bounds", "gsd_m",
        "min_zoom", "max_zoom", "render_range", "task_id", "started_at", "finished_at", "created_at",
    ]  # fmt: skip


@admin.register(DroneImage)
class DroneImageAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "mission", "width", "height", "has_gps", "captured_at", "created_at"]
    search_fields = ["original_name", "sha256"]
    readonly_fields = ["file", "thumbnail", "sha256", "width", "height", "created_at"]
