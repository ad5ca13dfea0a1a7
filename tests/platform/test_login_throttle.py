"""Log-in throttling on /login/ and /admin/login/: after LOGIN_FAILURES_ALLOWED failed log-ins for a username from
one address within LOGIN_FAILURE_WINDOW_S, the forms answer 429 and say to wait, even for the right password; the
counts live in the real Redis cache, shared by every web process."""

from __future__ import annotations

import secrets
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from accounts import login_throttle
from tests.platform.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-123"


ADDRESS = ["10.1.1.1"]  # this test's own address: the per-address count must not carry over from another test


@pytest.fixture(autouse=True)
def own_address() -> None:
    ADDRESS[0] = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def log_in(username: str, password: str, address: str | None = None, path: str = "/login/"):  # noqa: ANN201
    return Client(REMOTE_ADDR=address or ADDRESS[0]).post(path, {"username": username, "password": password})


def fail(username: str, times: int, address: str | None = None, path: str = "/login/") -> None:
    for _ in range(times):
        response = log_in(username, "wrong password", address, path)
        refused = b"did not match" in response.content or b"enter the correct username" in response.content
        assert response.status_code == 200 and refused, response.content[:300]


def test_the_sixth_try_within_the_window_is_429_even_with_the_right_password() -> None:
    user = make_user("throttled-pilot")
    fail(user.username, settings.LOGIN_FAILURES_ALLOWED)
    locked = log_in(user.username, PASSWORD)
    assert locked.status_code == 429 and locked["Retry-After"] == str(settings.LOGIN_FAILURE_WINDOW_S)
    assert b"Too many failed log-ins" in locked.content and b"Wait 15 minutes" in locked.content
    assert "_auth_user_id" not in locked.wsgi_request.session
    # only that username from that address: the same person elsewhere, and others here, can still log in
    assert log_in(user.username, PASSWORD, address="10.2.2.2").status_code == 302
    other = make_user("other-pilot")
    assert log_in(other.username, PASSWORD).status_code == 302


def test_the_count_is_kept_in_redis_and_the_lock_ends_with_the_window(settings) -> None:  # noqa: ANN001
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    settings.LOGIN_FAILURE_WINDOW_S = 2
    user = make_user("patient-pilot")
    fail(user.username, settings.LOGIN_FAILURES_ALLOWED)
    request = Client(REMOTE_ADDR=ADDRESS[0]).get("/login/").wsgi_request
    key = cache.make_and_validate_key(login_throttle._key(request, user.username))
    with cache._cache.get_client() as redis:  # RedisCache's own client: the count really is in Redis, with a TTL
        assert int(redis.get(key)) == settings.LOGIN_FAILURES_ALLOWED and 0 < redis.ttl(key) <= 2
    assert log_in(user.username, PASSWORD).status_code == 429
    time.sleep(2.2)
    assert log_in(user.username, PASSWORD).status_code == 302


def test_a_successful_log_in_starts_the_count_afresh() -> None:
    user = make_user("forgetful-pilot")
    fail(user.username, settings.LOGIN_FAILURES_ALLOWED - 1)
    assert log_in(user.username, PASSWORD).status_code == 302
    fail(user.username, settings.LOGIN_FAILURES_ALLOWED - 1)
    assert log_in(user.username, PASSWORD).status_code == 302


def test_the_admin_log_in_shares_the_count_and_the_lock() -> None:
    user = make_user("site-root")
    user.is_staff = user.is_superuser = True
    user.save()
    fail(user.username, 3, path="/admin/login/")
    fail(user.username, settings.LOGIN_FAILURES_ALLOWED - 3)
    locked = log_in(user.username, PASSWORD, path="/admin/login/")
    assert locked.status_code == 429 and "Too many failed log-ins" in locked.content.decode()
    assert log_in(user.username, PASSWORD).status_code == 429
    assert log_in(user.username.upper(), PASSWORD).status_code == 429  # the username's case does not reset it


def test_when_the_cache_is_down_log_ins_still_work_unthrottled(settings, caplog) -> None:  # noqa: ANN001
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    user = make_user("pilot-on-a-bad-day")
    fail(user.username, settings.LOGIN_FAILURES_ALLOWED + 1)
    started = time.monotonic()
    assert log_in(user.username, PASSWORD).status_code == 302
    assert time.monotonic() - started < 5
    assert "the cache cannot be reached" in caplog.text


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_a_fullwidth_spelling_of_a_locked_name_is_locked_too(path: str) -> None:
    # Django's log-in form normalises the username with NFKC before authenticating: `ｒｅｖ２` logs in as `rev2`.
    # The lock is checked and the failures counted on the same normalised, case-folded key.
    user = make_user("rev2")
    user.is_staff = True
    user.save()
    address = f"10.3.3.{len(path)}"
    fail("ｒｅｖ２", 2, address, path)
    fail("REV2", settings.LOGIN_FAILURES_ALLOWED - 2, address, path)
    for spelling in ("rev2", "ｒｅｖ２", "Ｒｅｖ２", " rev2"):
        locked = log_in(spelling, PASSWORD, address, path)
        assert locked.status_code == 429, spelling
        assert "_auth_user_id" not in locked.wsgi_request.session


def test_one_address_spraying_one_password_over_many_usernames_is_stopped_for_every_name(settings) -> None:  # noqa: ANN001
    settings.LOGIN_ADDRESS_FAILURES_ALLOWED = 20
    real = make_user("sprayed-pilot")
    for index in range(20):  # 20 names, one wrong password each: no single name reaches its own limit
        fail(f"guess-{index}", 1)
    locked = log_in(real.username, PASSWORD)
    assert locked.status_code == 429 and b"for several usernames" in locked.content
    assert locked["Retry-After"] == str(settings.LOGIN_FAILURE_WINDOW_S)
    assert log_in(real.username, PASSWORD, address="10.250.0.1").status_code == 302  # another address is not
