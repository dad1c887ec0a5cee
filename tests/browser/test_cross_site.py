"""Another site's page cannot make a visitor's Chromium create, burn or delete in Spito.

The probe of issue 15 did both with `no-cors` fetches from a page of another origin. The page
here is the landing page (another site: landing.test), and the fetches are the probe's.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

NO_CORS_POST = """async ([url, body]) => {
    await fetch(url, {method: "POST", mode: "no-cors", body,
                      headers: {"Content-Type": "text/plain"}});
}"""


def test_a_no_cors_open_from_another_site_does_not_burn_the_paste(
    page: Page, landing_url: str, spito_url: str
) -> None:
    created = httpx.post(
        f"{spito_url}/api/v1/pastes", json={"content": "secret", "burn_after_reading": True}
    )
    assert created.status_code == 201, created.text
    paste_id = created.json()["id"]
    page.goto(f"{landing_url}/elsewhere")
    page.evaluate(NO_CORS_POST, [f"{spito_url}/api/v1/pastes/{paste_id}/open", ""])
    opened = httpx.post(f"{spito_url}/api/v1/pastes/{paste_id}/open")
    assert opened.status_code == 200, opened.text
    assert opened.json()["content"] == "secret"


def test_the_web_app_still_creates_and_opens_from_its_own_origin(
    page: Page, spito_url: str
) -> None:
    page.goto(f"{spito_url}/")
    status = page.evaluate(
        """async () => (await fetch("/api/v1/pastes", {method: "POST", body: "mine",
                        headers: {"Content-Type": "text/plain"}})).status"""
    )
    assert status == 201
