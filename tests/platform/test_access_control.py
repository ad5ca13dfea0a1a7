"""Access control beyond the API matrix (test_permission_matrix.py walks every /api/v1/ route, the tiles and the
permission-checked files): the web pages and Django's admin for anonymous, each role and another team's admin; CSRF
on session-authenticated writes; no public /media/ URL; the security headers on every kind of response."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from exports.models import ExportJob
from localization.models import Prediction
from missions.models import Basemap, DroneImage, Mission
from tests.platform.factories import client_for, make_user, team_setup
from tests.platform.imagery_fixtures import stored_files
from tests.platform.test_drone_images import drone_jpeg
from tests.platform.test_permission_matrix import ROLES, World, build_world

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
LOGIN, OK, FORBID, MISSING = "login", 200, 403, 404


def session_for(world: World, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(world.users[role])
    return client


def outcome(response) -> int | str:  # noqa: ANN001
    """The status, or "login" for a redirect to a log-in page."""
    if response.status_code == 302 and "/login/" in response["Location"]:
        return LOGIN
    return response.status_code


PAGES = {  # anonymous, operator, reviewer, admin, another team's admin
    "/": (LOGIN, OK, OK, OK, OK),
    "/console/": (LOGIN, OK, OK, OK, OK),
    "/missions/{mission}/": (LOGIN, OK, OK, OK, MISSING),
    # the review page holds no data: the queue it loads (next-review) is 403 for operators, and the page says so
    "/missions/{mission}/review/": (LOGIN, OK, OK, OK, MISSING),
    "/missions/999999/": (LOGIN, MISSING, MISSING, MISSING, MISSING),
    "/login/": (OK, OK, OK, OK, OK),
    # Django's admin is for staff only: a team's admin role is no admin of the site
    "/admin/": (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "/admin/missions/mission/": (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "/admin/missions/mission/{mission}/change/": (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
}


def test_every_page_answers_each_role_as_the_table_says(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    wrong = []
    for path, expected in PAGES.items():
        got = tuple(outcome(session_for(world, role).get(path.format(**world.ids))) for role in ROLES)
        if got != expected:
            wrong.append(f"{path}: expected {expected}, got {got}")
    assert wrong == [], "\n".join(wrong)
    assert client_for(world.users["operator"]).get(f"/api/v1/targets/next-review/?mission={world.ids['mission']}")\
        .status_code == FORBID  # fmt: skip


def test_only_staff_reach_the_admin_and_only_superusers_or_granted_staff_change_things(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    superuser = make_user("site-admin")
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    staff = make_user("staff-without-permissions")
    staff.is_staff = True
    staff.save()
    root, bare = Client(), Client()
    root.force_login(superuser)
    bare.force_login(staff)
    change = f"/admin/missions/mission/{world.ids['mission']}/change/"
    assert root.get("/admin/").status_code == OK and root.get(change).status_code == OK
    assert bare.get("/admin/").status_code == OK  # an empty index: no model is granted
    assert bare.get("/admin/missions/mission/").status_code == FORBID and bare.get(change).status_code == FORBID


# --- CSRF on session-authenticated writes -----------------------------------------------------------------------


def csrf_client(user) -> tuple[Client, str]:  # noqa: ANN001
    """A session-logged-in client that enforces CSRF like a browser, and the token a page gave it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/").status_code == OK  # the page sets the csrftoken cookie (its log-out form uses it)
    return client, client.cookies["csrftoken"].value


def test_a_session_write_to_the_api_without_the_csrf_token_is_403_naming_csrf_and_works_with_it() -> None:
    setup = team_setup()
    client, token = csrf_client(setup.operator)
    body = json.dumps({"team": setup.team.id, "name": "By session"})
    refused = client.post("/api/v1/missions/", body, content_type="application/json")
    assert refused.status_code == FORBID and "CSRF" in refused.json()["detail"]
    assert not Mission.objects.filter(name="By session").exists()
    wrong = client.post("/api/v1/missions/", body, content_type="application/json", HTTP_X_CSRFTOKEN="x" * 64)
    assert wrong.status_code == FORBID and "CSRF" in wrong.json()["detail"]
    done = client.post("/api/v1/missions/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert done.status_code == 201 and Mission.objects.filter(name="By session").exists()


def test_a_session_upload_without_the_csrf_token_stores_nothing() -> None:
    setup = team_setup()
    client, token = csrf_client(setup.operator)
    form = {"mission": setup.mission.id, "file": ContentFile(drone_jpeg(64, 48), name="a.jpg")}
    refused = client.post("/api/v1/drone-images/", form)
    assert refused.status_code == FORBID and "CSRF" in refused.json()["detail"]
    assert DroneImage.objects.count() == 0 and stored_files() == set()
    form["file"] = ContentFile(drone_jpeg(64, 48), name="a.jpg")
    assert client.post("/api/v1/drone-images/", form, HTTP_X_CSRFTOKEN=token).status_code == 201


def test_page_forms_without_the_csrf_token_are_403_naming_csrf() -> None:
    setup = team_setup()
    client, token = csrf_client(setup.operator)
    refused = client.post("/logout/")
    assert refused.status_code == FORBID and b"CSRF verification failed" in refused.content
    assert client.get("/console/").status_code == OK  # still logged in
    assert client.post("/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    anonymous = Client(enforce_csrf_checks=True)
    login = anonymous.post("/login/", {"username": setup.operator.username, "password": "pw-for-tests-123"})
    assert login.status_code == FORBID and b"CSRF verification failed" in login.content


def test_token_authenticated_scripts_need_no_csrf_token() -> None:
    from rest_framework.authtoken.models import Token

    setup = team_setup()
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=setup.operator).key}")
    assert client.post("/api/v1/missions/", {"team": setup.team.id, "name": "By script"}).status_code == 201


