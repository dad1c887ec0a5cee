"""Links: create, read, follow, count clicks, delete; over HTTP against dynalite."""

from __future__ import annotations

import hashlib
import select
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from service.ids import ID_ALPHABET, ID_LENGTH
from service.validation import ID_PATTERN, RESERVED_SLUGS
from tests.service.helpers import assert_problem, create_link

NO_STORE = "private, no-store, max-age=0"


def test_create_link_answers_201_with_location_and_every_field(
    http: httpx.Client, base_url: str
) -> None:
    response = http.post("/api/v1/links", json={"url": "https://example.com/a?b=c#d"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "short_url", "url", "created_at", "expires_at", "delete_token"}
    assert body["short_url"] == f"{base_url}/{body['id']}"
    assert response.headers["location"] == body["short_url"]
    assert body["url"] == "https://example.com/a?b=c#d"
    assert body["expires_at"] > body["created_at"] >= time.time() - 60


def test_generated_ids_are_random_from_the_look_alike_free_alphabet(http: httpx.Client) -> None:
    ids = {create_link(http)["id"] for _ in range(5)}
    assert len(ids) == 5
    for link_id in ids:
        assert len(link_id) == ID_LENGTH >= 7
        assert set(link_id) <= set(ID_ALPHABET)
        assert not set(link_id) & set("0Oo1lI")


def test_the_id_alphabet_has_no_look_alikes() -> None:
    assert not set(ID_ALPHABET) & set("0Oo1lI")
    assert len(set(ID_ALPHABET)) == len(ID_ALPHABET)


def test_no_reserved_word_can_be_a_generated_id() -> None:
    # Why creation never skips a generated id: none can spell a reserved word.
    possible = {c.lower() for c in ID_ALPHABET}
    assert not [word for word in RESERVED_SLUGS if len(word) == ID_LENGTH and set(word) <= possible]


def test_link_metadata_has_url_dates_and_clicks(http: httpx.Client) -> None:
    link = create_link(http, "https://example.com/meta")
    response = http.get(f"/api/v1/links/{link['id']}")
    assert response.status_code == 200
    assert response.json() == {
        "id": link["id"],
        "url": "https://example.com/meta",
        "created_at": link["created_at"],
        "expires_at": link["expires_at"],
        "clicks": 0,
        "bot_fetches": 0,
        "clicks_by_day": [],
    }


def test_following_a_link_redirects_302_without_browser_caching(http: httpx.Client) -> None:
    link = create_link(http, "https://example.com/target")
    response = http.get(f"/{link['id']}")
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/target"
    assert response.headers["cache-control"] == NO_STORE


def test_cached_redirect_answers_the_same_as_the_first(http: httpx.Client) -> None:
    link = create_link(http, "https://example.com/cached")
    first = http.get(f"/{link['id']}")
    second = http.get(f"/{link['id']}")
    assert second.status_code == first.status_code == 302
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["cache-control"] == NO_STORE


def _clicks(http: httpx.Client, link_id: str) -> int:
    return int(http.get(f"/api/v1/links/{link_id}").json()["clicks"])


def _eventually(check: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def test_every_redirect_counts_one_click(http: httpx.Client) -> None:
    link = create_link(http)
    for _ in range(5):
        assert http.get(f"/{link['id']}").status_code == 302
    assert _eventually(lambda: _clicks(http, link["id"]) == 5)


def test_reading_metadata_never_counts_a_click(http: httpx.Client) -> None:
    link = create_link(http)
    http.get(f"/{link['id']}")
    assert _eventually(lambda: _clicks(http, link["id"]) == 1)
    for _ in range(3):
        http.get(f"/api/v1/links/{link['id']}")
    time.sleep(1.5)  # more than one click flush interval
    assert _clicks(http, link["id"]) == 1


def test_head_request_redirects_counting_a_bot_fetch_not_a_click(http: httpx.Client) -> None:
    link = create_link(http)
    response = http.head(f"/{link['id']}")
    assert response.status_code == 302
    assert response.headers["location"] == link["url"]
    metadata = f"/api/v1/links/{link['id']}"
    assert _eventually(lambda: http.get(metadata).json()["bot_fetches"] == 1)
    assert _clicks(http, link["id"]) == 0


def test_custom_slug_becomes_the_id(http: httpx.Client, base_url: str) -> None:
    link = create_link(http, slug="my-Slug_01")
    assert link["id"] == "my-Slug_01"
    assert link["short_url"] == f"{base_url}/my-Slug_01"


def test_taken_slug_answers_409_and_keeps_the_original(http: httpx.Client) -> None:
    create_link(http, "https://example.com/first", slug="taken-slug")
    response = http.post(
        "/api/v1/links", json={"url": "https://example.com/second", "slug": "taken-slug"}
    )
    assert_problem(response, 409)
    assert http.get("/taken-slug").headers["location"] == "https://example.com/first"


def test_slug_cannot_take_a_paste_id(http: httpx.Client) -> None:
    paste = http.post("/api/v1/pastes", json={"content": "x"}).json()
    response = http.post("/api/v1/links", json={"url": "https://example.com/", "slug": paste["id"]})
    assert_problem(response, 409)


@pytest.mark.parametrize("slug", [*sorted(RESERVED_SLUGS), "API", "Healthz"])
def test_reserved_slugs_answer_400(http: httpx.Client, slug: str) -> None:
    response = http.post("/api/v1/links", json={"url": "https://example.com/", "slug": slug})
    assert "reserved" in assert_problem(response, 400)["detail"]


def test_reserved_words_are_all_well_formed_slugs() -> None:
    # A word the pattern refuses anyway would be dead weight in the list.
    assert all(ID_PATTERN.fullmatch(word) for word in RESERVED_SLUGS)


@pytest.mark.parametrize(
    "path",
    [
        "p",
        "openapi.json",
        "index.html",
        "favicon.ico",
        "robots.txt",
        ".well-known",
        "manifest.json",
        "sitemap.xml",
    ],
)
def test_paths_the_slug_pattern_refuses_can_never_be_slugs(http: httpx.Client, path: str) -> None:
    response = http.post("/api/v1/links", json={"url": "https://example.com/", "slug": path})
    assert "3-64 characters" in assert_problem(response, 400)["detail"]


@pytest.mark.parametrize("slug", ["ab", "a" * 65, "has space", "dot.ted", "slash/es", "ümlaut", ""])
def test_malformed_slugs_answer_400(http: httpx.Client, slug: str) -> None:
    response = http.post("/api/v1/links", json={"url": "https://example.com/", "slug": slug})
    assert_problem(response, 400)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://example.com/",
        "http://",
        "https:///path-only",
        "//example.com/no-scheme",
        "example.com",
        "http://user:secret@example.com/",
        "http://user@example.com/",
        "http://exa mple.com/",
        "http://example.com/a b",
        "http://example.com/\ttab",
        "http://example.com/\x00nul",
        "http://example.com/\x7fdel",
        "http://example.com:99999/",
        "http://example.com:0/",
        "https://example.com:00/",
        "https://example.com/" + "a" * 2048,
        "",
    ],
)
def test_unacceptable_urls_answer_400(http: httpx.Client, url: str) -> None:
    assert_problem(http.post("/api/v1/links", json={"url": url}), 400)


