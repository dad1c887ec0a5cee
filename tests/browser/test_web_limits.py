"""The service's limits as a person meets them in the page: a paste too large, creating too fast.

These run against a stack of their own with tight limits (a 100-byte paste maximum, three
creations per client and then one a minute), so they never slow the other tests down.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.stack import LocalStack
from tests.browser.conftest import WEB_DIST, context_for
from tests.browser.helpers import create_paste, save_screenshot, shorten

pytestmark = pytest.mark.browser

PASTE_MAX_BYTES = 100
STRICT_SETTINGS = {
    "SPITO_PASTE_MAX_BYTES": str(PASTE_MAX_BYTES),
    "SPITO_RATE_LIMIT_BURST": "3",
    "SPITO_RATE_LIMIT_PER_MINUTE": "1",
}


@pytest.fixture(scope="module")
def strict_spito_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("strict-stack")
    with LocalStack(
        data_dir=data_dir, service_settings=STRICT_SETTINGS, web_dist=WEB_DIST
    ) as stack:
        yield stack.base_url


@pytest.fixture
def strict_page(browser: Browser, strict_spito_url: str) -> Iterator[Page]:
    with context_for(browser, strict_spito_url) as context:
        yield context.new_page()


def test_too_large_paste_error_is_shown_beside_the_text_and_keeps_it(strict_page: Page) -> None:
    text = "x" * (PASTE_MAX_BYTES + 1)
    create_paste(strict_page, text, syntax="text")

    text_field = strict_page.get_by_role("textbox", name="Text", exact=True)
    error = strict_page.locator(f"#{text_field.get_attribute('id')}-error")
    expect(error).to_have_text(f"The text must be at most {PASTE_MAX_BYTES} bytes.")
    expect(text_field).to_have_value(text)
    save_screenshot(strict_page, "paste-too-large")


def test_creating_too_fast_says_when_to_try_again(strict_page: Page) -> None:
    alert = strict_page.get_by_role("alert")
    for attempt in range(5):  # the burst is three; earlier tests may have used some of it
        shorten(strict_page, f"https://example.org/fast/{attempt}")
        expect(alert.or_(strict_page.get_by_role("textbox", name="Short URL"))).to_be_visible()
        if alert.is_visible():
            break

    expect(alert).to_have_text(
        re.compile(
            r"You are creating things faster than Spito allows\. Please try again in \d+ seconds?\."
        )
    )
    expect(strict_page.get_by_label("Long URL")).to_have_value(
        f"https://example.org/fast/{attempt}"
    )
