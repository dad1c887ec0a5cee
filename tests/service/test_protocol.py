"""HTTP behaviour every route shares: problem JSON errors, content types, probes, logs."""

from __future__ import annotations

import json
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from service import aws
from service.api import Api
from service.blobs import Blobs
from service.blocklist import Blocklist
from service.clicks import ClickCounter
from service.core import Spito
from service.hot_cache import RedirectCache
from service.moderation import Moderation
from service.ratelimit import RateLimiter
from service.reports_api import ReportsApi
from service.settings import Settings
from service.table import Table
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


@pytest.mark.parametrize("charset", ["latin-1", "utf-16", "windows-1252"])
def test_non_utf8_charset_answers_415_saying_how_to_fix_it(
    http: httpx.Client, charset: str
) -> None:
    response = http.post(
        "/api/v1/pastes",
        content=b"x",
        headers={"Content-Type": f"text/plain; charset={charset}"},
    )
    detail = assert_problem(response, 415)["detail"]
    assert charset in detail
    assert "charset=utf-8" in detail


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain; charset=us-ascii",
        "text/plain; charset=US-ASCII",
        "text/plain; charset=ascii",
        'text/plain; charset="utf-8"',
        "text/plain; format=flowed; charset=utf-8",
        "text/plain;charset=UTF8",
    ],
)
def test_ascii_and_utf8_charsets_are_accepted(http: httpx.Client, content_type: str) -> None:
    response = http.post(
        "/api/v1/pastes", content=b"plain ascii\n", headers={"Content-Type": content_type}
    )
    assert response.status_code == 201, response.text


def test_json_in_us_ascii_is_accepted(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/links",
        content=b'{"url": "https://example.com/ascii"}',
        headers={"Content-Type": "application/json; charset=us-ascii"},
    )
    assert response.status_code == 201, response.text


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


def _routed_operations() -> set[tuple[str, str]]:
    """(path, method) of every route the app serves, from its own route table."""
    settings = Settings.from_env({"SPITO_TABLE": "t", "SPITO_BUCKET": "b"})
    api_spito = Spito(
        settings,
        Table(aws.dynamodb_client(settings), settings.table),
        Blobs(aws.s3_client(settings), settings.bucket),
    )
    api = Api(
        settings=settings,
        spito=api_spito,
        cache=RedirectCache(ttl_seconds=1, max_entries=1),
        clicks=ClickCounter(lambda counts: None, is_bot=lambda agent: False, retention_days=1),
        limiter=RateLimiter(per_minute=1, burst=1),
        blocklist=Blocklist(Moderation(aws.dynamodb_client(settings), "t"), on_change=print),
    )
    reports = ReportsApi(
        settings=settings,
        spito=api_spito,
        moderation=Moderation(aws.dynamodb_client(settings), settings.table),
        cache=RedirectCache(ttl_seconds=1, max_entries=1),
        limiter=RateLimiter(per_minute=1, burst=1),
    )
    return {
        (route.path, method.lower())
        for route in [*api.routes(), *reports.routes()]
        # Starlette answers HEAD wherever it answers GET; the document describes the GET.
        for method in route.methods or ()
        if method != "HEAD"
    }


