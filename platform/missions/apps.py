from django.apps import AppConfig


class MissionsConfig(AppConfig):
    name = "missions"
    verbose_name = "Missions, basemaps and drone images"

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image

        from missions import tile_access

        # Each kind of upload is checked against its own limit (missions/uploads.py); Pillow's global limit is only
        # a backstop and must never be stricter than ours.
        Image.MAX_IMAGE_PIXELS = max(settings.MAX_DRONE_IMAGE_PIXELS, settings.MAX_BASEMAP_PIXELS)
        tile_access.connect()
