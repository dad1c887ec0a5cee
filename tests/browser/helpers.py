"""What a person does on Spito's page, as steps the browser tests share."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
TEST_RESULTS = REPO / "test-results"
SCREENSHOTS = TEST_RESULTS / "browser"
LANDING_TEXT = "You have arrived at the link's target."


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
