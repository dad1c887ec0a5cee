"""Memory per request is bounded, whatever the body's encoding: a measured peak, over HTTP.

A service process with the default 10 MiB paste limit gets bursts of maximum-size pastes in the
encodings that cost most: JSON whose content is all \\uXXXX surrogate-pair escapes (3 bytes of
body per byte of paste, the most a body may be), and raw text, each with a Content-Length and
chunked. The peak resident memory of the process (VmHWM, Linux) over the bursts must stay
within `PEAK_BOUND_BYTES` of what it held before, and what it holds after must come back down.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.api import JSON_EXPANSION, LARGE_BODY_SLOTS, LARGE_BODY_WAIT_SECONDS
from service.settings import MIB
from tests.service.helpers import assert_problem

PASTE_MAX_BYTES = 10 * MIB  # the default SPITO_PASTE_MAX_BYTES
BURST = 6  # the probe's six concurrent bodies
TEXT = {"Content-Type": "text/plain"}
# A large body in flight holds at most two copies at once: the body received (3 x 10 MiB of
# escaped JSON) and its text (one byte per ASCII character), then the text and the parsed
# content, then the content's UTF-8 bytes alone for the upload. A slot is about 2 x 30 MiB;
# LARGE_BODY_SLOTS of them, plus 40 MiB for allocator slack and the S3 client's buffers. The
# code before issue 15 measured 423 MiB over its baseline here; this code measures ~120 MiB.
PEAK_BOUND_BYTES = LARGE_BODY_SLOTS * 2 * JSON_EXPANSION * PASTE_MAX_BYTES + 40 * MIB
# What may stay resident once the burst is over: the code before issue 15 kept 240 MiB.
AFTER_BOUND_BYTES = 40 * MIB

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="resident memory is read from /proc"
)


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _reset_peak(pid: int) -> int:
    """Start VmHWM again from the current resident size (proc(5), clear_refs "5"); return it."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return _memory_kib(pid, "VmRSS") * 1024


