from django.apps import AppConfig


class LocalizationConfig(AppConfig):
    name = "localization"
    verbose_name = "Targets, predictions and reviews"
