"""Honest click counts: people's clicks per UTC day, bots and previews counted apart.

Over real HTTP against the local stack (dynalite); the classifier is also run on the list's
own example User-Agents.
"""

from __future__ import annotations

import datetime
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from crawleruseragents import CRAWLER_USER_AGENTS_DATA  # type: ignore[import-untyped]

from service.bots import MAX_CLASSIFIED_CHARS, BotClassifier
from tests.service.helpers import BROWSER_USER_AGENT, create_link

PREVIEW_BOTS = [
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "WhatsApp/2.23.20.0",
    "TelegramBot (like TwitterBot)",
    "Twitterbot/1.0",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mastodon/4.3.0 (http.rb/5.2.0; +https://mastodon.social/) Bot",
    "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
PEOPLE = [
    BROWSER_USER_AGENT,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
]


def _metadata(http: httpx.Client, link_id: str) -> dict[str, Any]:
    response = http.get(f"/api/v1/links/{link_id}")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _eventually(check: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def _today(offset_days: int = 0) -> str:
    return (
        datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(offset_days)
    ).isoformat()


def test_preview_bots_are_redirected_but_counted_as_bot_fetches(http: httpx.Client) -> None:
    link = create_link(http)
    # The first fetch goes through the routes, the rest through the redirect cache.
    for agent in PREVIEW_BOTS:
        response = http.get(f"/{link['id']}", headers={"User-Agent": agent})
        assert response.status_code == 302
        assert response.headers["location"] == link["url"]
    assert _eventually(lambda: _metadata(http, link["id"])["bot_fetches"] == len(PREVIEW_BOTS))
    metadata = _metadata(http, link["id"])
    assert metadata["clicks"] == 0
    assert metadata["clicks_by_day"] == []


def test_a_request_without_user_agent_is_a_bot_fetch(base_url: str, http: httpx.Client) -> None:
    link = create_link(http)
    with httpx.Client(base_url=base_url) as client:
        request = client.build_request("GET", f"/{link['id']}")
        del request.headers["User-Agent"]
        assert client.send(request).status_code == 302
    assert _eventually(lambda: _metadata(http, link["id"])["bot_fetches"] == 1)
    assert _metadata(http, link["id"])["clicks"] == 0


def test_peoples_clicks_are_counted_per_utc_day(http: httpx.Client) -> None:
    link = create_link(http)
    for agent in PEOPLE:  # the first through the routes, the rest from the redirect cache
        assert http.get(f"/{link['id']}", headers={"User-Agent": agent}).status_code == 302
    http.get(f"/{link['id']}", headers={"User-Agent": PREVIEW_BOTS[0]})
    expected = len(PEOPLE)
    assert _eventually(lambda: _metadata(http, link["id"])["clicks"] == expected)
    assert _eventually(lambda: _metadata(http, link["id"])["bot_fetches"] == 1)
    metadata = _metadata(http, link["id"])
    # The flush may fall either side of midnight UTC only if the test does.
    assert sum(day["clicks"] for day in metadata["clicks_by_day"]) == expected
    assert {day["date"] for day in metadata["clicks_by_day"]} <= {_today(-1), _today()}


def _put_link_with_days(
    aws_client: Callable[[str], Any], table: str, link_id: str, days: dict[str, int]
) -> None:
    now = int(time.time())
    aws_client("dynamodb").put_item(
        TableName=table,
        Item={
            "id": {"S": link_id},
            "kind": {"S": "link"},
            "url": {"S": "https://example.com/days"},
            "clicks": {"N": str(sum(days.values()))},
            "created_at": {"N": str(now - 100 * 86400)},
            "expires_at": {"N": str(now + 3600)},
            "delete_token_hash": {"S": "0" * 64},
            **{f"clicks@{day}": {"N": str(count)} for day, count in days.items()},
        },
    )


def test_days_past_the_retention_are_not_listed_and_are_forgotten_on_the_next_click(
    start_service: Callable[..., Any],
    aws_client: Callable[[str], Any],
    spito_table: str,
) -> None:
    service = start_service(SPITO_CLICK_RETENTION_DAYS="3")
    days = {_today(-40): 7, _today(-3): 5, _today(-2): 2, _today(-1): 1}
    _put_link_with_days(aws_client, spito_table, "retention-days", days)
    with httpx.Client(base_url=service.url, headers={"User-Agent": PEOPLE[1]}) as client:
        listed = _metadata(client, "retention-days")["clicks_by_day"]
        assert listed == [{"date": _today(-2), "clicks": 2}, {"date": _today(-1), "clicks": 1}]
        assert client.get("/retention-days").status_code == 302
        assert _eventually(lambda: _metadata(client, "retention-days")["clicks"] == 16)
        assert _metadata(client, "retention-days")["clicks_by_day"][-1] == {
            "date": _today(),
            "clicks": 1,
        }
    item = aws_client("dynamodb").get_item(
        TableName=spito_table, Key={"id": {"S": "retention-days"}}
    )["Item"]
    kept = sorted(name for name in item if name.startswith("clicks@"))
    assert kept == [f"clicks@{_today(offset)}" for offset in (-2, -1, 0)]


def test_a_link_stored_before_per_day_counts_gains_them(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str
) -> None:
    _put_link_with_days(aws_client, spito_table, "older-link", {})
    assert http.get("/older-link").status_code == 302
    assert _eventually(
        lambda: _metadata(http, "older-link")["clicks_by_day"] == [{"date": _today(), "clicks": 1}]
    )


@pytest.fixture(scope="module")
def classifier() -> BotClassifier:
    return BotClassifier.maintained()


def test_every_example_of_the_maintained_list_is_a_bot(classifier: BotClassifier) -> None:
    examples = [
        instance
        for entry in CRAWLER_USER_AGENTS_DATA
        for instance in entry.get("instances", [])
        if len(instance) <= MAX_CLASSIFIED_CHARS
    ]
    assert len(examples) > 1000
    missed = [agent for agent in examples if not classifier.is_bot(agent.encode("utf-8"))]
    assert missed == []


@pytest.mark.parametrize("agent", PEOPLE)
def test_browsers_are_people(classifier: BotClassifier, agent: str) -> None:
    assert not classifier.is_bot(agent.encode())


def test_remembered_user_agents_hold_only_the_characters_classified() -> None:
    # Every click's User-Agent is remembered (up to MAX_REMEMBERED): a client sending distinct
    # User-Agents of several KB each must not make a worker keep them whole (hundreds of MB).
    fresh = BotClassifier.maintained()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for number in range(2000):
            fresh.is_bot(b"Mozilla/5.0 %d " % number + b"x" * 16_000)
        grown = sum(
            stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename")
        )
    finally:
        tracemalloc.stop()
    # 2,000 x 16 KB kept whole is 32 MB; 2,000 x 512 characters is about 1 MB.
    assert grown < 4 * 1024 * 1024
    assert not fresh.is_bot(b"Mozilla/5.0 7 " + b"x" * 16_000)
    assert fresh.is_bot(b"Mozilla/5.0 (compatible; Googlebot/2.1)" + b"x" * 16_000)
