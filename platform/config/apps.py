from django.apps import apps
from django.contrib.admin.apps import SimpleAdminConfig
from django.utils.module_loading import import_module, module_has_submodule


class PlatformAdminConfig(SimpleAdminConfig):
    """Django's admin, discovering every app's admin module except django-leaflet's.

    django-leaflet's admin module imports GeoDjango's form widgets, which need the GDAL C library; we use
    django-leaflet only for its bundled Leaflet assets and template tags.
    """

    skipped = frozenset({"leaflet"})

    def ready(self) -> None:
        super().ready()
        for app_config in apps.get_app_configs():
            if app_config.name not in self.skipped and module_has_submodule(app_config.module, "admin"):
                import_module(f"{app_config.name}.admin")
