"""Django admin view of export jobs."""

from django.contrib import admin

from exports.models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "mission", "kind", "status", "progress", "item_count", "created_by", "created_at"]
    list_filter = ["status", "kind"]
    readonly_fields = ["file", "item_count", "error", "task_id", "created_at", "started_at", "finished_at"]
    raw_id_fields = ["mission"]
