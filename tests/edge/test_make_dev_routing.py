"""`make dev`'s stack: the dev router on the public port in front of the real service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.stack import LocalStack

INDEX = "<!doctype html><title>Spito</title>"


@pytest.fixture(scope="module")
def routed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    web_dist = tmp_path_factory.mktemp("dist")
    (web_dist / "index.html").write_text(INDEX)
    data_dir = tmp_path_factory.mktemp("routed-stack")
    with LocalStack(data_dir=data_dir, web_dist=web_dist) as stack:
        yield stack


@pytest.fixture
def client(routed_stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=routed_stack.base_url) as client:
        yield client


def test_public_port_serves_the_web_app_for_app_routes(client: httpx.Client) -> None:
    for path in ("/", "/p/AbC123x"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.text == INDEX


def test_service_runs_behind_the_router_on_another_port(routed_stack: LocalStack) -> None:
    assert routed_stack.service.port != routed_stack.public_port
    assert httpx.get(f"{routed_stack.service.url}/healthz").status_code == 200


def test_short_links_made_through_the_router_point_at_the_public_port(
    client: httpx.Client, routed_stack: LocalStack
) -> None:
    created = client.post("/api/v1/links", json={"url": "https://example.org/landing"})
    assert created.status_code == 201
    short_url = created.json()["short_url"]
    assert short_url.startswith(f"{routed_stack.base_url}/")
    followed = client.get(short_url.removeprefix(routed_stack.base_url))
    assert followed.status_code == 302
    assert followed.headers["location"] == "https://example.org/landing"


def test_router_stops_with_the_stack(tmp_path: Path) -> None:
    web_dist = tmp_path / "dist"
    web_dist.mkdir()
    (web_dist / "index.html").write_text(INDEX)
    stack = LocalStack(data_dir=tmp_path / "data", web_dist=web_dist).start()
    stack.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{stack.base_url}/healthz")


def test_the_service_works_behind_the_routers_header_allow_list(client: httpx.Client) -> None:
    # Only CloudFront's forwarded headers reach the service: Content-Type, X-Delete-Token and the
    # viewer's Host are all it needs to create, serve and delete.
    created = client.post(
        "/api/v1/pastes", content=b"hello", headers={"Content-Type": "text/plain"}
    )
    assert created.status_code == 201
    made = client.post("/api/v1/links", json={"url": "https://example.org/gone"}).json()
    unauthorized = client.delete(f"/api/v1/links/{made['id']}", headers={"X-Delete-Token": "no"})
    deleted = client.delete(
        f"/api/v1/links/{made['id']}", headers={"X-Delete-Token": made["delete_token"]}
    )
    assert (unauthorized.status_code, deleted.status_code) == (403, 204)
