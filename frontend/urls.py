"""The pages people use. Each is a thin template; its ES module talks to /api/v1/ (static/frontend/js/api.js)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.login_throttle import login_throttled
from frontend import views
from frontend.invitation_page import invitation_page

LOGIN = "frontend/login.html"

urlpatterns = [
    path("", views.missions_page, name="missions-page"),
    path("login/", login_throttled(auth_views.LoginView.as_view(template_name=LOGIN), LOGIN), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("missions/<int:mission_id>/", views.workspace_page, name="workspace-page"),
    path("missions/<int:mission_id>/review/", views.review_page, name="review-page"),
    path("console/", views.console_page, name="console-page"),
    path("account/tokens/", views.tokens_page, name="tokens-page"),  # the user's own API tokens
    path("invite/<str:key>/", invitation_page, name="invitation-page"),  # a one-time invitation link
]
