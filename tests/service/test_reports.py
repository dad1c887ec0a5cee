"""Reports, holds and takedowns over real HTTP against the local stack (dynalite, s3rver).

Distinct clients are told apart by X-Forwarded-For, on a service that trusts its right-most
entry (as one behind a proxy does).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from devstack.stack import ServiceProcess
from spito_admin.operations import Operations
from tests.service.helpers import assert_problem, create_link, create_paste

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def service(start_service: Callable[..., ServiceProcess]) -> ServiceProcess:
    return start_service(SPITO_CLIENT_IP_POSITION="1", SPITO_REPORT_HOLD_THRESHOLD="3")


def _report(url: str, client: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/reports", json=body, headers={"X-Forwarded-For": client})


def _stored(aws_client: Callable[[str], Any], table: str, item_id: str) -> dict[str, Any]:
    item: dict[str, Any] = aws_client("dynamodb").get_item(
        TableName=table, Key={"id": {"S": item_id}}
    )["Item"]
    return item


def _hold(url: str, item_id: str) -> None:
    for client in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        response = _report(url, client, id=item_id, reason="phishing")
        assert response.status_code == 202, response.text


def test_a_report_is_accepted_with_202(service: ServiceProcess) -> None:
    with httpx.Client(base_url=service.url) as client:
        link = create_link(client)
    response = _report(service.url, "192.0.2.9", id=link["id"], reason="spam", details="ads")
    assert response.status_code == 202
    assert response.json() == {"id": link["id"], "reason": "spam", "status": "received"}


def test_one_clients_repeated_reports_count_once_and_store_no_address(
    service: ServiceProcess, aws_client: Callable[[str], Any], spito_table: str
) -> None:
    with httpx.Client(base_url=service.url) as client:
        link = create_link(client)
    for reason in ("phishing", "spam", "phishing", "malware"):
        assert (
            _report(service.url, "198.51.100.77", id=link["id"], reason=reason).status_code == 202
        )
    assert _stored(aws_client, spito_table, link["id"])["reports"] == {"N": "1"}
    assert httpx.get(f"{service.url}/{link['id']}").status_code == 302  # one client holds nothing
    items = aws_client("dynamodb").scan(TableName=spito_table)["Items"]
    reports = [item for item in items if item.get("item_id", {}).get("S") == link["id"]]
    assert len(reports) == 1
    assert "198.51.100.77" not in json.dumps(items)


def test_reports_from_three_clients_hold_a_link_everywhere_with_410(
    service: ServiceProcess,
) -> None:
    with httpx.Client(base_url=service.url) as client:
        link = create_link(client)
        assert client.get(f"/{link['id']}").status_code == 302  # now in the redirect cache
        _hold(service.url, link["id"])
        redirect = assert_problem(client.get(f"/{link['id']}"), 410)
        assert redirect["type"] == "urn:spito:problem:held"
        assert "reported by several people (phishing)" in redirect["detail"]
        assert_problem(client.get(f"/api/v1/links/{link['id']}"), 410)
        token = {"X-Delete-Token": link["delete_token"]}
        assert_problem(client.delete(f"/api/v1/links/{link['id']}", headers=token), 410)


def test_a_held_paste_is_gone_on_every_public_route(service: ServiceProcess) -> None:
    with httpx.Client(base_url=service.url) as client:
        paste = create_paste(client, "stolen data\n")
        _hold(service.url, paste["id"])
        for path in (f"/{paste['id']}", f"/{paste['id']}/raw", f"/api/v1/pastes/{paste['id']}"):
            problem = assert_problem(client.get(path), 410)
            assert "stolen" not in json.dumps(problem)
        assert_problem(client.post(f"/api/v1/pastes/{paste['id']}/open"), 410)
        page = client.get(f"/{paste['id']}/raw", headers={"Accept": BROWSER_ACCEPT})
        assert page.status_code == 410
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "This link or paste is held for review" in page.text
        assert "reported by several people (phishing)" in page.text
        assert "stolen" not in page.text


def test_a_takedown_says_why_and_a_restore_serves_the_item_again(
    http: httpx.Client, aws_client: Callable[[str], Any], spito_table: str
) -> None:
    moderation = Operations(aws_client("dynamodb"), spito_table)
    link = create_link(http)
    assert moderation.take_down(link["id"], reason="phishing for bank logins", now=int(time.time()))
    # The shared service may have cached the redirect: the cache lives at most 30 s, but this
    # link was never followed, so the 410 is immediate.
    problem = assert_problem(http.get(f"/{link['id']}"), 410)
    assert problem["type"] == "urn:spito:problem:taken-down"
    assert problem["detail"] == (
        "This link was removed by Spito's operators: phishing for bank logins."
    )
    page = http.get(f"/{link['id']}", headers={"Accept": BROWSER_ACCEPT})
    assert "This link or paste is removed" in page.text
    assert moderation.restore(link["id"])
    assert http.get(f"/{link['id']}").status_code == 302
    assert not moderation.restore(link["id"])  # nothing to restore twice


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "spam"}, "id"),
        ({"id": "no such/id", "reason": "spam"}, "id"),
        ({"id": 12345, "reason": "spam"}, "id"),
        ({"id": "abcdefgh"}, "reason"),
        ({"id": "abcdefgh", "reason": "rude"}, "reason"),
        ({"id": "abcdefgh", "reason": "spam", "details": "x" * 1001}, "details"),
        ({"id": "abcdefgh", "reason": "spam", "details": 5}, "details"),
        ({"id": "abcdefgh", "reason": "spam", "details": "look \x1b[2J here"}, "details"),
    ],
)
def test_bad_reports_answer_400_naming_the_field(
    http: httpx.Client, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(http.post("/api/v1/reports", json=body), 400)
    assert problem["field"] == field
    assert problem["detail"].startswith(field)


def test_a_report_of_an_unknown_id_answers_404(http: httpx.Client) -> None:
    assert_problem(http.post("/api/v1/reports", json={"id": "nosuchid99", "reason": "spam"}), 404)


def test_reports_are_rate_limited_like_creation(
    start_service: Callable[..., ServiceProcess],
) -> None:
    service = start_service(SPITO_RATE_LIMIT_BURST="2", SPITO_RATE_LIMIT_PER_MINUTE="1")
    with httpx.Client(base_url=service.url) as client:
        link = create_link(client)  # creation's bucket, not the reports'
        body = {"id": link["id"], "reason": "spam"}
        statuses = [client.post("/api/v1/reports", json=body).status_code for _ in range(2)]
        assert statuses == [202, 202]
        limited = client.post("/api/v1/reports", json=body)
    assert_problem(limited, 429)
    assert int(limited.headers["retry-after"]) >= 1


def test_a_hold_names_every_reason_reported(service: ServiceProcess) -> None:
    with httpx.Client(base_url=service.url) as client:
        link = create_link(client)
        for client_address, reason in (
            ("203.0.113.1", "spam"),
            ("203.0.113.2", "phishing"),
            ("203.0.113.3", "spam"),
        ):
            assert (
                _report(service.url, client_address, id=link["id"], reason=reason).status_code
                == 202
            )
        problem = assert_problem(client.get(f"/{link['id']}"), 410)
    assert "reported by several people (phishing, spam)" in problem["detail"]


def test_addresses_of_one_ipv6_64_count_as_one_reporter(
    service: ServiceProcess, aws_client: Callable[[str], Any], spito_table: str
) -> None:
    # One subscriber holds a whole /64 (RFC 6177): its addresses are one client, as for the
    # rate limit, or it could hold any item alone by reporting from three of them.
    with httpx.Client(base_url=service.url) as client:
        link = create_link(client)
        for client_address in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"):
            response = _report(service.url, client_address, id=link["id"], reason="spam")
            assert response.status_code == 202, response.text
        assert client.get(f"/{link['id']}").status_code == 302
    assert _stored(aws_client, spito_table, link["id"])["reports"] == {"N": "1"}


def test_a_report_whose_details_escape_a_lone_surrogate_answers_400(http: httpx.Client) -> None:
    # JSON's \ud800 decodes to a string no UTF-8 can hold: stored, it made spito-admin's
    # `reports` and `show` die with UnicodeEncodeError for every report, not just this one.
    link = create_link(http)
    body = json.dumps({"id": link["id"], "reason": "spam", "details": "see \ud800 here"})
    problem = assert_problem(
        http.post("/api/v1/reports", content=body, headers={"Content-Type": "application/json"}),
        400,
    )
    assert problem["field"] == "details"
    assert problem["detail"] == "details must be valid UTF-8 text"


def test_after_a_restore_one_more_client_cannot_hold_the_item_again(
    service: ServiceProcess, aws_client: Callable[[str], Any], spito_table: str
) -> None:
    # The operators reviewed the reports and chose to serve the item: a hold takes as many new
    # clients as the first did, or any one client could undo the operators' decision alone.
    with httpx.Client(base_url=service.url) as client:
        link = create_link(client)
        _hold(service.url, link["id"])
        assert Operations(aws_client("dynamodb"), spito_table).restore(link["id"])
        assert client.get(f"/{link['id']}").status_code == 302
        assert _report(service.url, "192.0.2.200", id=link["id"], reason="spam").status_code == 202
        assert client.get(f"/{link['id']}").status_code == 302
        for client_address in ("192.0.2.201", "192.0.2.202"):
            assert (
                _report(service.url, client_address, id=link["id"], reason="spam").status_code
                == 202
            )
        assert_problem(client.get(f"/{link['id']}"), 410)
