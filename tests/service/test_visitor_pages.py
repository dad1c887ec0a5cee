"""A browser that meets an error on a public route gets a page; a program gets problem JSON as
before, byte for byte. Over real HTTP against the local stack (dynalite, s3rver)."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable

import httpx
import pytest

from devstack.stack import LocalStack, ServiceProcess
from service.visitor_pages import prefers_html
from tests.service.helpers import create_link, create_paste

# Chromium's Accept header when it navigates to a page.
BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
# The problem JSON the service answered for a missing link or paste before pages existed.
NOT_FOUND_JSON = (
    b'{"type":"urn:spito:problem:not-found","title":"Not Found","status":404,'
    b'"detail":"No such resource, or it has expired or been deleted."}'
)
NO_SUCH_ROUTE_JSON = (
    b'{"type":"urn:spito:problem:not-found","title":"Not Found","status":404,'
    b'"detail":"No such route."}'
)
STORAGE_DOWN_JSON = (
    b'{"type":"urn:spito:problem:storage-unavailable","title":"Service Unavailable",'
    b'"status":503,"detail":"Storage is unavailable; retry shortly."}'
)
PROGRAM_ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/problem+json",
    "application/json, text/html;q=0.9",
    "text/html;q=0, */*",
    "text/*;q=0.1, */*",
    "not a media type",
]


def _get(base_url: str, path: str, accept: str | None) -> httpx.Response:
    # httpx would send its own "Accept: */*"; None here means no Accept header at all.
    headers = {} if accept is None else {"Accept": accept}
    with httpx.Client(base_url=base_url, timeout=10) as client:
        request = client.build_request("GET", path, headers=headers)
        if accept is None:
            del request.headers["Accept"]
        return client.send(request)


def _assert_page(response: httpx.Response, status: int, *texts: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["vary"] == "Accept"
    assert response.headers["x-robots-tag"] == "noindex"
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    for forbidden in ("<script", "<style", "style="):  # the web app's CSP allows neither inline
        assert forbidden not in page
    assert '<a href="/">Go to Spito\'s home page</a>' in page
    assert '<link rel="stylesheet" href="/errors/error.css">' in page
    assert '<meta name="robots" content="noindex">' in page
    for text in texts:
        assert text in page, page
    return page


def _expired(start_service: Callable[..., ServiceProcess]) -> tuple[ServiceProcess, dict[str, str]]:
    """A service allowing 1 s expiries, with a link and a paste made on it that have expired."""
    service = start_service(SPITO_EXPIRES_MIN_SECONDS="1")
    with httpx.Client(base_url=service.url, timeout=10) as client:
        link = create_link(client, expires_in=1)
        paste = create_paste(client, expires_in=1)
    time.sleep(max(link["expires_at"], paste["expires_at"]) - time.time() + 1.1)
    return service, {"link": link["id"], "paste": paste["id"], "expires_at": link["expires_at"]}


# Programs: today's problem JSON, byte for byte


@pytest.mark.parametrize("accept", PROGRAM_ACCEPTS)
@pytest.mark.parametrize("path", ["/nosuchlink", "/nosuchlink/raw"])
def test_programs_get_the_unchanged_not_found_problem(
    base_url: str, path: str, accept: str | None
) -> None:
    response = _get(base_url, path, accept)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.content == NOT_FOUND_JSON


def test_curl_gets_the_unchanged_problem_json(base_url: str) -> None:
    result = subprocess.run(
        ["curl", "-sS", "-D", "-", f"{base_url}/nosuchlink"],
        capture_output=True,
        check=True,
        timeout=30,
    )
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 ")
    assert b"content-type: application/problem+json" in head.lower()
    assert body == NOT_FOUND_JSON


def test_programs_get_the_unchanged_problem_for_an_unknown_route(base_url: str) -> None:
    response = _get(base_url, "/a/b/c", "*/*")
    assert response.status_code == 404
    assert response.content == NO_SUCH_ROUTE_JSON


def test_api_routes_answer_problem_json_even_to_a_browser(base_url: str) -> None:
    response = _get(base_url, "/api/v1/links/nosuchlink", BROWSER_ACCEPT)
    assert response.status_code == 404
    assert response.content == NOT_FOUND_JSON
    assert "vary" not in response.headers


def test_programs_get_not_found_for_an_expired_link_and_paste(
    start_service: Callable[..., ServiceProcess],
) -> None:
    service, expired = _expired(start_service)
    for path in (f"/{expired['link']}", f"/{expired['paste']}/raw"):
        response = _get(service.url, path, "*/*")
        assert response.status_code == 404
        assert response.content == NOT_FOUND_JSON
        assert response.headers["vary"] == "Accept"


# Browsers: a page


def test_browser_gets_a_not_found_page_for_an_unknown_short_link(base_url: str) -> None:
    response = _get(base_url, "/nosuchlink", BROWSER_ACCEPT)
    _assert_page(response, 404, "There is no link or paste here", "expired or was deleted")


def test_browser_gets_a_not_found_page_for_an_unknown_raw_paste(base_url: str) -> None:
    response = _get(base_url, "/nosuchpaste/raw", BROWSER_ACCEPT)
    _assert_page(response, 404, "There is no paste here")


def test_browser_gets_a_page_for_an_unknown_route(base_url: str) -> None:
    response = _get(base_url, "/a/b/c", BROWSER_ACCEPT)
    _assert_page(response, 404, "Nothing here")


def test_browser_gets_a_not_found_page_for_a_deleted_link(http: httpx.Client) -> None:
    link = create_link(http)
    deleted = http.delete(
        f"/api/v1/links/{link['id']}", headers={"X-Delete-Token": link["delete_token"]}
    )
    assert deleted.status_code == 204
    response = http.get(f"/{link['id']}", headers={"Accept": BROWSER_ACCEPT})
    _assert_page(response, 404, "There is no link or paste here")


def test_browser_gets_a_gone_page_saying_when_an_expired_link_and_paste_expired(
    start_service: Callable[..., ServiceProcess],
) -> None:
    service, expired = _expired(start_service)
    day = time.strftime("%d %B %Y", time.gmtime(int(expired["expires_at"]))).lstrip("0")
    link_page = _assert_page(
        _get(service.url, f"/{expired['link']}", BROWSER_ACCEPT), 410, "This link has expired"
    )
    assert f"expired on {day} at " in link_page
    assert re.search(r"at \d\d:\d\d UTC", link_page)
    _assert_page(
        _get(service.url, f"/{expired['paste']}", BROWSER_ACCEPT), 410, "This paste has expired"
    )
    _assert_page(
        _get(service.url, f"/{expired['paste']}/raw", BROWSER_ACCEPT),
        410,
        "This paste has expired",
    )


def test_browser_opening_a_burn_after_reading_paste_raw_is_sent_to_its_page(
    http: httpx.Client,
) -> None:
    paste = create_paste(http, "once only", burn_after_reading=True)
    response = http.get(f"/{paste['id']}/raw", headers={"Accept": BROWSER_ACCEPT})
    page = _assert_page(response, 409, "This paste is read on its page", f"/p/{paste['id']}")
    assert "once only" not in page


def test_browser_gets_a_storage_unavailable_page_and_programs_the_problem(
    http: httpx.Client, local_stack: LocalStack
) -> None:
    with local_stack.storage.outage():
        page = http.get("/nosuchlink", headers={"Accept": BROWSER_ACCEPT})
        program = http.get("/nosuchlink", headers={"Accept": "*/*"})
    _assert_page(page, 503, "Spito is briefly unavailable", "Nothing is lost")
    assert page.headers["retry-after"] == "1"
    assert program.status_code == 503
    assert program.content == STORAGE_DOWN_JSON
    assert program.headers["retry-after"] == "1"


def test_a_live_link_still_redirects_a_browser(http: httpx.Client) -> None:
    link = create_link(http, "https://example.com/live")
    response = http.get(f"/{link['id']}", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/live"


# The negotiation itself


@pytest.mark.parametrize(
    "accept",
    [
        BROWSER_ACCEPT,
        "text/html",
        "text/*",
        "text/html;q=0.5, application/json;q=0.4",
        "application/json;q=0.5, text/html",
        "TEXT/HTML",
    ],
)
def test_clients_preferring_html_get_a_page(accept: str) -> None:
    assert prefers_html(accept)


@pytest.mark.parametrize("accept", [*PROGRAM_ACCEPTS, "", "text/html;q=0", "image/*, */*;q=0"])
def test_clients_not_preferring_html_get_problem_json(accept: str | None) -> None:
    assert not prefers_html(accept)
