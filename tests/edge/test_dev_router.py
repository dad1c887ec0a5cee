"""The local edge router (nginx configured from the routing table) over real HTTP: routing by the
shared table, the SPA fallback, the proxy, its errors."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from devstack.edge_router import ORIGIN_FAILURE_PAGE
from devstack.stack import EdgeRouter, free_port
from infra.edge_headers import CONTENT_SECURITY_POLICY, ENFORCED_HEADERS, spa_cache_control
from infra.routing import API_FORWARDED_HEADERS, CLOUDFRONT_HEADERS
from tests.edge.cases import API_CASES, SPA_CASES, RoutingCase

RAW_PASTE_CSP = "default-src 'none'; sandbox"


async def echo_origin(scope: Scope, receive: Receive, send: Send) -> None:
    """Stands in for the service: answers what it received, as JSON."""
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    received = {
        "method": scope["method"],
        "target": scope["raw_path"].decode()
        + ("?" + scope["query_string"].decode() if scope["query_string"] else ""),
        "headers": [[name.decode(), value.decode()] for name, value in scope["headers"]],
        "body": body.decode(),
    }
    headers = [
        (b"content-type", b"application/json"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]
    if scope["raw_path"].endswith(b"/raw"):
        headers.append((b"content-security-policy", RAW_PASTE_CSP.encode()))
    if scope["raw_path"].endswith(b"/slow"):
        await asyncio.sleep(2)
    if scope["raw_path"] == b"/redirect-me":
        headers.append((b"location", b"https://example.org/target"))
        await send({"type": "http.response.start", "status": 302, "headers": headers})
    else:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(received).encode()})


class ServerThread:
    """A uvicorn server on a free loopback port, in a thread; stopped by `stop()`."""

    def __init__(self, app: object) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", proxy_headers=False)  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("server thread exited before it started")
            threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@pytest.fixture(scope="module")
def web_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    for case in SPA_CASES:
        assert case.spa_key is not None
        file = dist / case.spa_key.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f"file {case.spa_key}")
    return dist


@pytest.fixture(scope="module")
def origin() -> Iterator[ServerThread]:
    server = ServerThread(echo_origin).start()
    yield server
    server.stop()


@contextmanager
def edge_router(
    upstream: str, web_dist: Path, work_dir: Path, *, origin_timeout_seconds: float | None = None
) -> Iterator[EdgeRouter]:
    router = EdgeRouter(
        port=free_port(),
        upstream=upstream,
        web_dist=web_dist,
        work_dir=work_dir,
        log=work_dir / "router.log",
        origin_timeout_seconds=origin_timeout_seconds,
    )
    router.start()
    try:
        yield router
    finally:
        router.stop()


@pytest.fixture(scope="module")
def router(
    origin: ServerThread, web_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    with (
        edge_router(origin.url, web_dist, tmp_path_factory.mktemp("router")) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        yield client


@pytest.mark.parametrize("case", SPA_CASES, ids=lambda case: case.path)
def test_spa_paths_are_served_from_web_dist_with_the_fallback(
    router: httpx.Client, case: RoutingCase
) -> None:
    response = router.get(case.path)
    assert response.status_code == 200
    assert response.text == f"file {case.spa_key}"
    assert response.headers["cache-control"] == spa_cache_control(case.spa_key or "")


@pytest.mark.parametrize("case", API_CASES, ids=lambda case: case.path)
def test_api_paths_are_proxied_to_the_service(router: httpx.Client, case: RoutingCase) -> None:
    response = router.get(case.path)
    assert response.status_code == 200
    assert response.json()["target"] == case.path


def test_missing_asset_is_404_not_the_app(router: httpx.Client, web_dist: Path) -> None:
    response = router.get("/assets/missing-0000.js")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert str(web_dist) not in response.text  # no filesystem path in what a viewer sees
    assert "/tmp" not in response.text


def test_missing_asset_without_an_extension_is_404_not_the_app(router: httpx.Client) -> None:
    assert router.get("/assets/missing-chunk").status_code == 404


def test_path_traversal_stays_inside_web_dist(router: httpx.Client, web_dist: Path) -> None:
    (web_dist.parent / "outside.txt").write_text("must not be served")
    for path in ("/assets/..%2F..%2Foutside.txt", "/assets/%2E%2E/%2E%2E/outside.txt"):
        response = router.get(path)
        assert response.status_code in (400, 404)  # nginx refuses a path above its root
        assert "must not be served" not in response.text


def test_spa_refuses_methods_other_than_get_and_head(router: httpx.Client) -> None:
    assert router.post("/p/AbC123x", content=b"x").status_code == 403


def test_proxy_appends_client_address_to_x_forwarded_for(router: httpx.Client) -> None:
    response = router.get("/AbC123x", headers={"X-Forwarded-For": "203.0.113.9"})
    headers = dict(response.json()["headers"])
    assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"


def test_proxy_keeps_the_viewer_host(router: httpx.Client) -> None:
    response = router.get("/AbC123x", headers={"Host": "spito.example"})
    assert dict(response.json()["headers"])["host"] == "spito.example"


def test_proxy_forwards_method_query_body_and_headers(router: httpx.Client) -> None:
    response = router.post(
        "/api/v1/links?x=a%20b&y=2",
        json={"url": "https://example.org"},
        headers={"X-Delete-Token": "t0k3n"},
    )
    received = response.json()
    headers = dict(received["headers"])
    assert received["method"] == "POST"
    assert received["target"] == "/api/v1/links?x=a%20b&y=2"
    assert json.loads(received["body"]) == {"url": "https://example.org"}
    assert headers["x-delete-token"] == "t0k3n"
    assert headers["x-forwarded-proto"] == "http"


def test_proxy_forwards_only_the_headers_cloudfront_forwards(router: httpx.Client) -> None:
    response = router.post(
        "/api/v1/links",
        content=b"{}",
        headers={
            "Content-Type": "application/json",
            "X-Delete-Token": "t0k3n",
            "Origin": "http://127.0.0.1",
            "Sec-Fetch-Site": "same-origin",
            "Cookie": "session=1",
            "Authorization": "Bearer x",
            "Accept-Language": "fr",
            "X-Something-New": "1",
        },
    )
    received = {name for name, _ in response.json()["headers"]}
    # The origin request policy's list, the body's length, and what CloudFront and the ALB add.
    expected = {name.lower() for name in API_FORWARDED_HEADERS}
    assert received == expected | {"content-length", "x-forwarded-for", "x-forwarded-proto"}


def test_proxy_keeps_no_cookies_from_the_service(router: httpx.Client) -> None:
    first = router.get("/AbC123x")
    assert first.headers.get_list("set-cookie") == ["a=1", "b=2"]  # passed on to the viewer
    with httpx.Client(base_url=str(router.base_url)) as other_viewer:
        received = dict(other_viewer.get("/AbC123x").json()["headers"])
    assert "cookie" not in received


def test_proxy_sets_the_headers_cloudfront_adds_itself(router: httpx.Client) -> None:
    response = router.get("/AbC123x", headers={"CloudFront-Forwarded-Proto": "https"})
    headers = response.json()["headers"]
    for name in CLOUDFRONT_HEADERS:
        assert [value for key, value in headers if key == name.lower()] == ["http"]


def test_proxy_passes_redirects_and_repeated_headers_through(router: httpx.Client) -> None:
    response = router.get("/redirect-me")
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.org/target"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]


def test_every_response_carries_the_edge_security_headers(router: httpx.Client) -> None:
    for path in ("/", "/AbC123x"):
        response = router.get(path)
        for name, value in ENFORCED_HEADERS.items():
            assert response.headers[name] == value
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_raw_paste_keeps_the_services_stricter_csp(router: httpx.Client) -> None:
    response = router.get("/AbC123x/raw")
    assert response.headers.get_list("content-security-policy") == [RAW_PASTE_CSP]


def test_head_is_proxied_without_a_body(router: httpx.Client) -> None:
    response = router.head("/AbC123x")
    assert response.status_code == 200
    assert response.content == b""


UNAVAILABLE_PAGE = "<!doctype html><title>Spito is briefly unavailable</title>"


@pytest.fixture
def dead_upstream() -> str:
    """The address of a service that is down: nothing listens there."""
    return f"http://127.0.0.1:{free_port()}"


def test_service_down_is_a_502_problem_for_the_api_without_its_address(
    web_dist: Path, dead_upstream: str, tmp_path: Path
) -> None:
    with edge_router(dead_upstream, web_dist, tmp_path) as server:
        response = httpx.post(f"{server.url}/api/v1/links", json={"url": "https://example.org"})
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Bad Gateway"
    assert dead_upstream.removeprefix("http://") not in response.text
    assert response.headers["x-frame-options"] == ENFORCED_HEADERS["x-frame-options"]


def test_service_down_shows_the_web_apps_unavailable_page_elsewhere(
    web_dist: Path, dead_upstream: str, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    page = dist / ORIGIN_FAILURE_PAGE.lstrip("/")
    page.parent.mkdir(parents=True)
    page.write_text(UNAVAILABLE_PAGE)
    with edge_router(dead_upstream, dist, tmp_path / "router") as server:
        for path in ("/AbC123x", "/AbC123x/raw"):
            response = httpx.get(f"{server.url}{path}")
            assert response.status_code == 502
            assert response.headers["content-type"].startswith("text/html")
            assert response.text == UNAVAILABLE_PAGE
            assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_service_down_without_an_unavailable_page_is_plain_text(
    web_dist: Path, dead_upstream: str, tmp_path: Path
) -> None:
    with edge_router(dead_upstream, web_dist, tmp_path) as server:
        response = httpx.get(f"{server.url}/AbC123x")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/plain")
    assert "not answering" in response.text
    assert dead_upstream.removeprefix("http://") not in response.text


def test_slow_service_is_a_504_after_the_origin_timeout(
    origin: ServerThread, web_dist: Path, tmp_path: Path
) -> None:
    with edge_router(origin.url, web_dist, tmp_path, origin_timeout_seconds=0.2) as server:
        response = httpx.get(f"{server.url}/api/v1/slow")
    assert response.status_code == 504
    assert response.json()["title"] == "Gateway Timeout"
