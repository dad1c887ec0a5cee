"""The canary handler, run as the Lambda runtime runs it, against the real local service."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from devstack.stack import LocalStack
from infra.canary import METRIC_DIMENSION, METRIC_NAMESPACE, STEPS
from tests.fixtures.cdk_app import FIXTURE_WEB_DIST
from tests.fixtures.local_stack import TEST_SETTINGS

FUNCTION_NAME = "spito-test-canary"
# tamper(method, path, status, headers, body) -> the status, headers and body the client gets.
Tamper = Callable[[str, str, int, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


@pytest.fixture
def tampering_proxy(base_url: str) -> Iterator[Callable[[Tamper], str]]:
    """Start a proxy in front of the real service that alters answers as `tamper` says.

    `tamper(method, path, status, headers, body)` returns the status, headers and body the
    client gets. It stands for a broken edge or service that still answers. Returns the proxy's
    base URL; every proxy started is stopped when the test ends.
    """
    upstream = urlsplit(base_url)
    servers: list[ThreadingHTTPServer] = []

    def start(tamper: Tamper) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                connection = http.client.HTTPConnection(upstream.netloc, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                status, out_headers, out_body = tamper(
                    self.command,
                    self.path,
                    answer.status,
                    {k.lower(): v for k, v in answer.getheaders()},
                    answer.read(),
                )
                connection.close()
                self.send_response(status)
                for name, value in out_headers.items():
                    if name not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(out_body)))
                self.end_headers()
                self.wfile.write(out_body)

            do_GET = do_POST = do_DELETE = _forward  # noqa: N815 - http.server's naming

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def routed_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Spito as `make dev` serves it: the dev router (CloudFront's stand-in) in front of the
    service, routing paths as the edge does. Its own stack, stopped when the module ends."""
    data_dir = tmp_path_factory.mktemp("routed-stack")
    with LocalStack(
        data_dir=data_dir, service_settings=TEST_SETTINGS, web_dist=FIXTURE_WEB_DIST
    ) as stack:
        yield stack.base_url


@pytest.fixture
def run_canary(
    monkeypatch: pytest.MonkeyPatch,
    load_handler: Callable[[str], ModuleType],
    capsys: pytest.CaptureFixture[str],
) -> Callable[[str], tuple[dict[str, Any], dict[str, Any]]]:
    """Invoke the handler against `url`; return its result and the metrics document it printed."""

    def run(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
        monkeypatch.setenv("SPITO_CANARY_URL", url)
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)  # set by the Lambda runtime
        capsys.readouterr()
        result: dict[str, Any] = load_handler("canary").handler({}, None)
        printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        metrics = [document for document in printed if "_aws" in document]
        assert len(metrics) == 1, printed
        return result, metrics[0]

    return run


def _gone(base_url: str, kind: str, item_id: str) -> bool:
    return httpx.get(f"{base_url}/api/v1/{kind}s/{item_id}").status_code == 404


def test_canary_passes_every_step_against_a_working_service(
    run_canary: Callable[[str], tuple[dict[str, Any], dict[str, Any]]], base_url: str
) -> None:
    result, _ = run_canary(base_url)

    assert result["success"] is True, result
    assert set(result["latency_ms"]) == set(STEPS)


def test_canary_passes_through_the_edge_routing_as_make_dev_serves_it(
    run_canary: Callable[[str], tuple[dict[str, Any], dict[str, Any]]], routed_base_url: str
) -> None:
    result, document = run_canary(routed_base_url)

    assert result["success"] is True, result
    assert document["Success"] == 1


def test_canary_deletes_the_link_and_paste_it_created(
    run_canary: Callable[[str], tuple[dict[str, Any], dict[str, Any]]], base_url: str
) -> None:
    result, _ = run_canary(base_url)

    assert _gone(base_url, "link", result["ids"]["link"])
    assert _gone(base_url, "paste", result["ids"]["paste"])


