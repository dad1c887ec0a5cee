"""Link targets: strict parsing, one canonical ASCII form, no way back to Spito; over HTTP.

The cases are those a black-box probe found (issue 15): zone ids that answered 500 forever or
showed a fake destination, IPvFuture literals, loopback in every spelling browsers accept.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.service.helpers import assert_problem, create_link

# Another Host than the service's own address, so a loopback target is refused for what it
# is, not for being the request's own host.
OTHER_HOST = {"Host": "spito.test"}


def _create(http: httpx.Client, url: str) -> httpx.Response:
    return http.post("/api/v1/links", json={"url": url}, headers=OTHER_HOST)


@pytest.mark.parametrize(
    "url",
    [
        "https://[fe80::1%25\u4e2d]/",  # answered 500 on every visit
        "https://[2001:db8::1%25eth0]/",
        'https://[2001:db8::1%25<"x]/',
        "https://[2001:db8::1%25a]b]/",  # was silently cut to [...%25a]
    ],
)
def test_ipv6_zone_ids_are_refused(http: httpx.Client, url: str) -> None:
    problem = assert_problem(_create(http, url), 400)
    assert problem["field"] == "url"
    assert "zone id" in problem["detail"]


def test_ipvfuture_literals_are_refused_not_rewritten(http: httpx.Client) -> None:
    problem = assert_problem(_create(http, "http://[v1.x]/"), 400)  # was stored as http://v1.x/
    assert "IPvFuture" in problem["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "https://[::1%25\u202emoc.lapyap.www]/",  # showed "Goes to https://[::1%25/[www.paypal.com"
        "https://example.com/\u202egnp.exe",
        "https://exa\u200bmple.com/",
        "https://example.com/\u2066x\u2069",
        "https://example.com/\ue000",
    ],
)
def test_bidi_controls_and_invisible_characters_are_refused(http: httpx.Client, url: str) -> None:
    problem = assert_problem(_create(http, url), 400)
    assert "invisible" in problem["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "https://[2001:db8::1]junk/",
        "https://[2001:db8::1/",
        "https://example.com:8a/",
        "https://exa%6Dple.com/",
    ],
)
def test_anything_but_a_port_after_the_host_is_refused(http: httpx.Client, url: str) -> None:
    assert_problem(_create(http, url), 400)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.COM:443", "https://example.com/"),
        ("http://example.com:/a", "http://example.com/a"),
        ("http://[2001:DB8:0::1]:8080/p", "http://[2001:db8::1]:8080/p"),
        (
            'https://example.com/<x>?q="y"&a[]=1#`z`',
            "https://example.com/%3Cx%3E?q=%22y%22&a%5B%5D=1#%60z%60",
        ),
        ("https://example.com/a\\b", "https://example.com/a%5Cb"),
        ("https://example.com/%e2%82%ac%zz", "https://example.com/%E2%82%AC%25zz"),
        ("http://3232235777/", "http://192.168.1.1/"),
        ("http://0xc0.0xa8.1.1/", "http://192.168.1.1/"),
        ("https://\uff45xample.com/", "https://example.com/"),  # full-width e, as browsers map it
    ],
)
def test_targets_are_stored_in_one_canonical_ascii_form(
    http: httpx.Client, url: str, canonical: str
) -> None:
    response = _create(http, url)
    assert response.status_code == 201, response.text
    link = response.json()
    assert link["url"] == canonical
    assert http.get(f"/api/v1/links/{link['id']}").json()["url"] == canonical
    for _ in range(2):  # from storage, then from the redirect cache
        assert http.get(f"/{link['id']}").headers["location"] == canonical


def test_head_of_a_link_answers_an_ascii_location(http: httpx.Client) -> None:
    link = create_link(http, "https://bücher.example/straße?q=ü")
    response = http.head(f"/{link['id']}")
    assert response.status_code == 302
    location = dict(response.headers.raw)[b"location"]
    assert location == b"https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/x",
        "http://127.1:8080/x",
        "http://2130706433/x",
        "http://0x7f.0.0.1/x",
        "http://0177.0.0.1/x",
        "http://127.0.0.1./x",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[::ffff:7f00:1]/x",
        "http://0/x",
        "http://0.0.0.0/x",
        "http://[::]/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/x",
        "http://224.0.0.1/x",
        "http://255.255.255.255/x",
        "http://localhost:8080/x",
        "http://LOCALHOST./x",
        "http://spito.localhost/x",
        "http://\uff11\uff12\uff17.0.0.1/x",  # full-width digits
    ],
)
def test_loopback_unspecified_and_link_local_targets_are_refused_in_every_spelling(
    http: httpx.Client, url: str
) -> None:
    problem = assert_problem(_create(http, url), 400)
    assert problem["field"] == "url"


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/", "http://192.168.1.1/admin", "http://[fd00::1]/", "http://172.16.0.1/"],
)
def test_private_ranges_are_accepted_as_intranet_links(http: httpx.Client, url: str) -> None:
    assert _create(http, url).status_code == 201


def test_spellings_of_the_requests_own_host_are_refused(http: httpx.Client) -> None:
    for url in (
        "http://SPITO.test./x",
        "http://spito.test:9999/x",
        "http://\uff53\uff50\uff49\uff54\uff4f.test/x",
    ):
        assert "Spito itself" in assert_problem(_create(http, url), 400)["detail"]


def test_a_host_header_with_a_final_dot_still_names_spito_itself(http: httpx.Client) -> None:
    # "spito.test." is the same name as "spito.test" (a fully qualified spelling browsers
    # send as typed): the target's final dot is dropped, so the Host's must be too.
    response = http.post(
        "/api/v1/links", json={"url": "https://spito.test/x"}, headers={"Host": "Spito.Test."}
    )
    assert "Spito itself" in assert_problem(response, 400)["detail"]


@pytest.mark.parametrize(
    "stored",
    [
        "https://[fe80::1%\u4e2d]/",
        "https://[::1%\u202emoc.lapyap.www]/",
        "https://ex\u00e4mple.com/",
        "https://example.com/a b",
    ],
)
def test_a_stored_target_that_cannot_be_sent_answers_404_not_500_and_counts_nothing(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str, stored: str
) -> None:
    link_id = "stored-" + hashlib.sha256(stored.encode()).hexdigest()[:12]
    aws_client("dynamodb").put_item(
        TableName=spito_table,
        Item={
            "id": {"S": link_id},
            "kind": {"S": "link"},
            "url": {"S": stored},
            "clicks": {"N": "0"},
            "created_at": {"N": str(int(time.time()))},
            "expires_at": {"N": str(int(time.time()) + 3600)},
            "delete_token_hash": {"S": hashlib.sha256(b"token").hexdigest()},
        },
    )
    for _ in range(2):
        assert_problem(http.get(f"/{link_id}"), 404)
    assert http.head(f"/{link_id}").status_code == 404
    time.sleep(1.5)  # more than one click flush interval
    assert http.get(f"/api/v1/links/{link_id}").json()["clicks"] == 0
