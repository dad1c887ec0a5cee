"""Storage outages, rate limiting, SIGTERM draining and start-up checks."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from devstack.stack import ROOT, LocalStack
from service.ratelimit import client_address
from tests.service.helpers import BROWSER_USER_AGENT, assert_problem, create_link, wait_alive

PERSON = {"User-Agent": BROWSER_USER_AGENT}  # so a redirect counts as a click

# Storage outage


def test_storage_outage_answers_503_problem_quickly_and_recovers(
    http: httpx.Client, local_stack: LocalStack
) -> None:
    link = create_link(http)
    with local_stack.storage.outage():
        started = time.monotonic()
        response = http.post("/api/v1/links", json={"url": "https://example.com/"})
        assert_problem(response, 503)
        assert response.headers["retry-after"]
        assert_problem(http.get(f"/api/v1/links/{link['id']}"), 503)
        assert_problem(http.get("/readyz"), 503)
        assert http.get("/healthz").status_code == 200
        assert time.monotonic() - started < 10
    assert http.get("/readyz").status_code == 200
    assert http.post("/api/v1/links", json={"url": "https://example.com/"}).status_code == 201
    assert http.get(f"/api/v1/links/{link['id']}").status_code == 200


def test_clicks_counted_during_an_outage_are_kept_and_flushed_later(
    http: httpx.Client, local_stack: LocalStack
) -> None:
    link = create_link(http)
    http.get(f"/{link['id']}")  # cached from here on
    with local_stack.storage.outage():
        for _ in range(3):
            assert http.get(f"/{link['id']}").status_code == 302  # served from the cache
        time.sleep(1.5)  # a flush fails meanwhile
    deadline = time.monotonic() + 10
    while http.get(f"/api/v1/links/{link['id']}").json()["clicks"] != 4:
        assert time.monotonic() < deadline, "clicks were lost"
        time.sleep(0.2)


def test_readyz_answers_503_while_the_bucket_is_missing(
    start_service: Callable[..., Any],
) -> None:
    service = start_service(wait_ready=False, SPITO_BUCKET="no-such-bucket")
    wait_alive(service.url)
    assert_problem(httpx.get(f"{service.url}/readyz"), 503)


# Rate limiting


def test_creations_over_the_burst_answer_429_with_retry_after(
    start_service: Callable[..., Any],
) -> None:
    service = start_service(SPITO_RATE_LIMIT_BURST="3", SPITO_RATE_LIMIT_PER_MINUTE="1")
    statuses = [
        httpx.post(f"{service.url}/api/v1/links", json={"url": "https://example.com/"})
        for _ in range(4)
    ]
    assert [r.status_code for r in statuses[:3]] == [201, 201, 201]
    assert_problem(statuses[3], 429)
    assert int(statuses[3].headers["retry-after"]) >= 1


def test_reads_are_not_rate_limited(start_service: Callable[..., Any]) -> None:
    service = start_service(
        SPITO_RATE_LIMIT_BURST="1", SPITO_RATE_LIMIT_PER_MINUTE="1", SPITO_CACHE_TTL_SECONDS="0"
    )
    links = f"{service.url}/api/v1/links"
    link = httpx.post(links, json={"url": "https://example.com/read"}).json()
    assert_problem(httpx.post(links, json={"url": "https://example.com/"}), 429)
    for _ in range(5):  # the redirect cache is off: every read goes through the routes
        assert httpx.get(f"{links}/{link['id']}").status_code == 200
        assert httpx.get(f"{service.url}/{link['id']}", headers=PERSON).status_code == 302
    assert_problem(httpx.post(links, json={"url": "https://example.com/"}), 429)


def test_limited_client_does_not_affect_others_behind_the_proxies(
    start_service: Callable[..., Any],
) -> None:
    service = start_service(
        SPITO_RATE_LIMIT_BURST="2", SPITO_RATE_LIMIT_PER_MINUTE="1", SPITO_CLIENT_IP_POSITION="2"
    )

    def create(forwarded_for: str) -> int:
        return httpx.post(
            f"{service.url}/api/v1/links",
            json={"url": "https://example.com/"},
            headers={"X-Forwarded-For": forwarded_for},
        ).status_code

    # Behind CloudFront and the ALB: "<viewer>, <CloudFront edge>"; the viewer is 2nd from right.
    assert [create("198.51.100.1, 10.0.0.9") for _ in range(3)] == [201, 201, 429]
    assert create("198.51.100.2, 10.0.0.9") == 201


def test_spoofed_left_most_forwarded_for_does_not_evade_the_limit(
    start_service: Callable[..., Any],
) -> None:
    service = start_service(
        SPITO_RATE_LIMIT_BURST="2", SPITO_RATE_LIMIT_PER_MINUTE="1", SPITO_CLIENT_IP_POSITION="2"
    )
    statuses = [
        httpx.post(
            f"{service.url}/api/v1/links",
            json={"url": "https://example.com/"},
            headers={"X-Forwarded-For": f"10.9.9.{n}, 198.51.100.7, 10.0.0.9"},
        ).status_code
        for n in range(3)
    ]
    assert statuses == [201, 201, 429]


def test_client_address_is_the_configured_position_from_the_right() -> None:
    assert client_address(["1.1.1.1, 2.2.2.2, 3.3.3.3"], "9.9.9.9", position_from_right=2) == (
        "2.2.2.2"
    )
    assert client_address(["1.1.1.1", "2.2.2.2"], "9.9.9.9", position_from_right=1) == "2.2.2.2"


def test_client_address_is_the_peer_when_position_is_zero() -> None:
    assert client_address(["1.1.1.1"], "9.9.9.9", position_from_right=0) == "9.9.9.9"


def test_client_address_never_falls_back_to_the_left_most_entry() -> None:
    # One entry where two are expected: the request bypassed a proxy; trust only the peer.
    assert client_address(["6.6.6.6"], "9.9.9.9", position_from_right=2) == "9.9.9.9"
    assert client_address([], "9.9.9.9", position_from_right=2) == "9.9.9.9"


# Shutdown


def test_sigterm_finishes_an_in_flight_request_then_exits_0(
    start_service: Callable[..., Any],
) -> None:
    service = start_service()
    answer = _create_in_flight_at_sigterm(service, b'{"url": "https://example.com/drained"}')
    assert answer.startswith(b"HTTP/1.1 201")
    assert service._process.wait(35) == 0


def _create_in_flight_at_sigterm(service: Any, body: bytes) -> bytes:
    """POST a link whose body is half sent when the service gets SIGTERM; its answer."""
    parts = urlsplit(service.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v1/links HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body[:10])
        )
        time.sleep(1)  # the request is in flight: headers read, body incomplete
        service._process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        connection.sendall(body[10:])
        return connection.recv(4096)


def test_sigterm_stops_accepting_new_connections(start_service: Callable[..., Any]) -> None:
    service = start_service()
    parts = urlsplit(service.url)
    assert service.stop(signal.SIGTERM) == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((parts.hostname, parts.port), 1).close()


def test_clicks_are_flushed_at_shutdown(
    start_service: Callable[..., Any], http: httpx.Client
) -> None:
    service = start_service(SPITO_CLICK_FLUSH_SECONDS="60")
    link = create_link(http)
    for _ in range(3):
        assert httpx.get(f"{service.url}/{link['id']}", headers=PERSON).status_code == 302
    assert http.get(f"/api/v1/links/{link['id']}").json()["clicks"] == 0
    assert service.stop(signal.SIGTERM) == 0
    assert http.get(f"/api/v1/links/{link['id']}").json()["clicks"] == 3


def test_two_workers_serve_then_drain_on_sigterm_exit_0_and_flush_clicks(
    start_service: Callable[..., Any], http: httpx.Client
) -> None:
    service = start_service(SPITO_WORKERS="2", SPITO_CLICK_FLUSH_SECONDS="60")
    link = create_link(http)
    workers: set[str] = set()
    clicks = 0
    while len(workers) < 2:
        assert clicks < 100, "one worker answered every connection"
        # A new connection each time.
        response = httpx.get(f"{service.url}/{link['id']}", headers=PERSON)
        assert response.status_code == 302
        workers.add(response.headers["x-request-id"].split("-")[0])  # per-process prefix
        clicks += 1
    answer = _create_in_flight_at_sigterm(
        service, b'{"url": "https://example.com/drained-by-a-worker"}'
    )
    assert answer.startswith(b"HTTP/1.1 201")
    assert service._process.wait(35) == 0
    assert http.get(f"/api/v1/links/{link['id']}").json()["clicks"] == clicks


def test_kill_9_loses_no_click_older_than_one_flush_interval(
    start_service: Callable[..., Any], http: httpx.Client
) -> None:
    service = start_service(SPITO_CLICK_FLUSH_SECONDS="1")
    link = create_link(http)
    for _ in range(3):
        assert httpx.get(f"{service.url}/{link['id']}", headers=PERSON).status_code == 302
    time.sleep(2.5)  # more than one flush interval
    service.stop(signal.SIGKILL)
    assert http.get(f"/api/v1/links/{link['id']}").json()["clicks"] == 3


# Start-up


def test_invalid_settings_stop_the_start_with_messages_naming_each_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PORT": "http", "SPITO_CLIENT_IP_POSITION": "-1"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    for variable in ("PORT", "SPITO_TABLE", "SPITO_BUCKET", "SPITO_CLIENT_IP_POSITION"):
        assert variable in result.stderr