def test_url_of_exactly_2048_characters_is_accepted(http: httpx.Client) -> None:
    url = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    assert create_link(http, url)["url"] == url


def test_scheme_is_case_insensitive_and_stored_lower_case(http: httpx.Client) -> None:
    assert create_link(http, "HTTPS://Example.COM/Path")["url"] == "https://example.com/Path"


def test_international_domain_is_stored_as_punycode(http: httpx.Client) -> None:
    link = create_link(http, "https://bücher.example/straße")
    assert link["url"] == "https://xn--bcher-kva.example/stra%C3%9Fe"
    assert http.get(f"/{link['id']}").headers["location"] == link["url"]


def test_link_to_the_requests_own_host_answers_400(http: httpx.Client, base_url: str) -> None:
    response = http.post("/api/v1/links", json={"url": f"{base_url}/loop"})
    assert "Spito itself" in assert_problem(response, 400)["detail"]


def test_link_to_the_public_url_host_answers_400(start_service: Callable[..., Any]) -> None:
    service = start_service(SPITO_PUBLIC_URL="https://spito.example.com")
    for url in ("https://spito.example.com/x", "http://SPITO.example.com:8443/y"):
        response = httpx.post(f"{service.url}/api/v1/links", json={"url": url})
        assert "Spito itself" in assert_problem(response, 400)["detail"]
    other = httpx.post(f"{service.url}/api/v1/links", json={"url": "https://example.com/"})
    assert other.status_code == 201


