"""`make dev` runs `python -m devstack.supervisor`: Spito on $PORT until Ctrl-C, data kept.

The test runs that entry point itself (the Makefile only adds `deps` and `web` before it) on a
free port, with its data in a temporary directory instead of `.local/`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from devstack.stack import ROOT, free_port
from devstack.supervisor import WEB_DIST

START_SECONDS = 60
STOP_SECONDS = 60


@contextmanager
def make_dev(port: int, data_dir: Path, log: Path) -> Iterator[str]:
    """`python -m devstack.supervisor` on `port`; stopped with SIGINT (Ctrl-C) at the end."""
    env = {**os.environ, "PORT": str(port), "SPITO_DEV_DATA_DIR": str(data_dir)}
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack.supervisor"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _answers(f"{url}/readyz"):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    assert code == 0, log.read_text()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_make_dev_serves_stops_on_ctrl_c_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    assert (WEB_DIST / "index.html").is_file(), "build the web app first: make web"
    port = free_port()
    data_dir = tmp_path / "local"
    log = tmp_path / "make-dev.log"
    with make_dev(port, data_dir, log) as url:
        assert httpx.get(f"{url}/").status_code == 200  # the web app
        created = httpx.post(f"{url}/api/v1/links", json={"url": "https://example.com/kept"})
        assert created.status_code == 201, created.text
        link_id = created.json()["id"]
    assert not _answers(f"http://127.0.0.1:{port}/healthz")  # stopped
    assert (data_dir / "dynamodb").is_dir()
    with make_dev(port, data_dir, log) as url:
        link = httpx.get(f"{url}/api/v1/links/{link_id}")
        assert link.status_code == 200, link.text
        assert link.json()["url"] == "https://example.com/kept"
        assert httpx.get(f"{url}/{link_id}").headers["location"] == "https://example.com/kept"


def test_make_dev_builds_short_urls_from_its_own_address_not_the_host_header(
    tmp_path: Path,
) -> None:
    with make_dev(free_port(), tmp_path / "local", tmp_path / "make-dev.log") as url:
        created = httpx.post(
            f"{url}/api/v1/links",
            json={"url": "https://example.com/"},
            headers={"Host": "attacker.example"},
        )
        assert created.status_code == 201, created.text
        assert created.json()["short_url"].startswith(f"{url}/")
