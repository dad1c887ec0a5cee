"""`npm run dev` (Vite's dev server, web/vite.config.ts) serves the app from its sources and proxies
the API, the OpenAPI document, short links and raw pastes to the Spito at SPITO_URL."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.stack import free_port

WEB = Path(__file__).resolve().parents[2] / "web"
START_TIMEOUT_S = 60
# Vite's own API with the project's config file, but its dependency cache in a temporary
# directory: web/node_modules is shared and must not be written to.
START_DEV_SERVER = """
import { createServer } from "vite";
const [port, cacheDir] = process.argv.slice(1);
const server = await createServer({
  cacheDir,
  clearScreen: false,
  logLevel: "warn",
  server: { host: "127.0.0.1", port: Number(port), strictPort: true },
});
await server.listen();
console.log("listening");
"""


@pytest.fixture(scope="module")
def dev_server(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    cache = tmp_path_factory.mktemp("vite-cache")
    log = cache.parent / "vite.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["node", "--input-type=module", "-e", START_DEV_SERVER, str(port), str(cache)],
            cwd=WEB,
            env={**os.environ, "SPITO_URL": base_url},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while b"listening" not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Vite dev server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_dev_server_serves_the_app_from_its_sources(dev_server: str) -> None:
    page = httpx.get(f"{dev_server}/", timeout=30)

    assert page.status_code == 200
    assert 'src="/@vite/client"' in page.text  # Vite's own page with live reload, not a proxy
    assert 'src="./src/main.ts"' in page.text


def test_dev_server_proxies_the_openapi_document(dev_server: str, base_url: str) -> None:
    proxied = httpx.get(f"{dev_server}/openapi.json", timeout=30)

    assert proxied.status_code == 200
    assert proxied.json() == httpx.get(f"{base_url}/openapi.json", timeout=30).json()


def test_dev_server_proxies_the_api_and_short_links(dev_server: str) -> None:
    created = httpx.post(
        f"{dev_server}/api/v1/links", json={"url": "https://example.org/from-vite"}, timeout=30
    )
    assert created.status_code == 201, created.text

    followed = httpx.get(f"{dev_server}/{created.json()['id']}", timeout=30)

    assert followed.is_redirect
    assert followed.headers["location"] == "https://example.org/from-vite"


def test_dev_server_proxies_raw_pastes(dev_server: str) -> None:
    created = httpx.post(
        f"{dev_server}/api/v1/pastes", json={"content": "raw through vite\n"}, timeout=30
    )
    assert created.status_code == 201, created.text

    raw = httpx.get(f"{dev_server}/{created.json()['id']}/raw", timeout=30)

    assert raw.status_code == 200
    assert raw.text == "raw through vite\n"
