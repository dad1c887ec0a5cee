"""The service learns names Spito answers to once deployed, from SSM, over real HTTP.

On AWS the Edge stack writes the distribution's `dxxxx.cloudfront.net` name (and the custom
domain's) to an SSM parameter after the fleet exists (infra/public_hosts.py). Here a small
stand-in of SSM's GetParameter speaks the same wire protocol (AWS JSON 1.1, target
`AmazonSSM.GetParameter`) on 127.0.0.1, and the real service, started with
SPITO_SSM_ENDPOINT pointing at it, is asked to shorten links to those names: accepted while the
parameter does not exist yet (the first deploy), refused once it does, still refused while SSM
fails afterwards (the last names are kept), and never slowed down by SSM.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from service.settings import Settings, SettingsError
from tests.service.helpers import assert_problem

PARAMETER = "/spito/test/public-hosts"
DISTRIBUTION = "d111111abcdef8.cloudfront.net"
REFRESH_SECONDS = "0.2"
WAIT_SECONDS = 15.0


@dataclass
class FakeParameterStore:
    """What the stand-in answers: the parameter's value (None: ParameterNotFound), or a 500."""

    value: str | None = None
    failing: bool = False
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _handler(store: FakeParameterStore) -> type[BaseHTTPRequestHandler]:
    class GetParameter(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            store.requests.append((self.headers.get("X-Amz-Target", ""), body))
            if store.failing:
                self._answer(500, {"__type": "InternalServerError", "message": "down"})
            elif store.value is None or body.get("Name") != PARAMETER:
                self._answer(400, {"__type": "ParameterNotFound", "message": ""})
            else:
                parameter = {"Name": PARAMETER, "Type": "String", "Value": store.value}
                self._answer(200, {"Parameter": {**parameter, "Version": 1}})

        def _answer(self, status: int, document: dict[str, Any]) -> None:
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    return GetParameter


@pytest.fixture
def parameter_store() -> Iterator[tuple[FakeParameterStore, str]]:
    store = FakeParameterStore()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(store))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield store, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _create(base_url: str, url: str) -> httpx.Response:
    return httpx.post(f"{base_url}/api/v1/links", json={"url": url}, timeout=10)


def _until_refused(base_url: str, url: str) -> httpx.Response:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        response = _create(base_url, url)
        if response.status_code != 201 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_names_published_in_ssm_are_refused_once_they_exist_and_kept_while_ssm_fails(
    start_service: Callable[..., Any], parameter_store: tuple[FakeParameterStore, str]
) -> None:
    store, endpoint = parameter_store
    service = start_service(
        SPITO_PUBLIC_HOSTS_PARAMETER=PARAMETER,
        SPITO_PUBLIC_HOSTS_REFRESH_SECONDS=REFRESH_SECONDS,
        SPITO_SSM_ENDPOINT=endpoint,
    )
    # The first deploy: no parameter yet. The service started and serves; nothing to refuse.
    assert _create(service.url, f"https://{DISTRIBUTION}/before").status_code == 201
    assert store.requests, "the service never asked SSM"

    store.value = f"{DISTRIBUTION},spito.example.com,www.spito.example.com"
    refused = _until_refused(service.url, f"https://{DISTRIBUTION.upper()}./x")
    assert "Spito itself" in assert_problem(refused, 400)["detail"]
    for url in ("https://spito.example.com/x", "http://www.spito.example.com:8443/y"):
        assert "Spito itself" in assert_problem(_create(service.url, url), 400)["detail"]
    assert _create(service.url, "https://example.com/").status_code == 201

    # SSM fails from now on: the names read last still hold, and requests do not wait on SSM.
    store.failing = True
    seen = len(store.requests)
    deadline = time.monotonic() + WAIT_SECONDS
    while len(store.requests) < seen + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(store.requests) >= seen + 2, "the service stopped refreshing"
    started = time.monotonic()
    assert_problem(_create(service.url, f"https://{DISTRIBUTION}/z"), 400)
    assert time.monotonic() - started < 1.0

    targets = {target for target, _ in store.requests}
    names = {body.get("Name") for _, body in store.requests}
    assert (targets, names) == ({"AmazonSSM.GetParameter"}, {PARAMETER})


def test_without_a_parameter_name_the_service_never_calls_ssm(
    start_service: Callable[..., Any], parameter_store: tuple[FakeParameterStore, str]
) -> None:
    store, endpoint = parameter_store
    store.value = DISTRIBUTION
    service = start_service(SPITO_SSM_ENDPOINT=endpoint)
    assert _create(service.url, f"https://{DISTRIBUTION}/x").status_code == 201
    assert store.requests == []


@pytest.mark.parametrize("name", ["spito/prod/hosts", "/spito//hosts", "/spito/a b", "/"])
def test_a_malformed_parameter_name_stops_the_service_at_start_naming_the_fix(name: str) -> None:
    environ = {"SPITO_TABLE": "t", "SPITO_BUCKET": "b", "SPITO_PUBLIC_HOSTS_PARAMETER": name}
    with pytest.raises(SettingsError, match=r"SPITO_PUBLIC_HOSTS_PARAMETER=.*set it to an SSM"):
        Settings.from_env(environ)
