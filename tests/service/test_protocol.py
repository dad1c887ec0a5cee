"""HTTP behaviour every route shares: problem JSON errors, content types, probes, logs."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.service.helpers import assert_problem, create_link


def test_unknown_route_answers_404_problem(http: httpx.Client) -> None:
    assert_problem(http.get("/api/v1/nothing-here"), 404)
    assert_problem(http.get("/a/b/c"), 404)


def test_trailing_slash_is_a_different_path_and_answers_404(http: httpx.Client) -> None:
    link = create_link(http)
    assert_problem(http.get(f"/{link['id']}/"), 404)
    assert_problem(http.post("/api/v1/links/", json={"url": "https://example.com/"}), 404)


def test_wrong_method_answers_405_problem_with_allow(http: httpx.Client) -> None:
    response = http.put("/api/v1/links", json={})
    assert_problem(response, 405)
    assert "POST" in response.headers["allow"]


@pytest.mark.parametrize("content_type", ["text/html", "application/x-www-form-urlencoded", ""])
def test_link_with_wrong_content_type_answers_415(http: httpx.Client, content_type: str) -> None:
    response = http.post(
        "/api/v1/links",
        content=b'{"url": "https://example.com/"}',
        headers={"Content-Type": content_type},
    )
    assert_problem(response, 415)


def test_paste_with_wrong_content_type_answers_415(http: httpx.Client) -> None:
    response = http.post("/api/v1/pastes", content=b"x", headers={"Content-Type": "image/png"})
    assert_problem(response, 415)


def test_non_utf8_charset_answers_415(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/pastes", content=b"x", headers={"Content-Type": "text/plain; charset=latin-1"}
    )
    assert_problem(response, 415)


@pytest.mark.parametrize(
    "body", [b"{", b"not json", b"[1, 2]", b'"string"', b"null", b"[" * 100_000 + b"]" * 100_000]
)
def test_malformed_json_answers_400(http: httpx.Client, body: bytes) -> None:
    response = http.post(
        "/api/v1/pastes", content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/links", {"url": 5}),
        ("/api/v1/links", {"url": ["https://example.com/"]}),
        ("/api/v1/links", {"url": "https://example.com/", "slug": 123}),
        ("/api/v1/links", {"url": "https://example.com/", "expires_in": "3600"}),
        ("/api/v1/links", {"url": "https://example.com/", "expires_in": 3600.5}),
        ("/api/v1/links", {"url": "https://example.com/", "expires_in": True}),
        ("/api/v1/links", {}),
        ("/api/v1/links", {"url": "https://example.com/", "extra": 1}),
        ("/api/v1/pastes", {"content": 42}),
        ("/api/v1/pastes", {"content": "x", "burn_after_reading": "yes"}),
        ("/api/v1/pastes", {"content": "x", "syntax": ["python"]}),
        ("/api/v1/pastes", {}),
    ],
)
def test_wrong_field_types_answer_400(http: httpx.Client, path: str, body: Any) -> None:
    assert_problem(http.post(path, json=body), 400)


def test_link_body_over_64_kib_answers_413(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/links", json={"url": "https://example.com/", "slug": "x" * 70_000}
    )
    assert_problem(response, 413)


def test_healthz_answers_200(http: httpx.Client) -> None:
    assert http.get("/healthz").status_code == 200


def test_readyz_answers_200_when_storage_answers(http: httpx.Client) -> None:
    assert http.get("/readyz").status_code == 200


def test_openapi_document_describes_every_route(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    operations = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert operations == {
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/openapi.json", "get"),
        ("/api/v1/links", "post"),
        ("/api/v1/links/{id}", "get"),
        ("/api/v1/links/{id}", "delete"),
        ("/api/v1/pastes", "post"),
        ("/api/v1/pastes/{id}", "get"),
        ("/api/v1/pastes/{id}", "delete"),
        ("/api/v1/pastes/{id}/open", "post"),
        ("/{id}", "get"),
        ("/{id}/raw", "get"),
    }


def test_responses_carry_a_request_id(http: httpx.Client) -> None:
    first = http.get("/healthz").headers["x-request-id"]
    second = http.get("/healthz").headers["x-request-id"]
    assert first
    assert second
    assert first != second


def test_public_url_setting_makes_absolute_urls(start_service: Any) -> None:
    service = start_service(SPITO_PUBLIC_URL="https://spito.example.com")
    response = httpx.post(f"{service.url}/api/v1/links", json={"url": "https://example.com/"})
    link = response.json()
    assert link["short_url"] == f"https://spito.example.com/{link['id']}"
    assert response.headers["location"] == link["short_url"]


def test_forwarded_proto_sets_the_scheme_of_absolute_urls(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/links",
        json={"url": "https://example.com/"},
        headers={"CloudFront-Forwarded-Proto": "https", "X-Forwarded-Proto": "http"},
    )
    assert response.json()["short_url"].startswith("https://")


def test_malformed_host_header_answers_400(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/links", json={"url": "https://example.com/"}, headers={"Host": "evil\\host"}
    )
    assert_problem(response, 400)


def _log_lines(local_stack: Any) -> list[dict[str, Any]]:
    path = local_stack.data_dir / "logs" / "service.log"
    lines = []
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "route" in entry:
            lines.append(entry)
    return lines


def test_one_json_log_line_per_request_without_client_address(
    http: httpx.Client, local_stack: Any
) -> None:
    link = create_link(http)
    response = http.get(f"/{link['id']}", headers={"X-Forwarded-For": "203.0.113.77"})
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 5
    matching: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not matching:
        time.sleep(0.2)
        matching = [e for e in _log_lines(local_stack) if e["request_id"] == request_id]
    assert len(matching) == 1
    entry = matching[0]
    assert set(entry) == {"time", "method", "route", "status", "latency_ms", "request_id"}
    assert (entry["method"], entry["route"], entry["status"]) == ("GET", "/{id}", 302)
    log_text = (local_stack.data_dir / "logs" / "service.log").read_text()
    assert "203.0.113.77" not in log_text
    assert '127.0.0.1"' not in log_text
