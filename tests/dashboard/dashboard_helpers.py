"""Helpers of the dashboard tests: the real app on a loopback port, a send worker, a browser.

Test modules build their fixtures from these (a tests/dashboard/conftest.py would be a second
module named `conftest` for mypy).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from engine_thread import engine_running
from mailcast.context import Context
from mailcast.store.deliveries import get_delivery
from mailcast.users.service import set_password
from mailcast.web.in_thread import WebServer

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
PASSWORD = "correct horse battery"
# A message that passes every control rule (an unsubscribe link in both bodies).
MAIL = {
    "html": '<p>Hi {{ first_name }} <a href="https://example.com/x">x</a>'
    ' <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    "text": "Hi {{ first_name }}, unsubscribe: {{ unsubscribe_url }}",
}
WAIT = 30.0  # the most any start or stop may take (not a timing assertion)
TIMEOUT_MS = 15_000  # the most a browser step may wait


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's chromium, headless; never a downloaded browser. Missing: CI fails, else skip."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@contextmanager
def fresh_page(browser: Browser) -> Iterator[Page]:
    """A page in a context of its own: no cookie of another test."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@contextmanager
def serving(ctx: Context) -> Iterator[str]:
    """The whole app (dashboard, API, tracking) under uvicorn on a free port; yields its URL."""
    with WebServer(ctx) as web:
        yield web.base_url


@contextmanager
def sending_worker(ctx: Context) -> Iterator[None]:
    """A send worker on its own thread and event loop, as `mailcast serve` runs one."""
    with engine_running(ctx):
        yield


def with_password(ctx: Context, name: str) -> str:
    set_password(ctx.db, name, PASSWORD)
    return name


def log_in(page: Page, base: str, name: str, password: str = PASSWORD, path: str = "/") -> None:
    """Open a dashboard path; the login page comes first and leads back to it."""
    page.goto(f"{base}/dashboard{path}")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def csrf_of(page: Page) -> str:
    """The session's CSRF token, as every form of the page carries it."""
    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    assert token
    return token


def delivery_state(ctx: Context, delivery_id: int) -> str:
    with ctx.db.read() as conn:
        return str(get_delivery(conn, delivery_id)["state"])


def number(text: str) -> float:
    found = re.search(r"[\d.]+", text)
    assert found, text
    return float(found.group())


_CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def form_csrf(html: str) -> str:
    found = _CSRF_FIELD.search(html)
    assert found, "the page has no form"
    return found.group(1)


def log_in_client(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the login form; returns the session's CSRF token."""
    login_page = client.get("/dashboard/login")
    form = {"csrf": form_csrf(login_page.text), "name": name, "password": password}
    answer = client.post("/dashboard/login", data=form)
    assert answer.status_code == 200, answer.text
    return form_csrf(answer.text)


def screenshot(page: Page, name: str) -> None:
    """The whole page, as `test-output/<name>`."""
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / name), full_page=True)


# --- the fixtures of a browser test module ---------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with fresh_page(browser) as opened:
        yield opened


@pytest.fixture
def app_url(ctx: Context) -> Iterator[str]:
    with serving(ctx) as url:
        yield url


# A browser test module takes them with `browser, page, app_url = BROWSER_FIXTURES`: pytest
# finds fixtures among a module's names (an import would read as unused to the linter).
BROWSER_FIXTURES = (browser, page, app_url)