def test_links_to_configured_public_hosts_answer_400(
    start_service: Callable[..., Any],
) -> None:
    service = start_service(SPITO_PUBLIC_HOSTS="spito.example.com,d111.cloudfront.net")
    for url in ("https://spito.example.com/x", "http://D111.cloudfront.net./y"):
        response = httpx.post(f"{service.url}/api/v1/links", json={"url": url})
        assert_problem(response, 400)


def _non_loopback_address() -> str:
    """This machine's address on its default route (no packet is sent to find it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: connecting a UDP socket only routes
        return str(probe.getsockname()[0])


def test_target_is_never_fetched(http: httpx.Client) -> None:
    # Loopback targets are refused, so the target listens on the machine's other address.
    address = _non_loopback_address()
    if address.startswith("127."):
        pytest.skip("this machine has no address but loopback")
    with socket.socket() as target:
        target.bind((address, 0))
        target.listen()
        url = f"http://{address}:{target.getsockname()[1]}/never-fetched"
        response = http.post("/api/v1/links", json={"url": url})
        assert response.status_code == 201, response.text
        link_id = response.json()["id"]
        for _ in range(2):  # the first from storage, the second from the redirect cache
            followed = http.get(f"/{link_id}")
            assert (followed.status_code, followed.headers["location"]) == (302, url)
        assert http.get(f"/api/v1/links/{link_id}").status_code == 200
        # A connection attempt would wait in the listen backlog and make the socket readable.
        readable, _, _ = select.select([target], [], [], 1.0)
        assert readable == []


def test_delete_token_is_stored_only_as_its_sha256(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str
) -> None:
    link = create_link(http)
    item = aws_client("dynamodb").get_item(TableName=spito_table, Key={"id": {"S": link["id"]}})
    stored = str(item["Item"])
    assert link["delete_token"] not in stored
    assert hashlib.sha256(link["delete_token"].encode()).hexdigest() in stored


def test_delete_tokens_are_32_random_bytes(http: httpx.Client) -> None:
    tokens = {create_link(http)["delete_token"] for _ in range(3)}
    assert len(tokens) == 3
    assert all(len(t) == 43 for t in tokens)  # 32 bytes, URL-safe base64 without padding


def test_delete_without_token_answers_403(http: httpx.Client) -> None:
    link = create_link(http)
    assert_problem(http.delete(f"/api/v1/links/{link['id']}"), 403)
    assert http.get(f"/{link['id']}").status_code == 302


def test_delete_with_wrong_token_answers_403(http: httpx.Client) -> None:
    link = create_link(http)
    response = http.delete(f"/api/v1/links/{link['id']}", headers={"X-Delete-Token": "wrong"})
    assert_problem(response, 403)
    assert http.get(f"/{link['id']}").status_code == 302


def test_delete_with_token_answers_204_and_the_link_is_gone_everywhere(
    http: httpx.Client,
) -> None:
    link = create_link(http)
    http.get(f"/{link['id']}")  # now in the redirect cache
    token = {"X-Delete-Token": link["delete_token"]}
    assert http.delete(f"/api/v1/links/{link['id']}", headers=token).status_code == 204
    assert_problem(http.get(f"/{link['id']}"), 404)
    assert_problem(http.get(f"/api/v1/links/{link['id']}"), 404)
    assert_problem(http.delete(f"/api/v1/links/{link['id']}", headers=token), 404)


def test_delete_of_unknown_id_answers_404(http: httpx.Client) -> None:
    response = http.delete("/api/v1/links/nosuchlink", headers={"X-Delete-Token": "x"})
    assert_problem(response, 404)


def test_link_expiry_defaults_to_one_year(http: httpx.Client) -> None:
    link = create_link(http)
    assert link["expires_at"] == link["created_at"] + 365 * 86400


def test_expiry_limits_and_defaults_come_from_the_settings(
    start_service: Callable[..., Any],
) -> None:
    service = start_service(
        SPITO_EXPIRES_MIN_SECONDS="10",
        SPITO_EXPIRES_MAX_SECONDS="1000",
        SPITO_LINK_EXPIRES_DEFAULT_SECONDS="500",
        SPITO_PASTE_EXPIRES_DEFAULT_SECONDS="100",
    )
    links, pastes = f"{service.url}/api/v1/links", f"{service.url}/api/v1/pastes"
    link = httpx.post(links, json={"url": "https://example.com/"}).json()
    assert link["expires_at"] == link["created_at"] + 500
    paste = httpx.post(pastes, json={"content": "x"}).json()
    assert paste["expires_at"] == paste["created_at"] + 100
    for expires_in in (10, 1000):
        created = httpx.post(links, json={"url": "https://example.com/", "expires_in": expires_in})
        assert created.json()["expires_at"] == created.json()["created_at"] + expires_in
    for expires_in in (9, 1001):
        for url, body in ((links, {"url": "https://example.com/"}), (pastes, {"content": "x"})):
            response = httpx.post(url, json={**body, "expires_in": expires_in})
            assert assert_problem(response, 400)["field"] == "expires_in"


def test_expires_in_sets_expires_at(http: httpx.Client) -> None:
    link = create_link(http, expires_in=3600)
    assert link["expires_at"] == link["created_at"] + 3600


@pytest.mark.parametrize("expires_in", [59, 365 * 86400 + 1, -5])
def test_expires_in_outside_the_limits_answers_400(http: httpx.Client, expires_in: int) -> None:
    response = http.post(
        "/api/v1/links", json={"url": "https://example.com/", "expires_in": expires_in}
    )
    assert_problem(response, 400)


def test_never_expiring_is_refused_unless_configured(http: httpx.Client) -> None:
    response = http.post("/api/v1/links", json={"url": "https://example.com/", "expires_in": 0})
    assert_problem(response, 400)


def test_never_expiring_is_allowed_when_configured(start_service: Callable[..., Any]) -> None:
    service = start_service(SPITO_ALLOW_NEVER_EXPIRE="true")
    response = httpx.post(
        f"{service.url}/api/v1/links", json={"url": "https://example.com/", "expires_in": 0}
    )
    assert response.status_code == 201
    assert response.json()["expires_at"] is None


def _put_link(aws_client: Callable[[str], Any], table: str, link_id: str, **overrides: Any) -> None:
    item = {
        "id": {"S": link_id},
        "kind": {"S": "link"},
        "url": {"S": "https://example.com/"},
        "clicks": {"N": "0"},
        "created_at": {"N": str(int(time.time()) - 100)},
        "expires_at": {"N": str(int(time.time()) + 3600)},
        "delete_token_hash": {"S": hashlib.sha256(b"token").hexdigest()},
        **overrides,
    }
    aws_client("dynamodb").put_item(TableName=table, Item=item)


def test_expired_link_answers_404_before_ttl_deletion(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str
) -> None:
    # DynamoDB deletes expired items up to two days late: the item is still there.
    _put_link(aws_client, spito_table, "expired-link", expires_at={"N": str(int(time.time()) - 1)})
    assert_problem(http.get("/expired-link"), 404)
    assert_problem(http.get("/api/v1/links/expired-link"), 404)
    assert_problem(
        http.delete("/api/v1/links/expired-link", headers={"X-Delete-Token": "token"}), 404
    )


def test_scheme_is_checked_again_at_redirect_time(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str
) -> None:
    _put_link(aws_client, spito_table, "stored-js", url={"S": "javascript:alert(1)"})
    response = http.get("/stored-js")
    assert_problem(response, 404)
    assert "location" not in response.headers


def test_link_ids_are_not_pastes(http: httpx.Client) -> None:
    link = create_link(http)
    assert_problem(http.get(f"/api/v1/pastes/{link['id']}"), 404)
    assert_problem(http.get(f"/{link['id']}/raw"), 404)
    assert_problem(
        http.delete(
            f"/api/v1/pastes/{link['id']}", headers={"X-Delete-Token": link["delete_token"]}
        ),
        404,
    )


def test_unknown_id_answers_404_on_every_route(http: httpx.Client) -> None:
    for response in (
        http.get("/unknownid"),
        http.get("/unknownid/raw"),
        http.get("/api/v1/links/unknownid"),
        http.get("/api/v1/pastes/unknownid"),
        http.post("/api/v1/pastes/unknownid/open"),
    ):
        assert_problem(response, 404)