def _json_body() -> bytes:
    # An emoji is 4 bytes of UTF-8 and 12 of \\ud83d\\ude00: the paste is exactly the limit.
    return json.dumps({"content": "\U0001f600" * (PASTE_MAX_BYTES // 4)}).encode()


def _chunked(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), 256 * 1024):
        yield body[start : start + 256 * 1024]


def _burst(url: str, body: bytes, content_type: str, *, chunked: bool) -> list[int]:
    statuses: list[int] = []
    barrier = threading.Barrier(BURST)

    def send() -> None:
        with httpx.Client(timeout=120) as client:
            barrier.wait()
            response = client.post(
                f"{url}/api/v1/pastes",
                content=_chunked(body) if chunked else body,
                headers={"Content-Type": content_type},
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_peak_memory_under_bursts_of_maximum_size_pastes_is_bounded(
    start_service: Callable[..., Any],
) -> None:
    service = start_service(SPITO_RATE_LIMIT_BURST="1000", SPITO_RATE_LIMIT_PER_MINUTE="1000")
    pid = service.pid
    assert pid is not None
    # Warm up every code path once (imports, connection pools) before the baseline.
    httpx.post(f"{service.url}/api/v1/pastes", json={"content": "x" * 100_000}, timeout=60)
    before = _reset_peak(pid)
    json_body = _json_body()
    raw_body = b"x" * PASTE_MAX_BYTES
    statuses = [
        *_burst(service.url, json_body, "application/json", chunked=False),
        *_burst(service.url, json_body, "application/json", chunked=True),
        *_burst(service.url, raw_body, "text/plain", chunked=False),
        *_burst(service.url, raw_body, "text/plain", chunked=True),
    ]
    peak = _memory_kib(pid, "VmHWM") * 1024
    after = _memory_kib(pid, "VmRSS") * 1024
    print(f"before {before / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB, after {after / MIB:.0f} MiB")
    assert statuses == [201] * len(statuses)  # every paste was taken, none refused
    assert peak - before <= PEAK_BOUND_BYTES, f"peak {(peak - before) / MIB:.0f} MiB over"
    assert after - before <= AFTER_BOUND_BYTES, f"{(after - before) / MIB:.0f} MiB still held"


def test_large_bodies_beyond_the_slots_wait_then_get_503_while_small_ones_pass(
    start_service: Callable[..., Any],
) -> None:
    service = start_service(SPITO_RATE_LIMIT_BURST="1000", SPITO_RATE_LIMIT_PER_MINUTE="1000")
    port = int(service.url.rsplit(":", 1)[1])
    stalled = []
    for _ in range(LARGE_BODY_SLOTS):  # each takes a slot and then sends nothing more
        connection = socket.create_connection(("127.0.0.1", port))
        connection.sendall(
            b"POST /api/v1/pastes HTTP/1.1\r\nHost: spito.test\r\n"
            b"Content-Type: text/plain\r\nContent-Length: 5000000\r\n\r\nxxxx"
        )
        stalled.append(connection)
    try:
        time.sleep(0.5)
        started = time.monotonic()
        small = httpx.post(
            f"{service.url}/api/v1/pastes", content=b"small", headers=TEXT, timeout=30
        )
        assert small.status_code == 201
        assert time.monotonic() - started < 5
        large = httpx.post(
            f"{service.url}/api/v1/pastes", content=b"y" * (2 * MIB), headers=TEXT, timeout=60
        )
        waited = time.monotonic() - started
        assert_problem(large, 503)
        assert large.headers["retry-after"] == "5"
        assert LARGE_BODY_WAIT_SECONDS <= waited < LARGE_BODY_WAIT_SECONDS + 10
    finally:
        for connection in stalled:
            connection.close()
    time.sleep(0.5)  # the stalled requests end with their connections, freeing the slots
    again = httpx.post(
        f"{service.url}/api/v1/pastes", content=b"y" * (2 * MIB), headers=TEXT, timeout=60
    )
    assert again.status_code == 201, again.text


def _get_all(urls: list[str], *, method: str) -> list[int]:
    statuses: list[int] = []
    barrier = threading.Barrier(len(urls))

    def fetch(url: str) -> None:
        with httpx.Client(timeout=120) as client:
            barrier.wait()
            response = client.request(method, url)
            assert len(response.content) > PASTE_MAX_BYTES  # the whole paste, as JSON
            statuses.append(response.status_code)

    threads = [threading.Thread(target=fetch, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


# One emoji makes Python hold the whole text at 4 bytes a character: the costliest paste to read.
WIDEST_PASTE = "x" * (PASTE_MAX_BYTES - 4) + "\U0001f600"
# A read streams the JSON, so it holds a chunk at a time; an open holds its paste once (read
# whole before the burn, so a failed read keeps the paste). The code before issue 15 measured
# 483 MiB over its baseline here (each read held the paste joined, as text, as JSON text and
# as bytes); this code measures ~60 MiB, the opens' share.
READ_PEAK_BOUND_BYTES = BURST * PASTE_MAX_BYTES + 30 * MIB


def test_peak_memory_under_bursts_of_reads_of_maximum_size_pastes_is_bounded(
    start_service: Callable[..., Any],
) -> None:
    service = start_service(SPITO_RATE_LIMIT_BURST="1000", SPITO_RATE_LIMIT_PER_MINUTE="1000")
    pid = service.pid
    assert pid is not None
    pastes = f"{service.url}/api/v1/pastes"
    shown = httpx.post(pastes, json={"content": WIDEST_PASTE}, timeout=60).json()["id"]
    burnable = [
        httpx.post(
            pastes, json={"content": WIDEST_PASTE, "burn_after_reading": True}, timeout=60
        ).json()["id"]
        for _ in range(BURST)
    ]
    httpx.get(f"{pastes}/{shown}", timeout=60)  # warm up the read path
    before = _reset_peak(pid)
    statuses = [
        *_get_all([f"{pastes}/{shown}"] * 10, method="GET"),
        *_get_all([f"{pastes}/{paste_id}/open" for paste_id in burnable], method="POST"),
    ]
    peak = _memory_kib(pid, "VmHWM") * 1024
    print(f"reads: before {before / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB")
    assert statuses == [200] * len(statuses)
    assert peak - before <= READ_PEAK_BOUND_BYTES, f"peak {(peak - before) / MIB:.0f} MiB over"
