"""What a black-box probe found (issue 15), each over HTTP against dynalite and s3rver.

Burn-after-reading races, request ids, strict JSON, duplicate Host headers, IPv6 rate-limit
buckets, and cross-site requests from browsers.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.service.helpers import assert_problem, create_paste

LARGE_PASTE = "x" * (200 * 1024)  # in the bucket, not inline


# Burn after reading


def _open_concurrently(base_url: str, paste_id: str, openers: int) -> list[int]:
    """The statuses of `openers` clients opening the paste at the same moment."""
    statuses: list[int] = []
    barrier = threading.Barrier(openers)

    def open_paste() -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            barrier.wait()
            statuses.append(client.post(f"/api/v1/pastes/{paste_id}/open").status_code)

    threads = [threading.Thread(target=open_paste) for _ in range(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_concurrent_opens_of_a_large_burn_paste_answer_one_200_and_only_404s(
    http: httpx.Client, base_url: str
) -> None:
    for _ in range(3):  # the probe lost the race to a 503 in 3 rounds of 3
        paste = create_paste(http, LARGE_PASTE, burn_after_reading=True)
        assert sorted(_open_concurrently(base_url, paste["id"], 20)) == [200] + [404] * 19


def test_a_large_paste_whose_body_is_gone_answers_404_everywhere(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str
) -> None:
    paste = create_paste(http, LARGE_PASTE)
    item = aws_client("dynamodb").get_item(TableName=spito_table, Key={"id": {"S": paste["id"]}})
    bucket_key = item["Item"]["blob_key"]["S"]
    aws_client("s3").delete_object(Bucket="spito-pastes", Key=bucket_key)
    assert_problem(http.get(f"/api/v1/pastes/{paste['id']}"), 404)
    assert_problem(http.get(f"/{paste['id']}/raw"), 404)


# Request ids


def test_request_ids_are_random_and_reveal_no_counter_or_worker(http: httpx.Client) -> None:
    ids = [http.get("/healthz").headers["x-request-id"] for _ in range(50)]
    assert len(set(ids)) == 50
    assert all(len(request_id) == 16 and int(request_id, 16) >= 0 for request_id in ids)
    # A per-process prefix or a counter shows as shared leading characters.
    assert len({request_id[:6] for request_id in ids}) > 45


# Strict JSON


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_json_not_in_utf8_answers_400(http: httpx.Client, encoding: str) -> None:
    body = json.dumps({"url": "https://example.com/utf16"}).encode(encoding)
    response = http.post(
        "/api/v1/links", content=body, headers={"Content-Type": "application/json"}
    )
    assert "UTF-8" in assert_problem(response, 400)["detail"]


@pytest.mark.parametrize(
    ("path", "body", "key"),
    [
        ("/api/v1/links", b'{"url": "https://a.example/", "url": "https://b.example/"}', "url"),
        (
            "/api/v1/pastes",
            b'{"content": "a", "burn_after_reading": true, "burn_after_reading": false}',
            "burn_after_reading",
        ),
        ("/api/v1/pastes", b'{"content": "a", "syntax": {"x": 1, "x": 2}}', "x"),
    ],
)
def test_duplicate_json_keys_answer_400_naming_the_key(
    http: httpx.Client, path: str, body: bytes, key: str
) -> None:
    response = http.post(path, content=body, headers={"Content-Type": "application/json"})
    problem = assert_problem(response, 400)
    assert f"'{key}' appears more than once" in problem["detail"]


# Host headers


def _raw_request(base_url: str, request: bytes) -> bytes:
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("request_line", [b"GET /healthz HTTP/1.1", b"POST /api/v1/links HTTP/1.1"])
def test_two_host_headers_answer_400_problem(base_url: str, request_line: bytes) -> None:
    body = b'{"url": "https://example.com/"}'
    answer = _raw_request(
        base_url,
        request_line + b"\r\nHost: spito.test\r\nHost: other.test\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body,
    )
    head, _, document = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: application/problem+json" in head.lower()
    assert json.loads(document)["status"] == 400


# Rate limit


def test_ipv6_clients_share_one_bucket_per_64(start_service: Callable[..., Any]) -> None:
    service = start_service(
        SPITO_RATE_LIMIT_BURST="2", SPITO_RATE_LIMIT_PER_MINUTE="1", SPITO_CLIENT_IP_POSITION="1"
    )

    def create(address: str) -> int:
        return httpx.post(
            f"{service.url}/api/v1/links",
            json={"url": "https://example.com/"},
            headers={"X-Forwarded-For": address},
        ).status_code

    statuses = [create(f"2001:db8:1:2::{n:x}") for n in range(1, 6)]
    assert statuses == [201, 201, 429, 429, 429]
    assert create("2001:db8:1:3::1") == 201  # another /64 is another client


# Cross-site requests from browsers

CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}


@pytest.mark.parametrize(
    "headers",
    [
        CROSS_SITE,
        {"Sec-Fetch-Site": "same-site", "Origin": "https://other.spito.test"},
        {"Origin": "https://evil.example"},  # a browser from before Sec-Fetch-Site
        {"Origin": "null"},  # a sandboxed frame or a file: page
    ],
)
def test_a_cross_site_no_cors_paste_is_refused_and_nothing_is_stored(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str, headers: dict[str, str]
) -> None:
    marker = f"cross-site paste {sorted(headers.items())}"
    response = http.post(
        "/api/v1/pastes",
        content=marker.encode(),
        headers={"Content-Type": "text/plain", "Host": "spito.test", **headers},
    )
    assert assert_problem(response, 403)["type"] == "urn:spito:problem:cross-site-request"
    items = aws_client("dynamodb").scan(TableName=spito_table)["Items"]
    assert not [item for item in items if item.get("content", {}).get("S") == marker]


def test_a_cross_site_open_is_refused_and_the_paste_is_not_burned(http: httpx.Client) -> None:
    paste = create_paste(http, "secret", burn_after_reading=True)
    assert_problem(http.post(f"/api/v1/pastes/{paste['id']}/open", headers=CROSS_SITE), 403)
    assert http.post(f"/api/v1/pastes/{paste['id']}/open").json()["content"] == "secret"


def test_a_cross_site_delete_is_refused_even_with_the_token(http: httpx.Client) -> None:
    paste = create_paste(http)
    headers = {"X-Delete-Token": paste["delete_token"], **CROSS_SITE}
    assert_problem(http.delete(f"/api/v1/pastes/{paste['id']}", headers=headers), 403)
    assert http.get(f"/api/v1/pastes/{paste['id']}").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, scripts: no browser headers at all
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://spito.test"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "http://spito.test"},  # an older browser on Spito's own page
    ],
)
def test_same_origin_and_non_browser_creations_are_allowed(
    http: httpx.Client, headers: dict[str, str]
) -> None:
    response = http.post(
        "/api/v1/links",
        json={"url": "https://example.com/"},
        headers={"Host": "spito.test", **headers},
    )
    assert response.status_code == 201, response.text


def test_following_a_link_from_another_site_still_works(http: httpx.Client) -> None:
    link = http.post("/api/v1/links", json={"url": "https://example.com/x"}).json()
    assert http.get(f"/{link['id']}", headers=CROSS_SITE).status_code == 302


def test_spitos_own_origins_are_trusted_from_a_sibling_host(
    start_service: Callable[..., Any],
) -> None:
    service = start_service(
        SPITO_PUBLIC_URL="https://spito.example.com",
        SPITO_PUBLIC_HOSTS="spito.example.com,api.spito.example.com",
    )
    for origin in ("https://spito.example.com", "https://api.spito.example.com"):
        response = httpx.post(
            f"{service.url}/api/v1/links",
            json={"url": "https://example.com/"},
            headers={"Sec-Fetch-Site": "same-site", "Origin": origin},
        )
        assert response.status_code == 201, response.text
    other = httpx.post(
        f"{service.url}/api/v1/links",
        json={"url": "https://example.com/"},
        headers={"Sec-Fetch-Site": "same-site", "Origin": "https://evil.spito.example.com"},
    )
    assert_problem(other, 403)


# Clients that leave


def test_a_client_leaving_mid_body_is_logged_as_a_client_error_not_a_500(
    start_service: Callable[..., Any],
) -> None:
    service = start_service()
    port = int(service.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(
            b"POST /api/v1/pastes HTTP/1.1\r\nHost: spito.test\r\n"
            b"Content-Type: text/plain\r\nContent-Length: 5000\r\n\r\npartial"
        )
        time.sleep(0.3)
    time.sleep(0.5)
    service.stop()
    lines = [json.loads(line) for line in service.log.read_text().splitlines() if line]
    paste_lines = [line for line in lines if line.get("route") == "/api/v1/pastes"]
    assert [line["status"] for line in paste_lines] == [400]
    assert not [line for line in lines if line.get("level") == "ERROR"]
