"""Console tests: a headless Chromium driven by Playwright (Debian's chromium, never a browser
downloaded at test time), a page per test that leaves a screenshot in the test's output directory
when the test fails, and servers of the console's own for tests that spend sign-in failures."""

from __future__ import annotations

import os

import pytest

from tests.support import require_service

CHROMIUM = os.environ.get("STRATA_CHROMIUM", "/usr/bin/chromium")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def chromium():
    require_service(os.access(CHROMIUM, os.X_OK), f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service(False, "playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, request, tmp_path):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        if request.node.stash.get(_FAILED, False):
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"screenshot of the failing page: {tmp_path / 'failure.png'}")
        context.close()


@pytest.fixture
def own_server(request, tmp_path):
    """A server of the test's own (SQLite and a blob directory), for tests whose sign-in failures
    would lock the shared servers' loopback address out."""
    from tests.support.server import StrataServer, backend_env

    server = StrataServer(data_dir=tmp_path, env=backend_env("sqlite-fs", tmp_path, request))
    server.start()
    try:
        yield server
    finally:
        server.stop()
