"""The web app in Debian's Chromium against the local stack: what a person does with Spito."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    LANDING_TEXT,
    create_paste,
    paste_url_shown,
    save_screenshot,
    short_url_shown,
    shorten,
    wait_for_qr_code,
)

pytestmark = pytest.mark.browser

PYTHON_SNIPPET = 'def greet(name):\n    return f"Hello, {name}!"\n\nprint(greet("Spito"))\n'


def test_short_link_from_the_form_leads_to_its_target(page: Page, landing_url: str) -> None:
    target = f"{landing_url}/docs/welcome?from=spito"
    shorten(page, target)
    short_url = short_url_shown(page)
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    wait_for_qr_code(page)
    save_screenshot(page, "shorten-result")  # `make screenshots` copies it to docs/web-app.png

    page.goto(short_url)

    expect(page.get_by_role("heading", name=LANDING_TEXT)).to_be_visible()
    assert page.url == target


def test_bad_url_error_is_shown_beside_the_url_field(page: Page) -> None:
    shorten(page, "javascript:alert(1)", slug="keep-me")

    url_field = page.get_by_label("Long URL")
    error = page.locator(f"#{url_field.get_attribute('id')}-error")
    expect(error).to_contain_text("http:// or https://")
    expect(url_field).to_have_attribute("aria-invalid", "true")
    expect(url_field).to_have_value("javascript:alert(1)")
    expect(page.get_by_label("Custom slug (optional)")).to_have_value("keep-me")
    save_screenshot(page, "shorten-bad-url")


def test_taken_slug_error_is_shown_beside_the_slug_field(page: Page, landing_url: str) -> None:
    slug = f"taken-{uuid.uuid4().hex[:12]}"
    shorten(page, f"{landing_url}/first", slug=slug)
    expect(page.get_by_role("textbox", name="Short URL")).to_have_value(re.compile(f"/{slug}$"))
    shorten(page, f"{landing_url}/second", slug=slug)

    slug_field = page.get_by_label("Custom slug (optional)")
    expect(page.locator(f"#{slug_field.get_attribute('id')}-error")).to_contain_text("taken")
    expect(slug_field).to_be_focused()
    expect(page.get_by_label("Long URL")).to_have_value(f"{landing_url}/second")


def test_paste_page_highlights_the_text_and_links_the_raw_view(page: Page) -> None:
    create_paste(page, PYTHON_SNIPPET, syntax="python")
    page.get_by_role("link", name="Open the paste").click()

    code = page.locator("pre.paste-code code[data-highlighted='yes']")
    expect(code.locator(".hljs-keyword").first).to_have_text("def")
    expect(code).to_have_text(PYTHON_SNIPPET)
    expect(page.locator(".line-numbers")).to_have_text("1\n2\n3\n4")
    save_screenshot(page, "paste-view")

    page.get_by_role("link", name="Raw").click()
    assert page.locator("pre").text_content() == PYTHON_SNIPPET
    assert re.fullmatch(r".*/[A-Za-z0-9_-]+/raw", page.url)


def test_paste_markup_is_shown_as_text_never_run(page: Page) -> None:
    markup = '<img src="x" onerror="document.title=\'pwned\'">\n<script>alert(1)</script>\n'
    create_paste(page, markup, syntax="html")
    page.get_by_role("link", name="Open the paste").click()

    code = page.locator("pre.paste-code code[data-highlighted='yes']")
    expect(code).to_have_text(markup)
    expect(code.locator("img, script")).to_have_count(0)
    assert page.title() != "pwned"


def test_burn_after_reading_paste_shows_once_then_is_gone(page: Page) -> None:
    create_paste(page, "the launch code is 0000", syntax="text", burn=True)
    page_url = paste_url_shown(page)
    page.goto(page_url)
    expect(page.get_by_role("heading", name="This paste burns after reading")).to_be_visible()
    save_screenshot(page, "burn-confirm")

    page.get_by_role("button", name="Show it and delete it").click()
    expect(page.locator("pre.paste-code")).to_have_text("the launch code is 0000")
    save_screenshot(page, "burn-shown-once")

    page.goto(page_url)
    expect(page.get_by_role("heading", name="This paste is gone")).to_be_visible()
    save_screenshot(page, "burn-gone")


def test_burned_paste_leaves_my_links_and_pastes(page: Page) -> None:
    create_paste(page, "read me once", syntax="text", burn=True)
    paste_id = paste_url_shown(page).rsplit("/", 1)[1]
    page.goto(f"/p/{paste_id}")
    page.get_by_role("button", name="Show it and delete it").click()
    expect(page.locator("pre.paste-code")).to_have_text("read me once")

    page.get_by_role("link", name="My links and pastes").click()

    expect(page.get_by_role("heading", name="My links and pastes")).to_be_visible()
    expect(page.locator(f"li[data-id='{paste_id}']")).to_have_count(0)


def test_delete_from_my_links_and_pastes_removes_the_link(
    page: Page, landing_url: str, spito_url: str
) -> None:
    shorten(page, f"{landing_url}/to-delete")
    short_url = short_url_shown(page)
    page.get_by_role("link", name="My links and pastes").first.click()
    link_id = short_url.rsplit("/", 1)[1]
    item = page.locator(f"li[data-id='{link_id}']")
    expect(item).to_contain_text(f"{landing_url}/to-delete")
    save_screenshot(page, "my-links-and-pastes")

    page.once("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name=f"Delete link {link_id}").click()

    expect(item).to_have_count(0)
    assert httpx.get(f"{spito_url}/{link_id}").status_code == 404
    page.reload()
    expect(page.locator(f"li[data-id='{link_id}']")).to_have_count(0)
