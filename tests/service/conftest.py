"""Fixtures for the service tests: an HTTP client on the local stack."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.service.helpers import BROWSER_USER_AGENT


@pytest.fixture(scope="session")
def http(base_url: str) -> Iterator[httpx.Client]:
    # A person's browser: httpx's own User-Agent is on the bot list, and would count no clicks.
    headers = {"User-Agent": BROWSER_USER_AGENT}
    with httpx.Client(
        base_url=base_url, follow_redirects=False, timeout=10, headers=headers
    ) as client:
        yield client
