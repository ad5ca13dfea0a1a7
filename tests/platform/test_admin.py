"""Django admin: every model of the product is registered and its list and detail pages open."""

import pytest
from django.apps import apps
from django.contrib import admin

from tests.platform.builders import labelled_target, make_basemap, make_drone_image, make_model_version
from tests.platform.factories import make_user, team_setup

pytestmark = pytest.mark.django_db

PRODUCT_APPS = ("accounts", "missions", "localization", "registry", "exports")


def product_models() -> list:
    return [model for app in PRODUCT_APPS for model in apps.get_app_config(app).get_models()]


def test_every_product_model_is_registered_in_the_admin() -> None:
    missing = [model.__name__ for model in product_models() if model not in admin.site._registry]
    assert missing == []


def test_admin_list_and_change_pages_open_for_a_superuser(client) -> None:
    setup = team_setup()
    version = make_model_version(setup.team)
    labelled_target(
        setup.mission,
        make_drone_image(setup.mission),
        make_basemap(setup.mission),
        version,
        setup.reviewer,
        decision="approve",
        box=[10, 10, 50, 40],
    )
    superuser = make_user("root")
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    client.force_login(superuser)
    broken = []
    for model in product_models():
        meta = model._meta
        listing = client.get(f"/admin/{meta.app_label}/{meta.model_name}/")
        if listing.status_code != 200:
            broken.append(f"{meta.label} list: {listing.status_code}")
        first = model.objects.first()
        if first is not None:
            detail = client.get(f"/admin/{meta.app_label}/{meta.model_name}/{first.pk}/change/")
            if detail.status_code != 200:
                broken.append(f"{meta.label} change: {detail.status_code}")
    assert broken == []
