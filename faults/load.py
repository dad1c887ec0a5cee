"""A bounded load generator: a mix of creates, redirects and raw reads, every 201 recorded.

Each request carries the X-Forwarded-For header CloudFront would send: the viewer's address.
Viewers are drawn from a pool of addresses in 198.18.0.0/15 (the benchmarking range), so the
load looks like many people at once and no one viewer trips the per-client rate limit.

Used by every scenario in faults/scenarios.py (and the abusive clients, faults/abuse.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

REQUEST_TIMEOUT_SECONDS = 10.0
LARGE_PASTE_BYTES = 80 * 1024  # over the 64 KiB kept inline, so it lives in the blob store
VIEWER_POOL_SIZE = 8192
ANSWER_CUT_OFF = "answer cut off"  # status and headers arrived, then the connection broke
# Transport errors that mean the connection was refused or broke, not that an answer was late.
CONNECTION_LOST = frozenset(
    error.__name__
    for error in (
        httpx.ConnectError,
        httpx.ReadError,
        httpx.WriteError,
        httpx.CloseError,
        httpx.RemoteProtocolError,
    )
)

CREATE_LINK = "POST /api/v1/links"
CREATE_PASTE = "POST /api/v1/pastes"
CREATE_LARGE_PASTE = "POST /api/v1/pastes (blob)"
REDIRECT = "GET /{id}"
RAW = "GET /{id}/raw"
EXPECTED_STATUS = {
    CREATE_LINK: 201,
    CREATE_PASTE: 201,
    CREATE_LARGE_PASTE: 201,
    REDIRECT: 302,
    RAW: 200,
}
# Weights of each request kind in the mix: mostly reads, as a shortener sees.
DEFAULT_MIX = {CREATE_LINK: 12, CREATE_PASTE: 6, CREATE_LARGE_PASTE: 2, REDIRECT: 55, RAW: 25}


@dataclass(frozen=True)
class Outcome:
    """One request: what was asked, when (monotonic seconds), and how it ended."""

    route: str
    started: float
    latency_s: float
    status: int | None  # None: no HTTP answer at all
    error: str | None  # the transport error, or ANSWER_CUT_OFF
    server: str | None  # the instance that answered, from the balancer's X-Spito-Server
    content_type: str

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == EXPECTED_STATUS[self.route]

    def describe(self) -> str:
        answer = " ".join(str(part) for part in (self.status, self.error) if part is not None)
        return f"{self.route} -> {answer}"


@dataclass(frozen=True)
class AckedWrite:
    """A create the service answered 201: it must be readable for as long as the test runs."""

    id: str
    kind: str  # link | paste
    expected: str  # a link's url, or the sha256 of a paste's bytes


@dataclass
class LoadRecord:
    """Everything a load generator's runs saw."""

    outcomes: list[Outcome] = field(default_factory=list)
    acked: list[AckedWrite] = field(default_factory=list)
    link_ids: list[str] = field(default_factory=list)
    paste_ids: list[str] = field(default_factory=list)

    def acknowledge(self, write: AckedWrite) -> None:
        self.acked.append(write)
        (self.link_ids if write.kind == "link" else self.paste_ids).append(write.id)

    def between(self, start: float, end: float) -> list[Outcome]:
        return [o for o in self.outcomes if start <= o.started < end]

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]


@dataclass(frozen=True, kw_only=True)
class LoadShape:
    """How hard and how long: both a time and a count bound every run."""

    concurrency: int = 8
    duration_s: float = 10.0
    max_requests: int = 50_000
    mix: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MIX))


class ViewerPool:
    """Rotating viewer addresses, as CloudFront would put them in X-Forwarded-For."""

    def __init__(self, size: int = VIEWER_POOL_SIZE) -> None:
        self._size = size
        self._next = random.randrange(size)  # noqa: S311 - spreads runs, not a secret

    def next(self) -> str:
        self._next = (self._next + 1) % self._size
        return f"198.18.{self._next // 256}.{self._next % 256}"


