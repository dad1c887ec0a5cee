"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, the web app served by
the dev router in front of the local stack, and a local page for short links to land on."""

from __future__ import annotations

import http.server
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from scripts.dev_router import create_app

REPO = Path(__file__).resolve().parents[2]
WEB_DIST = REPO / "web" / "dist"
SCREENSHOTS = REPO / "test-results" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
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
]
LANDING_TEXT = "You have arrived at the link's target."


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium package)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser, spito_url: str) -> Iterator[BrowserContext]:
    """A fresh profile per test (empty local storage) that may use the clipboard."""
    context = browser.new_context(base_url=spito_url, viewport={"width": 1024, "height": 768})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=spito_url)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def save_screenshot(page: Page, name: str) -> Path:
    """Saves the whole page as test-results/browser/{name}.png for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=path, full_page=True)
    return path


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
    # "localhost", not the address: the stack refuses links to its own host names.
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


class _RouterThread:
    """The dev router (the local CloudFront) on a free loopback port, in a thread."""

    def __init__(self, *, upstream: str, web_dist: Path) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        app = create_app(upstream=upstream, web_dist=web_dist)
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", proxy_headers=False))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]})

    def __enter__(self) -> _RouterThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the dev router did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@pytest.fixture(scope="session")
def spito_url(base_url: str) -> Iterator[str]:
    """Spito as a browser meets it: the built web app and the API on one origin."""
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(f"{WEB_DIST} is not built: run `make web`")
    with _RouterThread(upstream=base_url, web_dist=WEB_DIST) as router:
        yield router.url
