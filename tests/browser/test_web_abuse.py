"""Reporting, removed items and clicks per day in the web app, in Chromium against the local
stack. The browser stack holds an item at its first report (every report reaches the service
from the router's one address)."""

from __future__ import annotations

import datetime
import re
import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    create_paste,
    paste_url_shown,
    save_screenshot,
    short_url_shown,
    shorten,
)

pytestmark = pytest.mark.browser

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SLACKBOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


def test_a_paste_reported_from_its_page_is_held_and_its_page_says_why(page: Page) -> None:
    create_paste(page, "enter your bank password here\n", syntax="text")
    paste_url = paste_url_shown(page)
    page.goto(paste_url)
    page.get_by_text("Report this paste").click()
    page.get_by_label("What is wrong with it").select_option("phishing")
    page.get_by_label("Details (optional)").fill("imitates a bank")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("status").filter(has_text="your report of")).to_contain_text(
        "was received"
    )

    page.reload()
    expect(page.get_by_role("heading", name="This paste is held for review")).to_be_visible()
    expect(page.locator("main")).to_contain_text("reported by several people (phishing)")
    expect(page.locator("main")).not_to_contain_text("bank password")
    save_screenshot(page, "paste-held")

    paste_id = paste_url.rstrip("/").rsplit("/", 1)[1]
    page.goto(paste_url.replace(f"/p/{paste_id}", f"/{paste_id}/raw"))
    expect(
        page.get_by_role("heading", name="This link or paste is held for review")
    ).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("bank password")


def test_the_report_page_takes_a_short_link_and_names_a_bad_one(
    page: Page, landing_url: str
) -> None:
    shorten(page, f"{landing_url}/fake-login")
    short_url = short_url_shown(page)

    page.goto("/#report")
    expect(page.get_by_role("heading", name="Report a short link or paste")).to_be_visible()
    id_field = page.get_by_label("Short link or id")
    id_field.fill("not a link")
    page.get_by_role("button", name="Send report").click()
    expect(page.locator(f"#{id_field.get_attribute('id')}-error")).to_contain_text(
        "Enter the short link"
    )
    expect(id_field).to_have_attribute("aria-invalid", "true")

    id_field.fill("https://elsewhere.example/NoSuchId1")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("alert")).to_contain_text("No such resource")

    id_field.fill(short_url)
    page.get_by_label("What is wrong with it").select_option("spam")
    page.get_by_role("button", name="Send report").click()
    link_id = short_url.rsplit("/", 1)[1]
    expect(page.get_by_role("status").filter(has_text=link_id)).to_contain_text("was received")
    save_screenshot(page, "report-sent")
    assert httpx.get(short_url).status_code == 410  # held: the report reached the service


def test_my_links_shows_clicks_per_day_as_bars_a_summary_and_a_table(
    page: Page, landing_url: str, spito_url: str
) -> None:
    shorten(page, f"{landing_url}/counted")
    short_url = short_url_shown(page)
    link_id = short_url.rsplit("/", 1)[1]
    for agent in (FIREFOX, FIREFOX, SLACKBOT):
        assert httpx.get(short_url, headers={"User-Agent": agent}).status_code == 302
    deadline = time.monotonic() + 10
    while httpx.get(f"{spito_url}/api/v1/links/{link_id}").json()["bot_fetches"] < 1:
        assert time.monotonic() < deadline, "the clicks were not flushed"
        time.sleep(0.2)
    today = datetime.datetime.now(datetime.UTC).date().isoformat()

    page.goto("/#mine")
    row = page.locator(f"li[data-id='{link_id}']")
    chart = row.get_by_role("img", name=re.compile("^Clicks per day"))
    expect(chart).to_be_visible()
    expect(chart).to_have_accessible_description(
        f"2 clicks in the last 30 days; the busiest day was {today} with 2. "
        "1 fetch by bots and link previews not counted."
    )
    bars = chart.locator(".click-bar")
    expect(bars).to_have_count(30)
    expect(bars.last).to_have_attribute("title", f"{today}: 2")
    row.get_by_text("Clicks per day as a table").click()
    table = row.get_by_role("table", name=re.compile("Clicks per day"))
    expect(table.get_by_role("row", name=f"{today} 2")).to_be_visible()
    save_screenshot(page, "mine-clicks")
