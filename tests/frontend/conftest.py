"""A real browser for the page tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Every page a test opens records the browser console; a JavaScript error or a failed request fails the test.
Screenshots go to $TEST_ARTIFACTS (default var/test-artifacts/) for people to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "var" / "test-artifacts"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One browser per test module, closed at its end: while Playwright's sync API is open, the main thread has a
    running event loop, and a later test calling an async view through Django's test client would fail on it."""
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: the test command installs Debian's chromium (deploy/local/test.sh)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


class ConsoleLog:
    """What the page said in its console, and the requests that failed outright."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page) -> None:  # noqa: ANN001
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("requestfailed", lambda request: self._failed(request))

    def _console(self, message) -> None:  # noqa: ANN001
        """Errors, except the API's 4xx answers: those are expected (bad input, a 409) and the page explains them."""
        url = (message.location or {}).get("url", "")
        api_4xx = "/api/v1/" in url and re.search(r"status of 4\d\d", message.text)
        if message.type == "error" and not api_4xx:
            self.errors.append(f"{message.text} ({url})")

    def _failed(self, request) -> None:  # noqa: ANN001
        if request.failure and "ERR_ABORTED" not in request.failure:  # navigation away aborts pending requests
            self.errors.append(f"request failed: {request.url} {request.failure}")


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser, console: ConsoleLog, request: pytest.FixtureRequest) -> Iterator[object]:  # noqa: ANN001
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    console.watch(page)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"))
    context.close()
    assert not console.errors, f"the browser console reported errors: {console.errors}"


def log_in(page, base_url: str, username: str, password: str = "pw-for-tests-123") -> None:  # noqa: ANN001
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def screenshot(page, name: str) -> Path:  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
