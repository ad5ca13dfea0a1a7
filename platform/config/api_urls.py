"""/api/v1/: every app registers its viewsets on one router (`register(router)` in each app's api module)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.api import MeView, TeamViewSet
from accounts.token_api import ApiTokenDetailView, ApiTokenListView
from exports import api as exports_api
from localization import api as localization_api
from localization.long_poll import with_long_polls
from missions import api_imagery
from missions.api import MissionViewSet
from registry import api as registry_api

router = DefaultRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("missions", MissionViewSet, basename="mission")
for module in (api_imagery, localization_api, registry_api, exports_api):
    module.register(router)

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("me/tokens/", ApiTokenListView.as_view(), name="api-tokens"),  # the user's own API tokens (accounts)
    path("me/tokens/<int:token_id>/", ApiTokenDetailView.as_view(), name="api-token"),
    path("", include(with_long_polls(router.urls))),
]
for module in (api_imagery, localization_api, registry_api, exports_api):
    urlpatterns += getattr(module, "extra_urlpatterns", [])
