"""A real Chromium (Debian's) driven by Playwright for Python, for the console's browser tests.

On a machine without Chromium the browser tests skip and say why; in CI (``CI=true``) they fail
instead, since ``.ci/run`` installs it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import LiveServer

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One browser for a test module: Playwright's sync API keeps an event loop running on the
    thread while it is open, so it must be closed before other modules' tests run there."""
    path = chromium_path()
    if path is None:
        why = "Chromium is not installed (apt-get install chromium): the console's browser tests"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def sign_in(page: Any, server: LiveServer, key: str, where: str = "/console/") -> None:
    """What a user does: open a console page, land on the form, give the key."""
    page.goto(server.base_url + where)
    assert "/console/login" in page.url
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{where}*")