def test_openapi_document_describes_every_route(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    operations = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    routed = _routed_operations()
    assert len(routed) >= 12
    assert operations == routed


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


@pytest.mark.parametrize(
    "host",
    ["evil\\host", "[1.2.3.4]", "[:::]", "[::1", "[]", "example.com:99999", "a b", ""],
)
def test_malformed_host_header_answers_400(http: httpx.Client, host: str) -> None:
    response = http.post(
        "/api/v1/links", json={"url": "https://example.com/"}, headers={"Host": host}
    )
    assert_problem(response, 400)


def test_ipv6_host_header_is_accepted(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/links", json={"url": "https://example.com/"}, headers={"Host": "[::1]:8080"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["short_url"].startswith("http://[::1]:8080/")


def test_link_to_the_requests_own_ipv6_host_answers_400(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/links", json={"url": "http://[0::1]:9/loop"}, headers={"Host": "[::1]"}
    )
    assert "Spito itself" in assert_problem(response, 400)["detail"]


def _items_with_content(aws_client: Callable[[str], Any], table: str, content: str) -> list[Any]:
    pages = (
        aws_client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=table,
            FilterExpression="content = :content",
            ExpressionAttributeValues={":content": {"S": content}},
        )
    )
    return [item for page in pages for item in page["Items"]]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_paste_with_a_bad_host_answers_400_and_stores_nothing(
    http: httpx.Client,
    aws_client: Callable[[str], Any],
    spito_table: str,
    content_type: str,
) -> None:
    content = f"bad host {secrets.token_hex(8)}"
    body = json.dumps({"content": content}) if content_type == "application/json" else content
    response = http.post(
        "/api/v1/pastes",
        content=body.encode(),
        headers={"Content-Type": content_type, "Host": "bad\\host"},
    )
    assert_problem(response, 400)
    assert _items_with_content(aws_client, spito_table, content) == []


def test_http_1_0_paste_without_host_answers_400_and_stores_nothing(
    base_url: str, aws_client: Callable[[str], Any], spito_table: str
) -> None:
    content = f"no host {secrets.token_hex(8)}".encode()
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v1/pastes HTTP/1.0\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(content), content)
        )
        answer = _read_all(connection)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"application/problem+json" in answer
    assert _items_with_content(aws_client, spito_table, content.decode()) == []


def _read_all(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        b"FROB /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /api/v1/links HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /api/v1/links HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
        b"Content-Length: 2\r\n\r\nxy",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
    ],
    ids=["garbage", "http-9.9", "unknown-method", "bad-length", "two-lengths", "bad-header"],
)
def test_requests_the_http_parser_rejects_answer_400_problem_and_the_server_lives(
    base_url: str, http: httpx.Client, request_bytes: bytes
) -> None:
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(request_bytes)
        answer = _read_all(connection)  # the server closes the connection after answering
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(body)
    assert problem["status"] == 400
    assert problem["type"] == "urn:spito:problem:malformed-request"
    assert http.get("/healthz").status_code == 200


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


# The `field` extension member: which request field a problem concerns

OK_URL = "https://example.com/"


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/api/v1/links", {}, 400, "url"),
        ("/api/v1/links", {"url": 5}, 400, "url"),
        ("/api/v1/links", {"url": "javascript:alert(1)"}, 400, "url"),
        ("/api/v1/links", {"url": "https://example.com:0/"}, 400, "url"),
        ("/api/v1/links", {"url": OK_URL, "slug": "ab"}, 400, "slug"),
        ("/api/v1/links", {"url": OK_URL, "slug": "healthz"}, 400, "slug"),
        ("/api/v1/links", {"url": OK_URL, "slug": 7}, 400, "slug"),
        ("/api/v1/links", {"url": OK_URL, "expires_in": 5}, 400, "expires_in"),
        ("/api/v1/links", {"url": OK_URL, "expires_in": 0}, 400, "expires_in"),
        ("/api/v1/links", {"url": OK_URL, "expires_in": "60"}, 400, "expires_in"),
        ("/api/v1/pastes", {}, 400, "content"),
        ("/api/v1/pastes", {"content": ""}, 400, "content"),
        ("/api/v1/pastes", {"content": ["x"]}, 400, "content"),
        ("/api/v1/pastes", {"content": "x", "syntax": "cobol"}, 400, "syntax"),
        ("/api/v1/pastes", {"content": "x", "syntax": 1}, 400, "syntax"),
        ("/api/v1/pastes", {"content": "x", "expires_in": 10}, 400, "expires_in"),
        ("/api/v1/pastes", {"content": "x", "burn_after_reading": 1}, 400, "burn_after_reading"),
        ("/api/v1/pastes", {"content": "x" * (10 * 1024 * 1024 + 1)}, 413, "content"),
    ],
)
def test_a_problem_about_one_field_names_it(
    http: httpx.Client, path: str, body: dict[str, Any], status: int, field: str
) -> None:
    problem = assert_problem(http.post(path, json=body), status)
    assert problem["field"] == field
    assert problem["detail"].startswith(f"{field} ")


