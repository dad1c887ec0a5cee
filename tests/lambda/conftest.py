"""Fixtures for the Lambda handler tests: load a handler the way the Lambda runtime does."""

from __future__ import annotations

import http.client
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import pytest

from scripts.local_stack import LocalStack
from tests.fixtures.cdk_app import FIXTURE_WEB_DIST
from tests.fixtures.local_stack import TEST_SETTINGS

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"


def _load_handler(function: str) -> ModuleType:
    name = f"spito_lambda_{function}_handler"
    spec = importlib.util.spec_from_file_location(name, LAMBDA_SRC / function / "handler.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_handler() -> Callable[[str], ModuleType]:
    """Import `lambda_src/<function>/handler.py` afresh, as the runtime imports the asset's module.

    A fresh import runs the module's top level again, so it sees the environment the test set.
    """
    return _load_handler


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
