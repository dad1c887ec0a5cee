"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, the web app served by
the dev router in front of the local stack, and a local page for short links to land on."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from devstack.stack import LocalStack
from tests.browser.helpers import LANDING_TEXT, REPO
from tests.fixtures.local_stack import TEST_SETTINGS

WEB_DIST = REPO / "web" / "dist"
# Generous: the suite shares two cores with other test processes, and a step that waits only
# returns as soon as the page is ready.
STEP_TIMEOUT_MS = 20_000
expect.set_options(timeout=STEP_TIMEOUT_MS)
CHROMIUM = Path("/usr/bin/chromium")
# The landing page's host name (RFC 2606 reserves .test): Spito refuses loopback targets and
# `localhost`, so Chromium alone resolves this name to the page's loopback address.
LANDING_HOST = "landing.test"
# Headless Chromium as root on a machine with no network beyond loopback: no sandbox (root),
# no GPU, and none of the background calls home that this network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--host-resolver-rules=MAP {LANDING_HOST} 127.0.0.1",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium package)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def context_for(browser: Browser, url: str) -> Iterator[BrowserContext]:
    """A fresh profile (empty local storage) on `url` that may use the clipboard."""
    context = browser.new_context(base_url=url, viewport={"width": 1024, "height": 768})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def context(browser: Browser, spito_url: str) -> Iterator[BrowserContext]:
    with context_for(browser, spito_url) as context:
        yield context


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


class _LandingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"<!doctype html><title>Landing</title><h1>{LANDING_TEXT}</h1>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests assert on what the browser shows."""


@pytest.fixture(scope="session")
def landing_url() -> Iterator[str]:
    """A local page standing in for a link's target on the web; answers any path."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LandingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LANDING_HOST}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="session")
def spito_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Spito as `make dev` serves it: the dev router with the built web app in front of the
    service, dynalite and s3rver, all on free ports of this worker."""
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(f"{WEB_DIST} is not built: run `make web`")
    data_dir = tmp_path_factory.mktemp("browser-stack")
    # Expiries of a second, so a test can see a link expire (tests/browser/test_visitor_pages.py);
    # behind the router every report comes from one client: one report holds an item here.
    settings = {
        **TEST_SETTINGS,
        "SPITO_EXPIRES_MIN_SECONDS": "1",
        "SPITO_REPORT_HOLD_THRESHOLD": "1",
    }
    with LocalStack(data_dir=data_dir, service_settings=settings, web_dist=WEB_DIST) as stack:
        yield stack.base_url
