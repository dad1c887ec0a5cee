"""Per-client token buckets for creations, keyed by a keyed hash of the client address.

Addresses are taken from X-Forwarded-For at a configured position from the right: each proxy
appends the address it saw, so only the entries added by our own proxies can be trusted and
the left-most entry, which the client writes, never is. Addresses live only in memory, and
only as HMACs under a per-process random key. An IPv6 client is keyed by its /64: one
subscriber is given at least a /64 (RFC 6177), so its full addresses would be endless buckets.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from collections.abc import Iterable

from service.problems import Problem


def client_address(
    forwarded_for: Iterable[str], peer: str | None, *, position_from_right: int
) -> str:
    """The address to rate-limit by: the Nth X-Forwarded-For entry from the right, else the peer.

    When the header has fewer entries than N, the request did not come through our proxies,
    so the peer address is used rather than anything the client wrote.
    """
    if position_from_right > 0:
        entries = [entry.strip() for header in forwarded_for for entry in header.split(",")]
        entries = [entry for entry in entries if entry]
        if len(entries) >= position_from_right:
            return entries[-position_from_right]
    return peer or "unknown"


IPV6_PREFIX = 64


class RateLimiter:
    """A token bucket per client: `burst` creations at once, refilled at `per_minute`."""

    # Past this many tracked clients, buckets that have refilled completely are dropped.
    PRUNE_THRESHOLD = 100_000

    def __init__(self, *, per_minute: float, burst: int) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._buckets: dict[bytes, tuple[float, float]] = {}
        self._key = secrets.token_bytes(32)

    def acquire(self, address: str, now: float | None = None) -> float:
        """Take a token: 0.0 if allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        client = hmac.new(self._key, bucket_key(address).encode(), hashlib.sha256).digest()
        tokens, last = self._buckets.get(client, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self._rate
        self._buckets[client] = (tokens - 1.0, now)
        if len(self._buckets) > self.PRUNE_THRESHOLD:
            self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        full_after = self._burst / self._rate
        self._buckets = {
            client: state for client, state in self._buckets.items() if now - state[1] < full_after
        }


def bucket_key(address: str) -> str:
    """What one bucket counts: an IPv4 address, or the /64 network of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # "unknown", or an entry a proxy wrote that is no address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip), IPV6_PREFIX), strict=False))
    return str(ip)


def retry_after_header(wait_seconds: float) -> str:
    return str(max(1, math.ceil(wait_seconds)))


def admit(
    limiter: RateLimiter,
    *,
    forwarded_for: Iterable[str],
    peer: str | None,
    position_from_right: int,
    what: str,
) -> str:
    """The client's address, once its bucket has a token; else a 429 naming `what` is limited."""
    address = client_address(forwarded_for, peer, position_from_right=position_from_right)
    wait = limiter.acquire(address)
    if wait > 0:
        raise Problem(
            429,
            f"Too many {what} from this client; retry later.",
            slug="rate-limited",
            headers={"Retry-After": retry_after_header(wait)},
        )
    return address