# --- media: only through permission-checked endpoints -----------------------------------------------------------


def test_no_url_serves_media_files_directly(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    superuser = make_user("root")
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    drone = DroneImage.objects.get(pk=world.ids["drone"])
    names = [
        drone.file.name,
        drone.thumbnail.name,
        Prediction.objects.get(pk=world.ids["prediction"]).heatmap.name,
        ExportJob.objects.get(pk=world.ids["export"]).file.name,
        Basemap.objects.get(pk=world.ids["basemap"]).cog_file.name,
    ]
    assert set(names) <= stored_files()
    root = Client()
    root.force_login(superuser)
    for client in (root, session_for(world, "admin"), Client()):
        for name in names:
            for prefix in ("/media/", "/"):
                assert client.get(prefix + name).status_code == MISSING, prefix + name
    for name in names:
        with pytest.raises(Resolver404):
            resolve("/media/" + name)


URLS_IN = """
import django, json
from django.conf import settings
from django.urls import Resolver404, resolve
django.setup()
try:
    resolve("/" + settings.MEDIA_URL.strip("/") + "/drone/abc.jpg")
    routed = True
except Resolver404:
    routed = False
roots = {"media": str(settings.MEDIA_ROOT), "static": str(settings.STATIC_ROOT),
         "whitenoise_root": str(getattr(settings, "WHITENOISE_ROOT", ""))}
print(json.dumps({"routed": routed, "debug": settings.DEBUG, **roots}))
"""


@pytest.mark.parametrize("module", ["config.settings.production", "config.settings.local"])
def test_media_url_is_routed_in_no_settings_module(module: str) -> None:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env = dict(keep, DJANGO_SETTINGS_MODULE=module, PYTHONPATH=f"{ROOT}:{ROOT / 'platform'}", ALLOWED_HOSTS="a.example",
               SECRET_KEY="k" * 64, DEBUG="true", VAR_DIR=str(ROOT / "var"))  # fmt: skip
    result = subprocess.run([sys.executable, "-c", URLS_IN], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["debug"] is True and shown["routed"] is False  # not even in debug mode
    assert shown["media"] not in (shown["static"], shown["whitenoise_root"])


def test_api_answers_name_no_storage_path(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    client = client_for(world.users["admin"])
    drone = DroneImage.objects.get(pk=world.ids["drone"])
    stored = {Path(name).name for name in stored_files()}
    for path in (
        f"/api/v1/drone-images/{drone.id}/",
        f"/api/v1/predictions/{world.ids['prediction']}/",
        f"/api/v1/exports/{world.ids['export']}/",
        f"/api/v1/basemaps/{world.ids['basemap']}/",
        f"/api/v1/targets/{world.ids['target']}/",
    ):
        text = client.get(path).content.decode()
        assert "/media/" not in text and not any(name in text for name in stored), path


# --- security headers -------------------------------------------------------------------------------------------


def test_every_kind_of_response_carries_the_security_headers(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    member, anonymous = session_for(world, "operator"), Client()
    tile = f"/tiles/{world.ids['basemap']}/16/{world.ids['tile_x']}/{world.ids['tile_y']}.png"
    responses = {
        "page": member.get("/"),
        "log-in page": anonymous.get("/login/"),
        "page 404": member.get("/missions/999999/"),
        "API JSON": member.get("/api/v1/me/"),
        "API 401": anonymous.get("/api/v1/me/"),
        "API route 404": member.get("/api/v1/no-such-thing/"),
        "tile": member.get(tile),
        "drone image file": member.get(f"/api/v1/drone-images/{world.ids['drone']}/file/"),
        "heatmap": member.get(f"/api/v1/predictions/{world.ids['prediction']}/heatmap/"),
        "export download": member.get(f"/api/v1/exports/{world.ids['export']}/download/"),
        "admin log-in": anonymous.get("/admin/login/"),
        "schema": anonymous.get("/api/schema/"),
        "healthz": anonymous.get("/healthz"),
    }
    for what, response in responses.items():
        assert response["X-Content-Type-Options"] == "nosniff", what
        assert response["X-Frame-Options"] == "DENY", what
        assert response["Referrer-Policy"] == "same-origin", what
        policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'", what
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'", what
    assert responses["tile"].status_code == OK and responses["drone image file"].status_code == OK
    assert responses["API route 404"].json()["detail"] == "no such route: /api/v1/no-such-thing/"


def test_the_api_docs_load_swagger_from_the_app_itself_under_the_pages_policy() -> None:
    docs = Client().get("/api/docs/")
    assert (
        docs.status_code == OK and docs["Content-Security-Policy"] == Client().get("/login/")["Content-Security-Policy"]
    )
    assert b"cdn" not in docs.content.lower() and b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content
    assert b"<script>" not in docs.content  # its start-up script comes from ?script=, so no inline script runs
    script = Client().get("/api/docs/?script=")
    assert script.status_code == OK and script["Content-Type"].startswith("application/javascript")
    assert b"cdn.jsdelivr" not in script.content


def test_the_pages_hold_no_inline_script_or_event_handler_the_policy_would_block() -> None:
    for path in FRONTEND.rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, f"{path.name}: inline script {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path.name}: an inline event handler"
        assert "javascript:" not in text, path.name
