"""Uploads refused from their headers, before a byte of the body is read: over the size limit (413) on every upload
endpoint and in both ways of signing in, and a model upload from someone who is no team admin (401/403) — on the
production server, whose ASGI handler would otherwise read the whole body first, and under the development
server's WSGI stack, where the CSRF check would parse it."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import pytest
from django.test import Client

from accounts.api_tokens import api_token_create
from tests.platform.factories import team_setup
from tests.platform.gunicorn_server import serving

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
UPLOADS = ("/api/v1/basemaps/", "/api/v1/drone-images/", "/api/v1/model-versions/")
HUGE = 600 * 2**20


def raw_post(port: int, path: str, length: int, headers: str, sent: int = 1 << 20) -> tuple[int, float]:
    """POST announcing `length` bytes of body but sending only `sent` of them; (status, seconds to the answer)."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                f"Content-Length: {length}\r\n{headers}Connection: close\r\n\r\n")  # fmt: skip
        sock.sendall(head.encode())
        with contextlib.suppress(OSError):  # the server answered and closed: it did not want the body
            sock.sendall(b"-" * min(sent, length))
        answer = sock.recv(4096)
    return int(answer.split()[1]), time.monotonic() - start


@pytest.fixture
def server(tmp_path: Path):  # noqa: ANN201
    with serving(tmp_path) as (port, _):
        yield port


def test_the_production_server_refuses_from_the_headers(server: int) -> None:
    setup = team_setup()
    admin_key = api_token_create(user=setup.admin, name="uploads").key
    reviewer_key = api_token_create(user=setup.reviewer, name="uploads").key
    for path in UPLOADS:
        status, seconds = raw_post(server, path, HUGE, f"Authorization: Token {admin_key}\r\n")
        assert status == 413 and seconds < 10, (path, status, seconds)  # 1 MB of 600 sent: nobody waits for more
    status, seconds = raw_post(
        server, "/api/v1/model-versions/", 100 * 2**20, f"Authorization: Token {reviewer_key}\r\n"
    )
    assert status == 403 and seconds < 10  # under the limit, but not an admin: refused before the body
    status, _ = raw_post(server, "/api/v1/model-versions/", 100 * 2**20, "")
    assert status == 401


def test_the_development_stack_refuses_before_the_csrf_check_reads_the_body() -> None:
    setup = team_setup()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(setup.admin)
    for path in UPLOADS:  # a session, as the web UI sends: the CSRF check would parse the multipart body
        response = browser.post(path, {"file": "x"}, CONTENT_LENGTH=str(HUGE))
        assert response.status_code == 413, (path, response.content[:200])
        assert "the largest file accepted is" in response.json()["detail"]
    reviewer = Client(enforce_csrf_checks=True)
    reviewer.force_login(setup.reviewer)
    refused = reviewer.post("/api/v1/model-versions/", {"name": "x"})
    assert refused.status_code == 403 and "only team admins" in refused.json()["detail"]
