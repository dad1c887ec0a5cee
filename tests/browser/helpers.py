"""What a person does on Spito's page, as steps the browser tests share."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page

REPO = Path(__file__).resolve().parents[2]
TEST_RESULTS = REPO / "test-results"
SCREENSHOTS = TEST_RESULTS / "browser"
LANDING_TEXT = "You have arrived at the link's target."
# More Tab presses than any of the app's pages has focusable elements.
MAX_TAB_STOPS = 60

# True once the QR code's canvas holds dark pixels, i.e. the encoder was fetched and drew it.
QR_CODE_DRAWN = """() => {
  const canvas = document.querySelector("canvas.qr");
  if (!canvas) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] > 0 && pixels[i] < 128) return true;
  return false;
}"""


def save_screenshot(page: Page, name: str) -> Path:
    """Saves the whole page as test-results/browser/{name}.png for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=path, full_page=True)
    return path


def shorten(page: Page, url: str, *, slug: str = "") -> None:
    """Fills in and sends the shorten form."""
    page.goto("/")
    page.get_by_label("Long URL").fill(url)
    page.get_by_label("Custom slug (optional)").fill(slug)
    page.get_by_role("button", name="Shorten").click()


def short_url_shown(page: Page) -> str:
    return page.get_by_role("textbox", name="Short URL").input_value()


def wait_for_qr_code(page: Page) -> None:
    page.wait_for_function(QR_CODE_DRAWN)


def create_paste(page: Page, text: str, *, syntax: str, burn: bool = False) -> None:
    """Fills in and sends the paste form."""
    page.goto("/#paste")
    page.get_by_role("textbox", name="Text", exact=True).fill(text)
    page.get_by_label("Syntax").select_option(syntax)
    if burn:
        page.get_by_label("Burn after reading").check()
    page.get_by_role("button", name="Create paste").click()


def paste_url_shown(page: Page) -> str:
    return page.get_by_role("textbox", name="Page URL").input_value()


def create_paste_by_api(
    spito_url: str, content: str, *, syntax: str = "text", burn: bool = False
) -> dict[str, Any]:
    """A paste made without the page, for tests about viewing one; answers the API's JSON."""
    response = httpx.post(
        f"{spito_url}/api/v1/pastes",
        json={"content": content, "syntax": syntax, "burn_after_reading": burn},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def tab_to(page: Page, target: Locator) -> None:
    """Presses Tab until `target` has the focus, as a person using only the keyboard would."""
    for _ in range(MAX_TAB_STOPS):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reached {target}")
