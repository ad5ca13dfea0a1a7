from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Shared building blocks"

    def ready(self) -> None:
        from core import log_scrub

        log_scrub.install()