@pytest.mark.parametrize(("content", "field"), [(b"", "content"), (b"\xff not utf-8", "content")])
def test_a_plain_text_paste_problem_names_the_content(
    http: httpx.Client, content: bytes, field: str
) -> None:
    response = http.post("/api/v1/pastes", content=content, headers={"Content-Type": "text/plain"})
    assert assert_problem(response, 400)["field"] == field


def test_a_lone_surrogate_in_the_url_names_the_url(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/links",
        content=b'{"url": "https://example.com/\\udc80"}',
        headers={"Content-Type": "application/json"},
    )
    assert assert_problem(response, 400)["field"] == "url"


def test_a_taken_slug_names_the_slug(http: httpx.Client) -> None:
    slug = f"taken-{secrets.token_hex(4)}"
    create_link(http, slug=slug)
    response = http.post("/api/v1/links", json={"url": OK_URL, "slug": slug})
    assert assert_problem(response, 409)["field"] == "slug"


def test_problems_about_no_single_field_have_no_field_member(http: httpx.Client) -> None:
    for response in (
        http.post("/api/v1/links", content=b"{", headers={"Content-Type": "application/json"}),
        http.post("/api/v1/links", json={"url": OK_URL, "extra": 1}),
        http.post("/api/v1/links", content=b"{}", headers={"Content-Type": "text/html"}),
        http.get("/api/v1/links/nosuchlink"),
        http.get("/no/such/route"),
    ):
        problem = assert_problem(response, response.status_code)
        assert "field" not in problem


def test_openapi_problem_schema_lists_every_request_field(http: httpx.Client) -> None:
    schemas = http.get("/openapi.json").json()["components"]["schemas"]
    request_fields = {
        *schemas["NewLink"]["properties"],
        *schemas["NewPaste"]["properties"],
        *schemas["NewReport"]["properties"],
    }
    assert set(schemas["Problem"]["properties"]["field"]["enum"]) == request_fields
    assert request_fields == {
        "url",
        "slug",
        "expires_in",
        "content",
        "syntax",
        "burn_after_reading",
        "id",
        "reason",
        "details",
    }


# The catch-all


def test_unexpected_error_answers_500_problem_without_traceback_and_logs_it(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str, local_stack: Any
) -> None:
    # An item written behind the service's back without the attributes every item has: reading
    # it fails in a way no handler expects.
    item_id = f"corrupt-{secrets.token_hex(4)}"
    dynamodb = aws_client("dynamodb")
    dynamodb.put_item(TableName=spito_table, Item={"id": {"S": item_id}, "kind": {"S": "link"}})
    try:
        response = http.get(f"/api/v1/links/{item_id}")
        problem = assert_problem(response, 500)
        assert problem["type"] == "urn:spito:problem:internal-error"
        assert "Traceback" not in response.text
        assert "KeyError" not in response.text
        request_id = response.headers["x-request-id"]
        log = local_stack.data_dir / "logs" / "service.log"
        deadline = time.monotonic() + 5
        while True:
            logged_error = any(
                json.loads(line).get("message") == "unexpected error"
                for line in log.read_text().splitlines()
                if line.startswith("{") and "KeyError" in line
            )
            request_lines = [e for e in _log_lines(local_stack) if e["request_id"] == request_id]
            if logged_error and request_lines:
                break
            assert time.monotonic() < deadline, "the error or its request was not logged"
            time.sleep(0.2)
        assert [e["status"] for e in request_lines] == [500]
        assert http.get("/healthz").status_code == 200
    finally:
        dynamodb.delete_item(TableName=spito_table, Key={"id": {"S": item_id}})