def test_canary_publishes_success_and_step_latencies_in_embedded_metric_format(
    run_canary: Callable[[str], tuple[dict[str, Any], dict[str, Any]]], base_url: str
) -> None:
    _, document = run_canary(base_url)

    (directive,) = document["_aws"]["CloudWatchMetrics"]
    declared = {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}
    assert directive["Namespace"] == METRIC_NAMESPACE
    assert directive["Dimensions"] == [[METRIC_DIMENSION]]
    assert document[METRIC_DIMENSION] == FUNCTION_NAME
    assert declared == {"Success": "None"} | {f"{step}Latency": "Milliseconds" for step in STEPS}
    assert document["Success"] == 1
    assert all(document[f"{step}Latency"] > 0 for step in STEPS)
    assert isinstance(document["_aws"]["Timestamp"], int)


def test_canary_reports_failure_while_storage_is_down(
    run_canary: Callable[[str], tuple[dict[str, Any], dict[str, Any]]],
    base_url: str,
    local_stack: LocalStack,
) -> None:
    with local_stack.storage.outage():
        result, document = run_canary(base_url)

    assert result["success"] is False
    assert result["failed_step"] == "CreateLink"
    assert document["Success"] == 0
    assert "CreateLinkLatency" not in document
    assert (document["failed_step"], document["error"]) == (result["failed_step"], result["error"])


def test_canary_reports_failure_when_nothing_answers(
    run_canary: Callable[[str], tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound but never listening: connections are refused

        result, document = run_canary(f"http://127.0.0.1:{port}")

    assert result["success"] is False
    assert result["failed_step"] == "CreateLink"
    assert result["error"].startswith("ConnectionRefusedError")
    assert document["Success"] == 0


def test_canary_reports_failure_when_the_service_hangs(
    run_canary: Callable[[str], tuple[dict[str, Any], dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPITO_CANARY_TIMEOUT_SECONDS", "0.5")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections complete in the kernel's backlog; nothing ever answers

        result, document = run_canary(f"http://127.0.0.1:{silent.getsockname()[1]}")

    assert result["failed_step"] == "CreateLink"
    assert result["error"].startswith("TimeoutError")
    assert document["Success"] == 0


def _trim_raw_pastes(
    method: str, path: str, status: int, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """A service that trims paste bodies: the bytes read back are not the bytes stored."""
    return status, headers, body.strip() if path.endswith("/raw") else body


def _redirect_elsewhere(
    method: str, path: str, status: int, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """An edge that sends short links to the wrong place."""
    if status == 302:
        headers = {**headers, "location": "https://example.org/not-the-target"}
    return status, headers, body


def test_canary_creates_items_that_expire_after_ten_minutes(
    run_canary: Callable[[str], tuple[dict[str, Any], dict[str, Any]]],
    tampering_proxy: Callable[[Tamper], str],
) -> None:
    lifetimes: list[float] = []

    def record_lifetimes(
        method: str, path: str, status: int, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if method == "POST" and status == 201:
            created = json.loads(body)
            lifetimes.append(created["expires_at"] - created["created_at"])
        return status, headers, body

    result, _ = run_canary(tampering_proxy(record_lifetimes))

    assert result["success"] is True
    assert lifetimes == [pytest.approx(600, abs=1)] * 2


def test_canary_fails_when_paste_bytes_change_and_still_deletes_both(
    run_canary: Callable[[str], tuple[dict[str, Any], dict[str, Any]]],
    tampering_proxy: Callable[[Tamper], str],
    base_url: str,
) -> None:
    result, document = run_canary(tampering_proxy(_trim_raw_pastes))

    assert result["failed_step"] == "ReadPaste"
    assert document["Success"] == 0
    assert {"DeleteLink", "DeletePaste"} <= set(result["latency_ms"])
    assert _gone(base_url, "link", result["ids"]["link"])
    assert _gone(base_url, "paste", result["ids"]["paste"])


def test_canary_fails_when_a_short_link_redirects_elsewhere_and_deletes_the_link(
    run_canary: Callable[[str], tuple[dict[str, Any], dict[str, Any]]],
    tampering_proxy: Callable[[Tamper], str],
    base_url: str,
) -> None:
    result, document = run_canary(tampering_proxy(_redirect_elsewhere))

    assert result["failed_step"] == "FollowLink"
    assert "not-the-target" in result["error"]
    assert document["Success"] == 0
    assert "paste" not in result["ids"]  # later steps are skipped, not counted as passing
    assert _gone(base_url, "link", result["ids"]["link"])
