"""The web app shows a link's target as Spito stores it: printable ASCII, never a fake address.

The probe of issue 15 shortened `https://[::1%25\\u202emoc.lapyap.www]/` and the app showed
"Goes to https://[::1%25/[www.paypal.com" on the result and in "My links and pastes".
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import shorten

pytestmark = pytest.mark.browser

DECEPTIVE = "https://[::1%25\u202emoc.lapyap.www]/"


def test_a_target_that_would_show_a_fake_address_is_refused_beside_the_url_field(
    page: Page,
) -> None:
    shorten(page, DECEPTIVE)
    url_field = page.get_by_label("Long URL")
    expect(page.locator(f"#{url_field.get_attribute('id')}-error")).to_contain_text("invisible")
    expect(page.get_by_text("Goes to")).to_have_count(0)


def test_goes_to_shows_the_stored_canonical_form(page: Page) -> None:
    shorten(page, "https://BÜCHER.example/straße?q=ü")
    expect(page.get_by_text("Goes to")).to_have_text(
        "Goes to https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC"
    )


def test_a_fake_address_saved_before_the_fix_shows_percent_encoded_in_my_links(
    page: Page,
) -> None:
    saved = {
        "kind": "link",
        "id": "old-deceptive",
        "url": "http://127.0.0.1/old-deceptive",
        "label": DECEPTIVE,
        "createdAt": 1,
        "expiresAt": None,
        "deleteToken": "token",
    }
    page.goto("/")
    page.evaluate("items => localStorage.setItem('spito.mine.v1', items)", json.dumps([saved]))
    page.goto("/#mine")
    label = page.locator("li[data-id='old-deceptive'] .mine-label")
    expect(label).to_have_text("https://[::1%25%E2%80%AEmoc.lapyap.www]/")
