"""The service compresses what is worth it for clients that accept gzip, over real HTTP.

CloudFront does not compress API answers (CachingDisabled), so the service does: JSON documents
and pastes above a small threshold, with Vary: Accept-Encoding, and never a redirect.
"""

from __future__ import annotations

import gzip
import json

import httpx

from service.compression import MINIMUM_BYTES
from tests.service.helpers import create_link, create_paste

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


def _raw(http: httpx.Client, path: str, headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent (httpx would otherwise decode it)."""
    with http.stream("GET", path, headers=headers) as response:
        return response, b"".join(response.iter_raw())


def test_openapi_document_is_gzipped_for_a_client_that_accepts_gzip(http: httpx.Client) -> None:
    response, body = _raw(http, "/openapi.json", GZIP)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers["vary"].lower()
    document = json.loads(gzip.decompress(body))
    assert document["openapi"]
    assert len(body) < len(gzip.decompress(body)) / 2


def test_a_client_that_does_not_accept_gzip_gets_the_plain_body(http: httpx.Client) -> None:
    response, body = _raw(http, "/openapi.json", IDENTITY)
    assert "content-encoding" not in response.headers
    assert json.loads(body)["openapi"]


def test_a_large_paste_stored_in_the_blob_bucket_travels_gzipped(http: httpx.Client) -> None:
    content = "".join(f"line {n}: the quick brown fox\n" for n in range(8000))  # ~250 KB
    paste = create_paste(http, content)
    response, body = _raw(http, f"/{paste['id']}/raw", GZIP)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body).decode() == content
    assert len(body) < len(content) / 4


def test_small_answers_are_sent_as_they_are(http: httpx.Client) -> None:
    response, body = _raw(http, "/healthz", GZIP)
    assert len(body) < MINIMUM_BYTES
    assert "content-encoding" not in response.headers


def test_short_link_redirects_are_never_compressed_cached_or_not(http: httpx.Client) -> None:
    link = create_link(http, "https://example.com/" + "a" * 1500)
    for _ in range(2):  # the first is routed, the second answered from the redirect cache
        response, body = _raw(http, f"/{link['id']}", GZIP)
        assert response.status_code == 302
        assert "content-encoding" not in response.headers
        assert body == b""
