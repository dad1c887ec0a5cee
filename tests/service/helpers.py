"""Shortcuts for the service tests: create things, check problem JSON."""

from __future__ import annotations

import time
from typing import Any

import httpx

# Firefox on Linux, as it sends it: a person, for click counting.
BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def create_link(http: httpx.Client, url: str = "https://example.com/", **fields: Any) -> Any:
    response = http.post("/api/v1/links", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def create_paste(http: httpx.Client, content: str = "hello\n", **fields: Any) -> Any:
    response = http.post("/api/v1/pastes", json={"content": content, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is RFC 9457 problem JSON with the given status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    for member in ("type", "title", "detail"):
        assert problem[member], f"problem JSON without {member}"
    return problem


def wait_alive(url: str, seconds: float = 30) -> None:
    """Wait until the service at `url` answers /healthz (it may not be ready)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"the service at {url} did not start"
        time.sleep(0.1)
