"""What a visitor sees in Chromium, through `make dev`'s edge, when a short link or a paste's
address leads nowhere: a page with the right status, in the web app's look, under the edge's CSP,
passing the same accessibility checks as the web app's pages."""

from __future__ import annotations

import re
import time
import urllib.robotparser
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.stack import EdgeRouter, free_port
from tests.browser.conftest import WEB_DIST, context_for
from tests.browser.helpers import save_screenshot
from tests.browser.test_web_accessibility import FOCUS_RING, LOW_CONTRAST_TEXT, PHONE, UNNAMED
from tests.browser.test_web_quality import RECORD_CSP_VIOLATIONS

pytestmark = pytest.mark.browser

SURFACE = "rgb(246, 248, 250)"  # the header's background: the stylesheet was applied


def _created(spito_url: str, kind: str, **fields: Any) -> dict[str, Any]:
    body = {"url": "https://example.org/visitor"} if kind == "links" else {"content": "hi\n"}
    response = httpx.post(f"{spito_url}/api/v1/{kind}", json={**body, **fields}, timeout=30)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _deleted(spito_url: str, kind: str) -> str:
    item = _created(spito_url, kind)
    response = httpx.delete(
        f"{spito_url}/api/v1/{kind}/{item['id']}",
        headers={"X-Delete-Token": item["delete_token"]},
        timeout=30,
    )
    assert response.status_code == 204
    return str(item["id"])


def _expired(spito_url: str, kind: str) -> str:
    item = _created(spito_url, kind, expires_in=1)
    time.sleep(max(0.0, item["expires_at"] - time.time()) + 1.1)
    return str(item["id"])


def _visit(
    page: Page,
    path: str,
    status: int,
    heading: str,
    *,
    html_type: str = "text/html; charset=utf-8",
) -> None:
    """Opens `path` as a visitor would and checks the page: status, words, look, CSP, a way home.

    `html_type` is the Content-Type the page must have (the edge serves its static error page
    with the type its file server gives .html files).
    """
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    response = page.goto(path)
    assert response is not None
    assert response.status == status
    assert response.headers["content-type"] == html_type
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page).to_have_title(f"{heading} · Spito")
    expect(page.locator(".site-header")).to_have_css("background-color", SURFACE)
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("window.cspViolations") == []
    save_screenshot(page, f"visitor-{status}-{path.strip('/').replace('/', '-')}")
    page.get_by_role("link", name="Go to Spito's home page").click()
    expect(page.get_by_label("Long URL")).to_be_visible()


def test_unknown_short_link_shows_a_not_found_page(page: Page) -> None:
    _visit(page, "/no-such-link", 404, "There is no link or paste here")


def test_unknown_raw_paste_shows_a_not_found_page(page: Page) -> None:
    _visit(page, "/no-such-paste/raw", 404, "There is no paste here")


def test_deleted_short_link_shows_a_not_found_page(page: Page, spito_url: str) -> None:
    _visit(page, f"/{_deleted(spito_url, 'links')}", 404, "There is no link or paste here")


def test_deleted_paste_shows_a_not_found_page_at_its_short_and_raw_addresses(
    page: Page, spito_url: str
) -> None:
    paste_id = _deleted(spito_url, "pastes")
    _visit(page, f"/{paste_id}", 404, "There is no link or paste here")
    _visit(page, f"/{paste_id}/raw", 404, "There is no paste here")


def test_expired_short_link_shows_a_gone_page_saying_when(page: Page, spito_url: str) -> None:
    _visit(page, f"/{_expired(spito_url, 'links')}", 410, "This link has expired")
    page.go_back()
    expect(page.get_by_text("expired on")).to_contain_text(re.compile(r" at \d\d:\d\d UTC: "))


def test_expired_paste_shows_a_gone_page_at_its_short_and_raw_addresses(
    page: Page, spito_url: str
) -> None:
    paste_id = _expired(spito_url, "pastes")
    _visit(page, f"/{paste_id}", 410, "This paste has expired")
    _visit(page, f"/{paste_id}/raw", 410, "This paste has expired")


def test_not_found_page_passes_the_web_apps_accessibility_checks(page: Page) -> None:
    page.goto("/no-such-link")
    assert page.evaluate(UNNAMED) == []
    assert page.evaluate(LOW_CONTRAST_TEXT) == []
    stops: dict[int, dict[str, Any]] = {}
    for _ in range(10):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_RING)
        if stop["element"] is not None:
            stops[stop["index"]] = stop
    assert len(stops) == 2, stops  # the brand and the way home
    assert [stop["element"] for stop in stops.values() if not stop["visible"]] == []


def test_gone_page_fits_a_phone_screen(page: Page, spito_url: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"/{_expired(spito_url, 'links')}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# What crawlers and link-preview bots get: they run no script and read the HTML as served.


def test_robots_txt_keeps_crawlers_off_pastes_and_the_api_but_not_short_links(
    spito_url: str,
) -> None:
    response = httpx.get(f"{spito_url}/robots.txt", timeout=30)
    assert response.status_code == 200
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(response.text.splitlines())
    for path in ("/p/AbC123x", "/api/v1/links", "/openapi.json"):
        assert not parser.can_fetch("Googlebot", f"{spito_url}{path}"), path
    for path in ("/", "/AbC123x"):  # a short link's redirect leads to its target
        assert parser.can_fetch("Googlebot", f"{spito_url}{path}"), path
    # Raw pastes: a wildcard rule, which Google and Bing read (urllib's parser does not).
    assert "Disallow: /*/raw" in response.text.splitlines()


def test_a_paste_pages_preview_is_neutral(spito_url: str) -> None:
    secret = "preview bots must never see this line"
    paste = _created(spito_url, "pastes", content=secret)
    response = httpx.get(f"{spito_url}/p/{paste['id']}", timeout=30)  # as a preview bot
    assert response.status_code == 200
    assert secret not in response.text
    assert '<meta property="og:title" content="Spito" />' in response.text
    assert "<title>Spito</title>" in response.text


def test_a_dead_links_page_says_noindex(spito_url: str) -> None:
    response = httpx.get(f"{spito_url}/no-such-link", headers={"Accept": "text/html"}, timeout=30)
    assert response.status_code == 404
    assert response.headers["x-robots-tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in response.text
    assert '<meta property="og:title" content="Spito">' in response.text


def test_service_down_behind_make_devs_edge_shows_the_unavailable_page(
    browser: Browser, tmp_path: Path
) -> None:
    # The edge as `make dev` runs it, over the real web app build, in front of a service that is
    # down (nothing listens at its address): CloudFront's 502 page, as the router stands in for it.
    router = EdgeRouter(
        port=free_port(),
        upstream=f"http://127.0.0.1:{free_port()}",
        web_dist=WEB_DIST,
        work_dir=tmp_path,
        log=tmp_path / "router.log",
    )
    router.start()
    try:
        with context_for(browser, router.url) as context:
            page = context.new_page()
            _visit(page, "/AbC123x", 502, "Spito is briefly unavailable", html_type="text/html")
    finally:
        router.stop()
