"""Abusive clients for scenario 5: a creation flood, slow-loris sockets, oversized bodies.

Slow and oversized clients speak HTTP over raw sockets, because a normal client library either
refuses to be that slow or stops reading the answer while it is still sending a body.

Used by scenario 5 in faults/scenarios.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from faults.load import AckedWrite

FLOODER_ADDRESS = "203.0.113.66"  # one viewer, the same in every request it sends
FLOOD_CONNECTIONS = 4
FLOOD_MAX_REQUESTS = 1000
FLOOD_MAX_SECONDS = 40.0
FLOOD_LIMITED_ENOUGH = 20  # 429s before the flood may stop
SLOW_LORIS_CONNECTIONS = 60
SLOW_BODY_CONNECTIONS = 20
OVERSIZED_CLIENTS_PER_KIND = 2
CHUNK_BYTES = 64 * 1024


@dataclass
class AbuseReport:
    flood_sent: int = 0
    flood_201: int = 0
    flood_429: int = 0
    flood_429_without_retry_after: int = 0
    flood_other_kinds: Counter[str] = field(default_factory=Counter)
    flood_acked: list[AckedWrite] = field(default_factory=list)
    # Slow connections that opened and sent their head, and the drips sent on them after it.
    slow_connections: int = 0
    slow_bodies: int = 0
    slow_drips: int = 0
    # How each slow connection ended: "held" (still open at the end) or the first line the
    # server sent before hanging up (e.g. the balancer's 408), or "closed" if it sent none.
    slow_endings: Counter[str] = field(default_factory=Counter)
    oversized_sent: int = 0
    oversized_413: int = 0
    oversized_other_kinds: Counter[str] = field(default_factory=Counter)

    @property
    def flood_other(self) -> int:
        return sum(self.flood_other_kinds.values())


async def flood_creates(base_url: str, report: AbuseReport, *, duration_s: float) -> None:
    """One viewer creating links as fast as it can for duration_s, and on until it is limited.

    Every process of the fleet keeps its own bucket, so on a slow machine the flood needs more
    than duration_s to empty them all; FLOOD_MAX_SECONDS and FLOOD_MAX_REQUESTS bound it.
    """
    started = time.monotonic()

    def flooding() -> bool:
        elapsed = time.monotonic() - started
        limited = report.flood_429 >= FLOOD_LIMITED_ENOUGH and elapsed >= duration_s
        return (
            not limited and elapsed < FLOOD_MAX_SECONDS and report.flood_sent < FLOOD_MAX_REQUESTS
        )

    headers = {"X-Forwarded-For": FLOODER_ADDRESS}
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:

        async def connection() -> None:
            while flooding():
                report.flood_sent += 1
                url = f"https://example.com/flood/{report.flood_sent}"
                try:
                    response = await client.post(
                        "/api/v1/links", json={"url": url}, headers=headers
                    )
                except httpx.HTTPError as error:
                    report.flood_other_kinds[type(error).__name__] += 1
                    continue
                if response.status_code == 201:
                    report.flood_201 += 1
                    report.flood_acked.append(
                        AckedWrite(id=response.json()["id"], kind="link", expected=url)
                    )
                elif response.status_code == 429:
                    report.flood_429 += 1
                    if not response.headers.get("retry-after", "").isdigit():
                        report.flood_429_without_retry_after += 1
                else:
                    report.flood_other_kinds[str(response.status_code)] += 1

        await asyncio.gather(*(connection() for _ in range(FLOOD_CONNECTIONS)))


async def slow_clients(base_url: str, report: AbuseReport, *, duration_s: float) -> None:
    """Sockets that send headers (slow-loris) or a body (slow POST) a few bytes at a time."""
    host, port = _host_port(base_url)
    deadline = time.monotonic() + duration_s

    async def slow_headers(n: int) -> None:
        head = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-For: 192.0.2.{n}\r\n"
        if await _trickle(host, port, head.encode(), b"X-Slow: 1\r\n", deadline, report):
            report.slow_connections += 1

    async def slow_body(n: int) -> None:
        head = (
            f"POST /api/v1/pastes HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: 100000\r\nX-Forwarded-For: 192.0.2.{100 + n}\r\n\r\n"
        )
        if await _trickle(host, port, head.encode(), b"slow body ", deadline, report):
            report.slow_bodies += 1

    await asyncio.gather(
        *(slow_headers(n) for n in range(SLOW_LORIS_CONNECTIONS)),
        *(slow_body(n) for n in range(SLOW_BODY_CONNECTIONS)),
    )


async def _trickle(
    host: str, port: int, head: bytes, drip: bytes, deadline: float, report: AbuseReport
) -> bool:
    """Send head, then drip every half second until the deadline or the server hangs up.

    Notes in report.slow_endings how it ended: "held" if the connection was still open at the
    deadline, else the first line the server sent (e.g. "HTTP/1.1 408"), or "closed" if it sent
    nothing. Returns whether the connection opened and its head was sent.
    """
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as error:
        report.slow_endings[f"not opened ({type(error).__name__})"] += 1
        return False
    opened = False
    ending = "held"
    try:
        writer.write(head)
        await writer.drain()
        opened = True
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                line = await asyncio.wait_for(reader.readline(), timeout=0.5)
                ending = " ".join(line.decode("latin-1").split()[:2]) or "closed"
                break
            writer.write(drip)
            await writer.drain()
            report.slow_drips += 1
    except ConnectionError:
        ending = "closed"  # the balancer or the service gave up on us
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    report.slow_endings[ending] += 1
    return opened


async def oversized_bodies(base_url: str, report: AbuseReport, *, max_bytes: int) -> None:
    """Paste bodies one MiB over the limit: declared up front, and streamed without a length."""
    host, port = _host_port(base_url)
    size = max_bytes + 1024 * 1024
    declared = (
        f"POST /api/v1/pastes HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {size}\r\nX-Forwarded-For: 192.0.2.200\r\n\r\n"
    )
    chunked = (
        f"POST /api/v1/pastes HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\n"
        f"Transfer-Encoding: chunked\r\nX-Forwarded-For: 192.0.2.201\r\n\r\n"
    )
    kinds = [(declared, False)] * OVERSIZED_CLIENTS_PER_KIND
    kinds += [(chunked, True)] * OVERSIZED_CLIENTS_PER_KIND
    report.oversized_sent = len(kinds)
    answers = await asyncio.gather(
        *(_send_until_answered(host, port, head.encode(), size, chunks) for head, chunks in kinds)
    )
    for answer in answers:
        if answer == "413":
            report.oversized_413 += 1
        else:
            report.oversized_other_kinds[answer] += 1


async def _send_until_answered(host: str, port: int, head: bytes, size: int, chunked: bool) -> str:
    """Stream size bytes of body, stopping as soon as an answer arrives (as curl does).

    Returns the answer's status code, or what went wrong instead.
    """
    reader, writer = await asyncio.open_connection(host, port)

    async def send_body() -> None:
        writer.write(head)
        piece = b"x" * CHUNK_BYTES
        for _ in range(0, size, CHUNK_BYTES):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    sender = asyncio.create_task(send_body())
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=30)
        parts = status_line.split()
        answer = parts[1].decode() if len(parts) > 1 else "no answer"
        if answer == "413" and not await _is_problem_json(reader):
            answer = "413 without problem JSON"
        return answer
    except (TimeoutError, ConnectionError) as error:
        return type(error).__name__
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _is_problem_json(reader: asyncio.StreamReader) -> bool:
    while line := await asyncio.wait_for(reader.readline(), timeout=10):
        if line in {b"\r\n", b"\n"}:
            return False
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-type":
            return value.strip().startswith("application/problem+json")
    return False


def _host_port(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"expected http://host:port, got {base_url}")
    return parts.hostname, parts.port
