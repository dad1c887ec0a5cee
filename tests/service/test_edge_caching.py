"""What the service tells caches, over real HTTP: no answer of the API may be kept by CloudFront.

The API behaviours' cache policy lets CloudFront cache what the origin marks cacheable (it must,
to put Accept-Encoding in the cache key and compress, infra/distribution.py). Every answer of the
service is per request (click counts, burn after reading, delete tokens, HTML or JSON by Accept),
so each one says `no-store`, whether or not its handler set a Cache-Control of its own.
"""

from __future__ import annotations

import httpx
import pytest

from tests.service.helpers import create_link, create_paste


def _no_store(response: httpx.Response) -> bool:
    directives = {d.strip().lower() for d in response.headers.get("cache-control", "").split(",")}
    return "no-store" in directives


def test_every_answer_of_the_api_says_no_store(http: httpx.Client) -> None:
    link = create_link(http)
    paste = create_paste(http, "x" * 4096)
    burn = create_paste(http, "once", burn_after_reading=True)
    token = {"X-Delete-Token": link["delete_token"]}
    answers = {
        "openapi": http.get("/openapi.json", headers={"Accept-Encoding": "gzip"}),
        "healthz": http.get("/healthz"),
        "link created": http.post("/api/v1/links", json={"url": "https://example.org/"}),
        "link stats": http.get(f"/api/v1/links/{link['id']}", headers=token),
        "redirect": http.get(f"/{link['id']}"),
        "redirect again (cached)": http.get(f"/{link['id']}"),
        "paste": http.get(f"/api/v1/pastes/{paste['id']}"),
        "raw paste": http.get(f"/{paste['id']}/raw"),
        "burn open": http.post(f"/api/v1/pastes/{burn['id']}/open"),
        "missing link": http.get("/api/v1/links/nope-nope-nope"),
        "missing short link (browser)": http.get(
            "/nope-nope-nope", headers={"Accept": "text/html"}
        ),
        "wrong method": http.put("/api/v1/links"),
        "bad body": http.post(
            "/api/v1/links", content=b"{", headers={"Content-Type": "application/json"}
        ),
        "deleted": http.delete(f"/api/v1/links/{link['id']}", headers=token),
    }
    cacheable = {
        name: r.headers.get("cache-control") for name, r in answers.items() if not _no_store(r)
    }
    assert cacheable == {}


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_a_404_says_no_store_whatever_representation(http: httpx.Client, accept: str) -> None:
    response = http.get("/no-such-link-here", headers={"Accept": accept})
    assert response.status_code == 404
    assert _no_store(response)