class LoadGenerator:
    """Runs shaped load against base_url and records every outcome and every acked write."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.record = LoadRecord()
        self._viewers = ViewerPool()
        self._random = random.Random()  # noqa: S311 - picks a request mix, not a secret

    async def run(self, shape: LoadShape, stop: asyncio.Event | None = None) -> None:
        """Send requests from shape.concurrency workers until time, count or stop runs out."""
        deadline = time.monotonic() + shape.duration_s
        budget = [shape.max_requests]
        stop = stop or asyncio.Event()
        limits = httpx.Limits(
            max_connections=shape.concurrency, max_keepalive_connections=shape.concurrency
        )
        async with httpx.AsyncClient(
            base_url=self.base_url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS
        ) as client:

            async def worker() -> None:
                while time.monotonic() < deadline and budget[0] > 0 and not stop.is_set():
                    budget[0] -= 1
                    await self._one_request(client, shape.mix)

            await asyncio.gather(*(worker() for _ in range(shape.concurrency)))

    async def _one_request(self, client: httpx.AsyncClient, mix: dict[str, int]) -> None:
        route = self._random.choices(list(mix), weights=list(mix.values()))[0]
        links, pastes = self.record.link_ids, self.record.paste_ids
        if route == REDIRECT and not links:
            route = CREATE_LINK
        if route == RAW and not pastes:
            route = CREATE_PASTE
        token = secrets.token_hex(8)
        headers = {"X-Forwarded-For": self._viewers.next()}
        if route == CREATE_LINK:
            url = f"https://example.com/spito-faults/{token}"
            await self._create(client, route, "/api/v1/links", {"url": url}, headers, "link", url)
        elif route in {CREATE_PASTE, CREATE_LARGE_PASTE}:
            size = LARGE_PASTE_BYTES if route == CREATE_LARGE_PASTE else 200
            content = paste_content(token, size)
            digest = hashlib.sha256(content.encode()).hexdigest()
            body = {"content": content}
            await self._create(client, route, "/api/v1/pastes", body, headers, "paste", digest)
        elif route == REDIRECT:
            await self._send(client, route, "GET", f"/{self._random.choice(links)}", headers)
        else:
            await self._send(client, route, "GET", f"/{self._random.choice(pastes)}/raw", headers)

    async def _create(
        self,
        client: httpx.AsyncClient,
        route: str,
        path: str,
        body: dict[str, str],
        headers: dict[str, str],
        kind: str,
        expected: str,
    ) -> None:
        response = await self._send(client, route, "POST", path, headers, body)
        if response is not None and response.status_code == 201:
            self.record.acknowledge(
                AckedWrite(id=response.json()["id"], kind=kind, expected=expected)
            )

    async def _send(
        self,
        client: httpx.AsyncClient,
        route: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        started = time.monotonic()
        request = client.build_request(method, path, headers=headers, json=body)
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as error:
            self._note(route, started, None, type(error).__name__)
            return None
        try:
            await response.aread()
        except httpx.HTTPError:
            # The answer had begun (status and headers arrived) when the connection broke.
            self._note(route, started, response, ANSWER_CUT_OFF)
            return None
        finally:
            await response.aclose()
        self._note(route, started, response, None)
        return response

    def _note(
        self, route: str, started: float, response: httpx.Response | None, error: str | None
    ) -> None:
        self.record.outcomes.append(
            Outcome(
                route=route,
                started=started,
                latency_s=time.monotonic() - started,
                status=None if response is None else response.status_code,
                error=error,
                server=None if response is None else response.headers.get("x-spito-server"),
                content_type="" if response is None else response.headers.get("content-type", ""),
            )
        )


def paste_content(token: str, size: int) -> str:
    """Text of exactly size bytes that starts with a unique token."""
    head = f"spito fault harness {token}\n"
    filler = "the quick brown fox jumps over the lazy dog\n" * (size // 44 + 1)
    return (head + filler)[:size]


@dataclass(frozen=True)
class RouteStats:
    route: str
    count: int
    failed: int
    p50_ms: float
    p99_ms: float


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def route_stats(outcomes: Sequence[Outcome]) -> list[RouteStats]:
    stats = []
    for route in EXPECTED_STATUS:
        mine = [o for o in outcomes if o.route == route]
        if not mine:
            continue
        latencies = sorted(o.latency_s * 1000 for o in mine)
        stats.append(
            RouteStats(
                route=route,
                count=len(mine),
                failed=sum(1 for o in mine if not o.ok),
                p50_ms=percentile(latencies, 0.50),
                p99_ms=percentile(latencies, 0.99),
            )
        )
    return stats


@dataclass(frozen=True)
class LostWrite:
    write: AckedWrite
    reason: str


async def read_back(
    base_url: str, acked: Sequence[AckedWrite], *, concurrency: int = 8
) -> list[LostWrite]:
    """Read every acknowledged write back; each one missing or different is a lost write.

    A 5xx or transport error is retried a few times (the fleet may still be settling after a
    fault); a 404 or different content is a loss at once.
    """
    lost: list[LostWrite] = []
    queue: asyncio.Queue[AckedWrite] = asyncio.Queue()
    for write in acked:
        queue.put_nowait(write)
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as client:

        async def worker() -> None:
            while not queue.empty():
                write = queue.get_nowait()
                reason = await _check_one(client, write)
                if reason is not None:
                    lost.append(LostWrite(write, reason))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return lost


async def _check_one(client: httpx.AsyncClient, write: AckedWrite) -> str | None:
    path = f"/api/v1/links/{write.id}" if write.kind == "link" else f"/{write.id}/raw"
    reason = "never answered"
    for attempt in range(4):
        try:
            response = await client.get(path)
        except httpx.HTTPError as error:
            reason = f"{type(error).__name__} on GET {path}"
        else:
            if response.status_code < 500:
                return _compare(write, response, path)
            reason = f"{response.status_code} on GET {path}"
        await asyncio.sleep(0.2 * (attempt + 1))
    return reason


def _compare(write: AckedWrite, response: httpx.Response, path: str) -> str | None:
    if response.status_code != 200:
        return f"{response.status_code} on GET {path}"
    if write.kind == "link":
        found = response.json().get("url")
        return None if found == write.expected else f"url {found!r} != {write.expected!r}"
    digest = hashlib.sha256(response.content).hexdigest()
    return None if digest == write.expected else "paste bytes differ"
